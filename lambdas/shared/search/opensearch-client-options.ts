import type { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { Client, Connection } from '@opensearch-project/opensearch';

// The options of createOpenSearchClient and their validation, in a module that loads neither the OpenSearch client
// nor the credential chain (its imports are types only): the orders API checks its settings at cold start and loads
// the client itself on its first search (see lambdas/orders-api/handler.ts).

/**
 * What the functions use of an OpenSearch client: its transport, which sends one request with the client's retries,
 * timeouts, serialization and signing. Every call the functions make is `transport.request` (a `_bulk`, a search,
 * the index's mapping, the security plugin's roles). A whole `Client`, which tests and the sandbox may still pass, is
 * one too; createOpenSearchClient builds only the transport (see there why).
 */
export interface SearchClient {
  readonly transport: Client['transport'];
  /** Closes the client's connections: what a command does when it is done (a function never does). */
  close(): Promise<void>;
}

/** AWS credentials as the SDK's providers resolve them. */
export type AwsCredentials = Awaited<ReturnType<ReturnType<typeof defaultProvider>>>;

/** Resolves AWS credentials; `defaultProvider()` of @aws-sdk/credential-provider-node is one. */
export type CredentialsProvider = () => Promise<AwsCredentials>;

export interface OpenSearchClientOptions {
  /** The domain's endpoint: `https://<host>` (or, unsigned, the local stand-in's `http://127.0.0.1:<port>`). */
  readonly endpoint: string;
  /** Sign every request with SigV4 for service `es` (an Amazon OpenSearch Service domain with IAM auth). */
  readonly sign: boolean;
  /** The domain's region when signing. @default process.env.AWS_REGION */
  readonly region?: string;
  /**
   * Where signing credentials come from. @default one `defaultProvider()` for the client's lifetime (the Lambda
   * role's credentials from the environment).
   */
  readonly getCredentials?: CredentialsProvider;
  /** How long one attempt may take before it fails with a TimeoutError. @default 10_000 */
  readonly requestTimeoutMs?: number;
  /**
   * How often the client itself repeats a request that failed with a connection error, a timeout or 502/503/504
   * (never 429: the client does not retry that). @default 1
   */
  readonly maxRetries?: number;
  /**
   * The class that sends requests, for tests (a connection mock). Signing is layered on top of it, so a test sees
   * the signed request. @default the client's own http(s) Connection
   */
  readonly Connection?: typeof Connection;
}

/** A client option that can never work: a deployment or wiring error, thrown when the client is built. */
export class OpenSearchClientConfigurationError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'OpenSearchClientConfigurationError';
  }
}

export const OPENSEARCH_CLIENT_DEFAULTS = {
  requestTimeoutMs: 10_000,
  maxRetries: 1,
} as const;

/** What createOpenSearchClient builds from valid options. */
export interface OpenSearchClientSettings {
  /** The endpoint, scheme and host only. */
  readonly node: URL;
  readonly requestTimeout: number;
  readonly maxRetries: number;
  /** The signing region; undefined when the client does not sign. */
  readonly region: string | undefined;
}

/**
 * Validates client options and resolves their defaults, throwing OpenSearchClientConfigurationError for an option
 * that can never work: an endpoint that is not a scheme and host, a signed endpoint that is not https, no region to
 * sign for, a timeout or retry count that is not a whole number in range.
 */
export function resolveOpenSearchClientSettings(options: OpenSearchClientOptions): OpenSearchClientSettings {
  const node = validateEndpoint(options.endpoint);
  const requestTimeout = options.requestTimeoutMs ?? OPENSEARCH_CLIENT_DEFAULTS.requestTimeoutMs;
  const maxRetries = options.maxRetries ?? OPENSEARCH_CLIENT_DEFAULTS.maxRetries;
  if (!Number.isInteger(requestTimeout) || requestTimeout <= 0) {
    throw new OpenSearchClientConfigurationError(
      `requestTimeoutMs must be a positive integer, got ${requestTimeout}`,
    );
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new OpenSearchClientConfigurationError(
      `maxRetries must be a non-negative integer, got ${maxRetries}`,
    );
  }
  if (!options.sign) {
    return { node, requestTimeout, maxRetries, region: undefined };
  }
  if (node.protocol !== 'https:') {
    throw new OpenSearchClientConfigurationError(
      `A signed OpenSearch endpoint must be https (an AWS domain is served over TLS only), got ${node.origin}`,
    );
  }
  const region = options.region ?? process.env.AWS_REGION;
  if (region === undefined || region === '') {
    throw new OpenSearchClientConfigurationError(
      'Signing OpenSearch requests needs a region: pass `region` or set AWS_REGION',
    );
  }
  return { node, requestTimeout, maxRetries, region };
}

function validateEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new OpenSearchClientConfigurationError(
      `OpenSearch endpoint must be a URL like https://<host>, got "${endpoint}"`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OpenSearchClientConfigurationError(
      `OpenSearch endpoint must be http(s), got ${url.protocol} in "${endpoint}"`,
    );
  }
  // A path would be prepended to every request path, moving `/orders/_bulk` out of what the IAM policy allows;
  // credentials in the URL would be sent as basic auth next to (or instead of) the signature.
  if (
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new OpenSearchClientConfigurationError(
      `OpenSearch endpoint must be a scheme and host only (no path, query or credentials), got "${endpoint}"`,
    );
  }
  return url;
}
