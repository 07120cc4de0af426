import type { ClientRequest } from 'node:http';
import { Connection } from '@opensearch-project/opensearch';
import { createOpenSearchClient } from '../../lambdas/shared/search/opensearch-client.js';
import type { SearchClient } from '../../lambdas/shared/search/opensearch-client-options.js';
import { assertInvocationAlive } from '../invocation-deadline.js';

/**
 * The OpenSearch clients the sandbox hands to the code it runs: the project's own factory (createOpenSearchClient,
 * the one the Lambdas use), unsigned, against the local server, with one change: a request started by an invocation
 * past its deadline is refused before it is sent, as the other local clients refuse theirs (invocation-deadline.ts).
 * Lambda freezes a timed-out function; without this an abandoned invocation could still send a `_bulk` while its
 * retry runs, something that never happens in AWS. A request already in flight at the deadline completes, as one
 * does when Lambda freezes the function.
 */

/** The client's Connection with the deadline check in front of every request (each retry included). */
export class DeadlineAwareConnection extends Connection {
  public override request(
    params: Parameters<Connection['request']>[0],
    callback: Parameters<Connection['request']>[1],
  ): ClientRequest {
    try {
      assertInvocationAlive(`OpenSearch ${params.method ?? 'GET'} ${params.path ?? '/'}`);
    } catch (error) {
      // Asynchronously, as a connection error would come: the transport expects its callback after this returns.
      process.nextTick(() => callback(error as Error, null));
      return { abort: () => undefined } as unknown as ClientRequest;
    }
    return super.request(params, callback);
  }
}

export interface LocalOpenSearchClientOptions {
  /** As the function's composition root sets it. @default the factory's */
  readonly requestTimeoutMs?: number;
  readonly maxRetries?: number;
}

/** An unsigned client of the local OpenSearch at `endpoint` (an `http://127.0.0.1:<port>` OPENSEARCH_ENDPOINT). */
export function createLocalOpenSearchClient(
  endpoint: string,
  options: LocalOpenSearchClientOptions = {},
): SearchClient {
  return createOpenSearchClient({
    endpoint,
    sign: false,
    Connection: DeadlineAwareConnection,
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
  });
}
