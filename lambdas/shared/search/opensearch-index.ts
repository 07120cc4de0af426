import * as errors from '@opensearch-project/opensearch/lib/errors.js';
import { TransientError } from '../errors.js';
import { Outcome, type RecordOutcome } from '../stream/stream-handler.js';
import * as z from '../zod.js';
import type { SearchClient } from './opensearch-client-options.js';
import { type IndexOperation, ORDERS_INDEX, type SearchIndex } from './orders-index.js';

/**
 * The `_bulk` path, scoped to the index: the function's role can then be limited to `orders/*` (an unscoped
 * `/_bulk` would need the whole domain), and a document can only ever land in `orders`.
 */
export const ORDERS_BULK_PATH = `/${ORDERS_INDEX}/_bulk`;

/** OpenSearch refuses a document `_id` longer than 512 bytes, for the whole request. */
const MAX_ID_BYTES = 512;

const SERVICE = 'OpenSearch _bulk';

/** Longest OpenSearch error text carried into an outcome's reason (the DLQ letter is bounded anyway). */
const MAX_REASON_LENGTH = 1_000;

/**
 * Error types that describe the index's state, not the document, whatever status they come with: an operator (or
 * time) fixes them and the same document then goes in. `index_closed_exception` comes as 400, `cluster_block_exception`
 * as 403 (a read-only index) or 429 (disk flood stage).
 */
export const INDEX_STATE_ERROR_TYPES: ReadonlySet<string> = new Set([
  'index_closed_exception',
  'cluster_block_exception',
  'index_not_found_exception',
  'no_shard_available_action_exception',
  'unavailable_shards_exception',
  'es_rejected_execution_exception',
  'opensearch_rejected_execution_exception',
  'circuit_breaking_exception',
  'process_cluster_event_timeout_exception',
]);

/**
 * Item statuses that are transient: 429 throttling, 401/403 (auth or a write block: an operator fix), 404 (the index is
 * missing: the bootstrap creates it), 408 (timeout). The same set classifyError uses for whole requests.
 */
const TRANSIENT_ITEM_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 408, 429]);

/** One action's result, as OpenSearch reports it in `items[i].index`. */
const bulkItemResultSchema = z.looseObject({
  _id: z.optional(z.string()),
  status: z.optional(z.number()),
  result: z.optional(z.string()),
  error: z.optional(
    z.looseObject({
      type: z.optional(z.string()),
      reason: z.nullish(z.string()),
      caused_by: z.optional(z.looseObject({ type: z.optional(z.string()), reason: z.nullish(z.string()) })),
    }),
  ),
});
type BulkItemResult = z.infer<typeof bulkItemResultSchema>;

const bulkResponseSchema = z.looseObject({
  errors: z.optional(z.boolean()),
  items: z.array(z.record(z.string(), bulkItemResultSchema)),
});

/** The request as a whole failed (no per-document result); transient: the records are retried. */
export class BulkRequestFailedError extends TransientError {
  public constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'BulkRequestFailedError';
  }
}

/**
 * OpenSearch answered 413: the request is larger than the domain's `http.max_content_length` (10 MiB on the smallest
 * instance types). A smaller batch would go through, so it is transient and its reason says what to change.
 */
export class BulkRequestTooLargeError extends TransientError {
  public constructor(operations: number, bytes: number, options?: { cause?: unknown }) {
    super(
      `${SERVICE}: OpenSearch refused the request as too large (413) with ${operations} documents in ${bytes} bytes; ` +
        "lower the event source mapping's batch size below the domain's http.max_content_length",
      options,
    );
    this.name = 'BulkRequestTooLargeError';
  }
}

/** A call with no operations: the port promises one `_bulk` request per call, and OpenSearch refuses an empty one. */
export class EmptyBulkRequestError extends Error {
  public constructor() {
    super(`${SERVICE}: refusing a call without operations (an empty _bulk request is invalid)`);
    this.name = 'EmptyBulkRequestError';
  }
}

