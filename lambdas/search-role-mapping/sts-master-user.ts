import { AssumeRoleCommand, type Credentials, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentials } from '../shared/search/opensearch-client.js';
import { SEARCH_ROLE_MAPPING_SESSION_SECONDS } from './names.js';
import type { MasterUserSession } from './role-mapping.js';

/** The master user role could not be assumed: the deploy fails with what to check. */
export class MasterUserAssumeRoleError extends Error {
  public readonly roleArn: string;

  public constructor(roleArn: string, detail: string, options?: { cause?: unknown }) {
    super(
      `Could not assume the search domain's master user role ${roleArn}: ${detail}. The function's role may ` +
        "assume only this ARN, and the role's trust policy must allow it: the AdminRole the data stack creates " +
        'trusts the account; a role configured as searchAdminRoleArn must trust the search-role-mapping ' +
        "function's role (or the account) itself.",
      options,
    );
    this.name = 'MasterUserAssumeRoleError';
    this.roleArn = roleArn;
  }
}

/**
 * The master user through STS AssumeRole, with the shortest session STS allows (15 minutes, longer than the function
 * can run). The SDK's own retries cover STS throttling and 5xx; what is left (AccessDenied above all) is a
 * configuration error and fails the deploy.
 */
export class StsMasterUserSession implements MasterUserSession {
  readonly #sts: STSClient;
  readonly #sessionName: string;

  public constructor(sts: STSClient, sessionName: string) {
    this.#sts = sts;
    this.#sessionName = sessionName;
  }

  public async credentialsFor(roleArn: string): Promise<AwsCredentials> {
    let credentials: Credentials | undefined;
    try {
      ({ Credentials: credentials } = await this.#sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: this.#sessionName,
          DurationSeconds: SEARCH_ROLE_MAPPING_SESSION_SECONDS,
        }),
      ));
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new MasterUserAssumeRoleError(roleArn, detail, { cause: error });
    }
    const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = credentials ?? {};
    if (AccessKeyId === undefined || SecretAccessKey === undefined || SessionToken === undefined) {
      throw new MasterUserAssumeRoleError(roleArn, 'the AssumeRole response has no credentials');
    }
    return {
      accessKeyId: AccessKeyId,
      secretAccessKey: SecretAccessKey,
      sessionToken: SessionToken,
      ...(Expiration === undefined ? {} : { expiration: Expiration }),
    };
  }
}
