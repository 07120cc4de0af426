import 'aws-sdk-client-mock-vitest/extend';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  MasterUserAssumeRoleError,
  StsMasterUserSession,
} from '../../../lambdas/search-role-mapping/sts-master-user.js';

const MASTER_USER = 'arn:aws:iam::123456789012:role/search-admin';
const sts = mockClient(STSClient);

describe('StsMasterUserSession', () => {
  beforeEach(() => {
    sts.reset();
  });

  it('assumes the role for 15 minutes and returns its credentials', async () => {
    // Prepare
    const expiration = new Date('2026-12-07T19:00:00Z');
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAEXAMPLE',
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: expiration,
      },
    });
    const session = new StsMasterUserSession(new STSClient({ region: 'eu-west-1' }), 'search-role-mapping');

    // Act
    const credentials = await session.credentialsFor(MASTER_USER);

    // Assess
    expect(credentials).toEqual({
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
      expiration,
    });
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: MASTER_USER,
      RoleSessionName: 'search-role-mapping',
      DurationSeconds: 900,
    });
  });

  it('turns AccessDenied into an error that names the role and its trust policy', async () => {
    // Prepare
    const denied = Object.assign(
      new Error('User: arn:aws:sts::123456789012:assumed-role/x is not authorized'),
      {
        name: 'AccessDenied',
      },
    );
    sts.on(AssumeRoleCommand).rejects(denied);
    const session = new StsMasterUserSession(new STSClient({ region: 'eu-west-1' }), 'search-role-mapping');

    // Act
    const act = session.credentialsFor(MASTER_USER);

    // Assess
    await expect(act).rejects.toThrow(MasterUserAssumeRoleError);
    await expect(act).rejects.toThrow(
      /^Could not assume the search domain's master user role arn:aws:iam::123456789012:role\/search-admin: AccessDenied: .*trust policy/,
    );
  });

  it('refuses a response without credentials', async () => {
    // Prepare
    sts.on(AssumeRoleCommand).resolves({});
    const session = new StsMasterUserSession(new STSClient({ region: 'eu-west-1' }), 'search-role-mapping');

    // Act
    const act = session.credentialsFor(MASTER_USER);

    // Assess
    await expect(act).rejects.toThrow(/the AssumeRole response has no credentials/);
  });
});