/**
 * {@link SearchIndex} on an OpenSearch domain: ONE `POST /orders/_bulk` per call, an `index` action per document with
 * `_id` = order id, `version` = the document's version and `version_type=external_gte` (docs/pipelines/search-sync.md), in
 * the order given. Each item of the response becomes the outcome of its operation:
 *
 * | item                                                      | outcome                                           |
 * |-----------------------------------------------------------|---------------------------------------------------|
 * | 200, 201                                                  | ok                                                |
 * | 409 version_conflict_engine_exception                     | ok: a newer version is indexed                    |
 * | 409 of another type                                       | transient                                         |
 * | 429, 5xx, 401/403/404/408, or an INDEX_STATE_ERROR_TYPES   | transient                                         |
 * | any other 4xx (mapper_parsing, strict_dynamic_mapping...) | permanent, reason and error type in the outcome   |
 * | missing, for another id, or without a known status        | transient (when in doubt, retry)                  |
 *
 * An operation OpenSearch would refuse for the whole request (an `_id` over 512 bytes, a version that is not a
 * non-negative integer) is answered permanent here and left out of the request, so one bad document cannot fail its
 * batch. A request that fails as a whole throws a TransientError (see bulkIndex).
 */
export class OpenSearchIndex implements SearchIndex {
  readonly #client: SearchClient;

  public constructor(client: SearchClient) {
    this.#client = client;
  }

  /**
   * Throws, without outcomes: EmptyBulkRequestError for no operations (before any request);
   * BulkRequestTooLargeError for a 413; BulkRequestFailedError for any other whole-request failure (a network error,
   * a timeout, 429, 5xx, or a 4xx about the request's framing, which is this code's bug rather than a document's,
   * and a bug fix lets the records through) or a response that is not a bulk response.
   */
  public async bulkIndex(operations: readonly IndexOperation[]): Promise<RecordOutcome[]> {
    if (operations.length === 0) {
      throw new EmptyBulkRequestError();
    }
    const outcomes: (RecordOutcome | undefined)[] = operations.map(refusedByOpenSearch);
    const sent = operations.flatMap((operation, position) =>
      outcomes[position] === undefined ? [{ operation, position }] : [],
    );
    if (sent.length === 0) {
      return outcomes.map((outcome) => outcome ?? Outcome.transient(`${SERVICE}: no outcome`));
    }
    const body = toNdjson(sent.map(({ operation }) => operation));
    const items = await this.#send(body, sent.length);
    sent.forEach(({ operation, position }, index) => {
      outcomes[position] = itemOutcome(operation.document.orderId, items[index]);
    });
    return outcomes.map((outcome) => outcome ?? Outcome.transient(`${SERVICE}: no outcome`));
  }

  async #send(body: string, operations: number): Promise<Record<string, BulkItemResult>[]> {
    let responseBody: unknown;
    try {
      ({ body: responseBody } = await this.#client.transport.request({
        method: 'POST',
        path: ORDERS_BULK_PATH,
        bulkBody: body,
      }));
    } catch (error) {
      if (error instanceof errors.ResponseError && error.meta.statusCode === 413) {
        // Even a single document: ours are a few KB against a limit of at least 10 MiB, so a 413 for one would be
        // a configuration problem (a proxy's limit), which an operator fixes: transient as well.
        throw new BulkRequestTooLargeError(operations, Buffer.byteLength(body), { cause: error });
      }
      throw new BulkRequestFailedError(`${SERVICE} request failed: ${describeClientError(error)}`, {
        cause: error,
      });
    }
    const parsed = bulkResponseSchema.safeParse(responseBody);
    if (!parsed.success) {
      throw new BulkRequestFailedError(`${SERVICE}: the response is not a bulk response`, {
        cause: parsed.error,
      });
    }
    return parsed.data.items;
  }
}

/** The permanent outcome of an operation OpenSearch would refuse for the whole request, or undefined. */
function refusedByOpenSearch({ document }: IndexOperation): RecordOutcome | undefined {
  const idBytes = Buffer.byteLength(document.orderId, 'utf8');
  if (idBytes === 0 || idBytes > MAX_ID_BYTES) {
    return Outcome.permanent(
      `${SERVICE}: order id of ${idBytes} bytes cannot be a document _id (1 to ${MAX_ID_BYTES} bytes)`,
      'InvalidDocumentId',
    );
  }
  if (!Number.isSafeInteger(document.version) || document.version < 0) {
    return Outcome.permanent(
      `${SERVICE}: version ${document.version} of order ${document.orderId} is not a non-negative integer`,
      'InvalidDocumentVersion',
    );
  }
  return undefined;
}

