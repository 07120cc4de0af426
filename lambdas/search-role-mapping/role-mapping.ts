import * as errors from '@opensearch-project/opensearch/lib/errors.js';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { AwsCredentials } from '../shared/search/opensearch-client.js';
import type { SearchClient } from '../shared/search/opensearch-client-options.js';
import { describeClientError } from '../shared/search/opensearch-index.js';
import { SEARCH_SECURITY_ROLES } from '../shared/search/security-roles.js';
import * as z from '../shared/zod.js';
import {
  SEARCH_ROLE_MAPPING_PROPERTY as PROPERTY,
  SEARCH_ROLE_MAPPING_RETRY_BUDGET_MS,
  SEARCH_ROLE_MAPPING_SERVICE_NAME,
} from './names.js';

/** One request to the security plugin's REST API: always a PUT, which creates or replaces the whole entry. */
export interface SecurityPluginRequest {
  /** The URL path, with its leading slash. */
  readonly path: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** The function roles to map: each becomes the one backend role of its security plugin role. */
export interface MappedRoles {
  /** The search-sync function's role, mapped to `orders_writer`. */
  readonly writerRoleArn: string;
  /** The orders API handler's role, mapped to `orders_reader`. */
  readonly readerRoleArn: string;
}

/**
 * The four PUTs, in the order they must run: the roles first, then their mappings (a mapping names a role, which must
 * exist). Each replaces its entry in full, so running them again is harmless, and a backend role added by hand to a
 * mapping is removed by the next run: the deploy owns these four entries.
 */
export function roleMappingRequests(roles: MappedRoles): SecurityPluginRequest[] {
  const { writer, reader } = SEARCH_SECURITY_ROLES;
  return [
    { path: `/_plugins/_security/api/roles/${writer.name}`, body: writer.permissions },
    { path: `/_plugins/_security/api/roles/${reader.name}`, body: reader.permissions },
    {
      path: `/_plugins/_security/api/rolesmapping/${writer.name}`,
      body: { backend_roles: [roles.writerRoleArn] },
    },
    {
      path: `/_plugins/_security/api/rolesmapping/${reader.name}`,
      body: { backend_roles: [roles.readerRoleArn] },
    },
  ];
}

/** The physical id: one per domain, the same on every Update, so CloudFormation never replaces the resource. */
export function roleMappingPhysicalId(domainName: string): string {
  return `${SEARCH_ROLE_MAPPING_SERVICE_NAME}:${domainName}`;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

const propertiesSchema = z.looseObject({
  [PROPERTY.DOMAIN_NAME]: z.string().check(z.regex(/^[a-z][a-z0-9-]{2,27}$/)),
  [PROPERTY.DOMAIN_ENDPOINT]: z.string().check(z.regex(/^https:\/\/[a-z0-9.-]+$/)),
  [PROPERTY.MASTER_USER_ROLE_ARN]: z.string().check(z.regex(ROLE_ARN)),
  [PROPERTY.WRITER_ROLE_ARN]: z.string().check(z.regex(ROLE_ARN)),
  [PROPERTY.READER_ROLE_ARN]: z.string().check(z.regex(ROLE_ARN)),
  [PROPERTY.ROLES_HASH]: z.string().check(z.minLength(1)),
});

/** The custom resource's properties, validated. */
export interface RoleMappingProperties extends MappedRoles {
  readonly domainName: string;
  readonly endpoint: string;
  readonly masterUserRoleArn: string;
}

/** The custom resource was given properties the handler cannot work with: a wiring error, never retried. */
export class RoleMappingPropertiesError extends Error {
  public constructor(detail: string) {
    super(`The ${SEARCH_ROLE_MAPPING_SERVICE_NAME} custom resource's properties are invalid: ${detail}`);
    this.name = 'RoleMappingPropertiesError';
  }
}

export function parseRoleMappingProperties(properties: unknown): RoleMappingProperties {
  const parsed = propertiesSchema.safeParse(properties);
  if (!parsed.success) {
    throw new RoleMappingPropertiesError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    );
  }
  const data = parsed.data;
  return {
    domainName: data[PROPERTY.DOMAIN_NAME],
    endpoint: data[PROPERTY.DOMAIN_ENDPOINT],
    masterUserRoleArn: data[PROPERTY.MASTER_USER_ROLE_ARN],
    writerRoleArn: data[PROPERTY.WRITER_ROLE_ARN],
    readerRoleArn: data[PROPERTY.READER_ROLE_ARN],
  };
}

/** The security plugin refused a request for good (a 4xx other than 429): the deploy fails with this message. */
export class SecurityPluginRequestRefusedError extends Error {
  public readonly path: string;

  public constructor(path: string, cause: unknown) {
    super(
      `PUT ${path} was refused: ${describeResponse(cause)}. A 401/403 means the master user role cannot administer ` +
        "the domain's security plugin (is it the domain's master user, and does the domain's access policy let it " +
        'in?); a 400 means the body does not suit this OpenSearch version (see SEARCH_SECURITY_ROLES).',
      { cause },
    );
    this.name = 'SecurityPluginRequestRefusedError';
    this.path = path;
  }
}

/** A request kept failing transiently until the retry budget ran out: the deploy fails, a later one may pass. */
export class SecurityPluginUnavailableError extends Error {
  public readonly path: string;

