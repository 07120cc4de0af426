import { EventEmitter } from 'node:events';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import Connection from '@opensearch-project/opensearch/lib/Connection.js';
import { ConnectionPool } from '@opensearch-project/opensearch/lib/pool/index.js';
import Serializer from '@opensearch-project/opensearch/lib/Serializer.js';
import Transport from '@opensearch-project/opensearch/lib/Transport.js';
import {
  type CredentialsProvider,
  type OpenSearchClientOptions,
  resolveOpenSearchClientSettings,
  type SearchClient,
} from './opensearch-client-options.js';

export {
  type AwsCredentials,
  type CredentialsProvider,
  OPENSEARCH_CLIENT_DEFAULTS,
  OpenSearchClientConfigurationError,
  type OpenSearchClientOptions,
  type SearchClient,
} from './opensearch-client-options.js';

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
 * chain hands out fresh credentials five minutes before expiry, long before the signer's request-timeout margin. In a
 * Lambda bundle the chain is its environment link alone (lambdas/shared/adapters/lambda-credentials.ts): the execution
 * role's credentials, which carry no expiry.
 *
 * The signer comes from the `aws-v3` entry, not `aws`. Both share lib/aws/shared.js, which takes the fallback only
 * when `getCredentials` is not a function (never here), but the `aws` entry's fallback (lib/aws/AwsSigv4Signer.js)
 * tries `import('@aws-sdk/credential-provider-node')` and then `import('aws-sdk')`: esbuild bundles what a literal
 * `import()` names, so that one unreachable line put the whole AWS SDK v2 (9.7 MB minified, 1,404 modules) into
 * every bundle that signs. The `aws-v3` fallback (lib/aws/AwsSigv4Signer-sdk-v3.js) names only the v3 provider,
 * which the bundle holds anyway. BaseFunction also marks `aws-sdk` external, so no other path can bring it back
 * silently.
 */
export function createOpenSearchClient(options: OpenSearchClientOptions): SearchClient {
  const { node, requestTimeout, maxRetries, region } = resolveOpenSearchClientSettings(options);
  const BaseConnection = options.Connection ?? Connection;
  // The settings name a region exactly when the client signs.
  if (region === undefined) {
    return searchClient(
      buildTransport({ node, requestTimeout, maxRetries, Connection: BaseConnection, Transport }),
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
  return searchClient(
    buildTransport({
      node,
      requestTimeout,
      maxRetries,
      Connection: SignedConnection,
      Transport: signer.Transport,
    }),
  );
}

/** The transport, and `close` as the Client's: empty the transport's connection pool. */
function searchClient(transport: Transport): SearchClient {
  return {
    transport,
    close: () => new Promise((resolvePromise) => transport.connectionPool.empty(() => resolvePromise())),
  };
}

/**
 * The transport as the package's `Client` builds it (lib/Client.js: an event emitter, a serializer, a connection
 * pool holding the one node, the transport over them), with the settings above and the Client's defaults for the
 * rest, but without the Client itself. The Client is the transport plus the generated REST API (every endpoint of
 * every plugin, `api/`) and its helpers, which no function calls: importing it costs 200 to 230 KB of each bundle
 * that Node parses at every cold start. The parts come from the package's own modules (its `./*` export).
 */
function buildTransport(parts: {
  readonly node: URL;
  readonly requestTimeout: number;
  readonly maxRetries: number;
  readonly Connection: typeof Connection;
  readonly Transport: typeof Transport;
}): Transport {
  const events = new EventEmitter();
  const emit = events.emit.bind(events);
  const connectionPool = new ConnectionPool({
    Connection: parts.Connection,
    emit,
    pingTimeout: 3_000,
    // One endpoint, the domain's load balancer: no sniffing and no resurrection pings (see above).
    resurrectStrategy: 'none',
    sniffEnabled: false,
  });
  connectionPool.addConnection(parts.node.origin);
  return new parts.Transport({
    emit,
    connectionPool,
    serializer: new Serializer({
      disablePrototypePoisoningProtection: false,
      enableLongNumeralSupport: false,
    }),
    maxRetries: parts.maxRetries,
    requestTimeout: parts.requestTimeout,
    // No sniffing and no compression. sniffInterval and compression are left out: the Client passes `false` for
    // them, which the Transport reads as off, as it reads a missing value.
    sniffOnStart: false,
    sniffOnConnectionFault: false,
    suggestCompression: false,
    headers: {},
    nodeSelector: 'round-robin',
    sniffEndpoint: '_nodes/_all/http',
    name: 'opensearch-js',
  });
}

/** One default credential chain for the client's lifetime: it caches and refreshes credentials itself. */
function memoisedDefaultCredentials(): CredentialsProvider {
  const provider = defaultProvider();
  return () => provider();
}
