import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Client, Connection } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';

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

/**
 * The OpenSearch client of a function, built once per container and shared by its requests.
 *
 * Retries: the client retries immediately, without backoff, so more than one retry only hammers a struggling
 * domain. One retry is kept because it is what fixes the failure a Lambda actually meets: a keep-alive socket that
 * the domain's load balancer closed while the container was frozen (ECONNRESET on the first request after a thaw).
 * Everything else is left to the caller, who retries with backoff: the event source mapping re-delivers the search
 * sync's records (bounded, with the iterator-age alarm watching), the API's client retries its 503. A retried
 * `_bulk` is harmless: with external versions the same write applies once (see orders-index.ts).
 *
 * Connection pool: one endpoint, which is the domain's load balancer rather than a node, so no sniffing, and no
 * resurrection pings (`HEAD /` is outside the `orders` index the function's role may use, and with a single
 * connection the pool hands out the "dead" one anyway).
 *
 * Signing: `AwsSigv4Signer` signs in the Connection's `buildRequestObject` and fetches credentials in its Transport.
 * Its contract (lib/aws/shared.js): `getCredentials` is called when it holds none or when theirs expire within a
 * request timeout, and its fallback builds a fresh `defaultProvider()` chain on each such call. This factory
 * passes one memoised `defaultProvider()` instead, so refreshing reuses the chain and its in-flight lookup, and the
 * chain hands out fresh credentials five minutes before expiry, long before the signer's request-timeout margin.
 *
 * The signer comes from the `aws-v3` entry, not `aws`. Both share lib/aws/shared.js, which takes the fallback only
 * when `getCredentials` is not a function (never here), but the `aws` entry's fallback (lib/aws/AwsSigv4Signer.js)
 * tries `import('@aws-sdk/credential-provider-node')` and then `import('aws-sdk')`: esbuild bundles what a literal
 * `import()` names, so that one unreachable line put the whole AWS SDK v2 (9.4 MB, 1,404 modules) into every
 * bundle that signs. The `aws-v3` fallback (lib/aws/AwsSigv4Signer-sdk-v3.js) names only the v3 provider, which the
 * bundle holds anyway. BaseFunction also marks `aws-sdk` external, so no other path can bring it back silently.
 */
export function createOpenSearchClient(options: OpenSearchClientOptions): Client {
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
  const BaseConnection = options.Connection ?? Connection;
  const common = {
    node: node.origin,
    requestTimeout,
    maxRetries,
    resurrectStrategy: 'none',
    sniffOnStart: false,
    sniffInterval: false,
    sniffOnConnectionFault: false,
  } as const;
  if (!options.sign) {
    return new Client({ ...common, Connection: BaseConnection });
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
  const getCredentials = options.getCredentials ?? memoisedDefaultCredentials();
  const signer = AwsSigv4Signer({ region, service: 'es', getCredentials });
  // The signer's own Connection extends the plain one; layering it on BaseConnection instead signs the same way and
  // lets a test's connection mock record the signed request.
  class SignedConnection extends BaseConnection {
    public override buildRequestObject(params: unknown): ReturnType<Connection['buildRequestObject']> {
      return signer.buildSignedRequestObject(super.buildRequestObject(params));
    }
  }
  return new Client({ ...common, Connection: SignedConnection, Transport: signer.Transport });
}

/** One default credential chain for the client's lifetime: it caches and refreshes credentials itself. */
function memoisedDefaultCredentials(): CredentialsProvider {
  const provider = defaultProvider();
  return () => provider();
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
