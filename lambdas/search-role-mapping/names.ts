/**
 * Names and limits shared by the search-role-mapping custom resource's construct and its handler. Kept in a file of
 * its own with no imports, so that the CDK app can use them without pulling the handler's runtime dependencies (the
 * OpenSearch client, the STS client) into synth.
 */

/** The function's service name (Powertools) and the session name it assumes the master user role with. */
export const SEARCH_ROLE_MAPPING_SERVICE_NAME = 'search-role-mapping';

/** The CloudFormation resource type of the custom resource. */
export const SEARCH_ROLE_MAPPING_RESOURCE_TYPE = 'Custom::SearchRoleMapping';

/** The custom resource's properties, by name: set by the construct, read by the handler. */
export const SEARCH_ROLE_MAPPING_PROPERTY = {
  DOMAIN_NAME: 'DomainName',
  /** `https://<domain endpoint>`. */
  DOMAIN_ENDPOINT: 'DomainEndpoint',
  /** The fine-grained access control master user: the role the handler assumes. */
  MASTER_USER_ROLE_ARN: 'MasterUserRoleArn',
  /** Mapped to `orders_writer`: the search-sync function's role. */
  WRITER_ROLE_ARN: 'WriterRoleArn',
  /** Mapped to `orders_reader`: the orders API handler's role. */
  READER_ROLE_ARN: 'ReaderRoleArn',
  /**
   * SHA-256 of SEARCH_SECURITY_ROLES: a changed role definition changes the resource's properties, so CloudFormation
   * sends an Update and the handler PUTs the new definitions.
   */
  ROLES_HASH: 'RolesHash',
} as const;

/**
 * How long the handler keeps retrying transient failures (the domain still processing, 5xx, throttling, network)
 * across its four requests before it fails the deploy. The function's timeout leaves a minute above it, and the
 * master user session (STS, 15 minutes) outlasts both.
 */
export const SEARCH_ROLE_MAPPING_RETRY_BUDGET_MS = 5 * 60_000;

/** The function's timeout, in seconds: the retry budget plus a minute for STS, the last attempt and the reply. */
export const SEARCH_ROLE_MAPPING_TIMEOUT_SECONDS = SEARCH_ROLE_MAPPING_RETRY_BUDGET_MS / 1000 + 60;

/** The master user session's length, in seconds: STS's minimum, longer than the function can run. */
export const SEARCH_ROLE_MAPPING_SESSION_SECONDS = 900;