  public constructor(path: string, attempts: number, budgetMs: number, cause: unknown) {
    super(
      `PUT ${path} still failed after ${attempts} attempt(s) over ${Math.round(budgetMs / 1000)} s: ` +
        `${describeResponse(cause)}. The domain may still be processing a change; deploy again once it is Active.`,
      { cause },
    );
    this.name = 'SecurityPluginUnavailableError';
    this.path = path;
  }
}

/** The domain's master user, as the handler signs with it: STS AssumeRole in the Lambda, a fake in tests. */
export interface MasterUserSession {
  /** Temporary credentials of the role; throws with a clear message when the role cannot be assumed. */
  credentialsFor(roleArn: string): Promise<AwsCredentials>;
}

/** Builds a client of the domain that signs with the given credentials (and does not retry by itself). */
export type SecurityPluginClientFactory = (endpoint: string, credentials: AwsCredentials) => SearchClient;

/** The logging of the handler; a Powertools Logger satisfies it. */
export interface RoleMappingLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface RetryPolicy {
  /** How long transient failures are retried, over all requests of one event. */
  readonly budgetMs: number;
  /** The wait after the first failure; each further one doubles it, up to `maxDelayMs`. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  budgetMs: SEARCH_ROLE_MAPPING_RETRY_BUDGET_MS,
  initialDelayMs: 2_000,
  maxDelayMs: 30_000,
};

export interface RoleMappingHandlerOptions {
  readonly masterUser: MasterUserSession;
  readonly clientFor: SecurityPluginClientFactory;
  readonly logger: RoleMappingLogger;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retry?: RetryPolicy;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What the Provider framework expects back: success with this physical id (a throw is a failure). */
export interface RoleMappingResult {
  readonly PhysicalResourceId: string;
}

/**
 * The custom resource's handler, behind CDK's Provider framework (which answers CloudFormation: a return is
 * SUCCESS, a throw is FAILED with the error's message).
 *
 * Create and Update: assume the master user role, then PUT the two roles and the two mappings signed with its
 * credentials. Transient failures (network, timeouts, 429, 5xx: e.g. the domain still applying a change) are
 * retried with exponential backoff within the retry budget; any other 4xx fails at once, naming the path.
 *
 * Delete: nothing. The domain is retained with the data stack, and the mapping belongs to it: deleting the mapping
 * while the functions' roles still exist (a rollback of an Update, a stack being replaced) would stop the sync and
 * the search, and once the pipelines stack is gone the mapped role ARNs are dead anyway.
 */
export function createRoleMappingHandler(
  options: RoleMappingHandlerOptions,
): (event: CloudFormationCustomResourceEvent) => Promise<RoleMappingResult> {
  const retry = options.retry ?? DEFAULT_RETRY_POLICY;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const { logger } = options;

  return async (event) => {
    if (event.RequestType === 'Delete') {
      logger.info('Delete: the retained domain keeps its roles and mappings', {
        physicalResourceId: event.PhysicalResourceId,
      });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const properties = parseRoleMappingProperties(event.ResourceProperties);
    const credentials = await options.masterUser.credentialsFor(properties.masterUserRoleArn);
    const client = options.clientFor(properties.endpoint, credentials);
    const deadline = now() + retry.budgetMs;
    for (const request of roleMappingRequests(properties)) {
      await putWithRetry(client, request, { retry, sleep, now, deadline, logger });
      logger.info('Security plugin entry written', { path: request.path });
    }
    return { PhysicalResourceId: roleMappingPhysicalId(properties.domainName) };
  };
}

async function putWithRetry(
  client: SearchClient,
  request: SecurityPluginRequest,
  context: {
    retry: RetryPolicy;
    sleep: (ms: number) => Promise<void>;
    now: () => number;
    deadline: number;
    logger: RoleMappingLogger;
  },
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.transport.request({ method: 'PUT', path: request.path, body: request.body });
      return;
    } catch (error) {
      if (!isTransient(error)) {
        throw new SecurityPluginRequestRefusedError(request.path, error);
      }
      const delay = Math.min(context.retry.maxDelayMs, context.retry.initialDelayMs * 2 ** (attempt - 1));
      if (context.now() + delay >= context.deadline) {
        throw new SecurityPluginUnavailableError(request.path, attempt, context.retry.budgetMs, error);
      }
      context.logger.warn('Transient failure, retrying', {
        path: request.path,
        attempt,
        delayMs: delay,
        error: describeResponse(error),
      });
      await context.sleep(delay);
    }
  }
}

/** Network failures, timeouts, throttling (429) and server errors: a later attempt may pass. */
export function isTransient(error: unknown): boolean {
  if (error instanceof errors.ResponseError) {
    const status = error.meta.statusCode ?? 0;
    return status === 429 || status >= 500;
  }
  return (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError
  );
}

/**
 * The failure, for the deploy's message: describeClientError's status, type and request, plus the message the
 * security plugin (`{"status":"FORBIDDEN","message":...}`) or the domain's IAM layer (`{"Message":...}`) answers with.
 */
function describeResponse(error: unknown): string {
  const summary = describeClientError(error);
  if (!(error instanceof errors.ResponseError)) {
    return summary;
  }
  const body: unknown = error.meta.body;
  if (typeof body !== 'object' || body === null) {
    return summary;
  }
  const { message, Message } = body as { message?: unknown; Message?: unknown };
  const text = typeof message === 'string' ? message : typeof Message === 'string' ? Message : undefined;
  return text === undefined ? summary : `${summary}: ${text.slice(0, 300)}`;
}