/** The request body: per operation an `index` action line, then the document; every line ends with `\n`. */
export function toNdjson(operations: readonly IndexOperation[]): string {
  let ndjson = '';
  for (const { document } of operations) {
    const action = {
      index: { _id: document.orderId, version: document.version, version_type: 'external_gte' },
    };
    ndjson += `${JSON.stringify(action)}\n${JSON.stringify(document)}\n`;
  }
  return ndjson;
}

function itemOutcome(orderId: string, item: Record<string, BulkItemResult> | undefined): RecordOutcome {
  // The response lists one item per action, in request order, under the action's name.
  const result = item?.index;
  if (result === undefined) {
    return Outcome.transient(`${SERVICE} returned no result for order ${orderId}`);
  }
  if (result._id !== undefined && result._id !== orderId) {
    return Outcome.transient(
      `${SERVICE} returned the result of ${result._id} where order ${orderId} was expected`,
    );
  }
  const status = result.status;
  if (status === 200 || status === 201) {
    return Outcome.ok();
  }
  const type = result.error?.type ?? 'unknown_error';
  const reason = `${SERVICE} failed order ${orderId} with ${status ?? 'no status'} ${describeItemError(result)}`;
  if (status === 409) {
    // external_gte keeps a version >= the stored one, so a version conflict means a newer version is indexed: done.
    // A conflict of any other kind is not one this code knows: when in doubt, retry.
    return type === 'version_conflict_engine_exception' ? Outcome.ok() : Outcome.transient(reason);
  }
  if (status === undefined || INDEX_STATE_ERROR_TYPES.has(type)) {
    return Outcome.transient(reason);
  }
  if (status >= 500 || TRANSIENT_ITEM_STATUSES.has(status)) {
    return Outcome.transient(reason);
  }
  if (status >= 400) {
    // mapper_parsing_exception, strict_dynamic_mapping_exception, illegal_argument_exception, parse errors...:
    // the document itself, which fails the same way every time.
    return Outcome.permanent(reason, type);
  }
  return Outcome.transient(reason);
}

function describeItemError(result: BulkItemResult): string {
  const error = result.error;
  if (error === undefined) {
    return `(result ${result.result ?? 'unknown'})`;
  }
  let text = `${error.type ?? 'unknown_error'}: ${error.reason ?? 'no reason given'}`;
  if (error.caused_by !== undefined) {
    text += ` (caused by ${error.caused_by.type ?? 'unknown_error'}: ${error.caused_by.reason ?? 'no reason given'})`;
  }
  return truncate(text);
}

/**
 * A one-line description of a client error: the status, OpenSearch's error type and reason when the body has them,
 * and the request (`503 unavailable: busy (POST /orders/_bulk)`); or the network error's name and message.
 */
export function describeClientError(error: unknown): string {
  if (error instanceof errors.ResponseError) {
    const body: unknown = error.meta.body;
    const type =
      typeof body === 'object' && body !== null && 'error' in body
        ? errorTypeOf((body as { error: unknown }).error)
        : undefined;
    const params = error.meta.meta?.request?.params;
    const request = params === undefined || params === null ? '' : ` (${params.method} ${params.path})`;
    return truncate(
      `${error.meta.statusCode ?? 'no status'}${type === undefined ? '' : ` ${type}`}${request}`,
    );
  }
  if (error instanceof Error) {
    return truncate(`${error.name}: ${error.message}`);
  }
  return truncate(String(error));
}

function errorTypeOf(error: unknown): string | undefined {
  if (typeof error === 'string') return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, reason } = error as { type?: unknown; reason?: unknown };
  if (typeof type !== 'string') return undefined;
  return typeof reason === 'string' ? `${type}: ${reason}` : type;
}

function truncate(text: string): string {
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 3)}...`;
}
