import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { contentKey } from '../adapters/service-faults.js';
import {
  emptyMappings,
  type IndexMappings,
  MappingDefinitionError,
  mappingsToJson,
  type OpenSearchErrorCause,
  parseMappings,
} from './mappings.js';
import { countDocuments, executeSearch, SearchRequestError } from './search.js';
import {
  DEFAULT_GC_DELETES_MS,
  type StoredDocument,
  VERSION_TYPES,
  VersionedIndex,
  type VersionType,
  type WriteResult,
} from './versioned-index.js';

/**
 * A local OpenSearch: a node:http server that answers like an OpenSearch 2.x cluster for what the project's code,
 * the `@opensearch-project/opensearch` client and the `search` benchmark's baselines send (the routes are listed at
 * ROUTES below), with the versioning of versioned-index.ts, the mappings of mappings.ts and the search subset of
 * search.ts. The sandbox runs the search sync and the API's search against it; the bench counts its requests.
 *
 * - Responses are OpenSearch's JSON (`content-type: application/json; charset=UTF-8`), errors included:
 *   `{ error: { root_cause: [cause], ...cause }, status }`. Signatures are not checked: a SigV4-signed request is
 *   answered like any other.
 * - A write to a missing index creates it with dynamic mappings, as OpenSearch does by default
 *   (`action.auto_create_index`); an index created with explicit mappings keeps them (a `dynamic: strict` one refuses
 *   unknown fields). Our code creates the `orders` index before writing.
 * - Request bodies must carry a JSON or NDJSON content type (406 otherwise, as OpenSearch answers), may be gzip or
 *   deflate encoded, and a `_bulk` body must end with a newline.
 * - Faults, for the chaos run and the outage drill: before anything else a request may be answered 503 (the client
 *   retries those), and each bulk item may be answered 400 `mapper_parsing_exception` (index and create only: a
 *   delete carries no document to parse) or 429 `es_rejected_execution_exception` before it is written. The hook decides (the
 *   chaos run keys it by a hash of the seed and the content, chaos/faults.ts); without one the server never fails on
 *   its own.
 * - Every request is counted per route (`POST /{index}/_bulk`) with the body bytes received (as sent, compressed or
 *   not), for the bench.
 * - Searches see every accepted write at once; `refresh` is accepted and does nothing else.
 */

/** What the fault hook decides on. `key` is a digest of the content, the same when the same content comes again. */
export interface OpenSearchRequestFaultTarget {
  /** The route, e.g. `POST /{index}/_bulk`. */
  readonly route: string;
  readonly key: string;
}

export interface OpenSearchBulkItemFaultTarget {
  readonly index: string;
  readonly id: string;
  readonly action: 'index' | 'create' | 'delete';
  readonly key: string;
}

/** Port: injected faults (chaos/faults.ts implements it with keyed hashes). */
export interface LocalOpenSearchFaults {
  /** True: answer the request 503 before doing anything. */
  failRequest(target: OpenSearchRequestFaultTarget): boolean;
  /** True: answer this bulk item 429 `es_rejected_execution_exception` without writing it. */
  rejectBulkItem(target: OpenSearchBulkItemFaultTarget): boolean;
  /**
   * True: answer this bulk item 400 `mapper_parsing_exception` without writing it, as a cluster whose index mapping
   * was broken (a field mapped to another type) answers a document it cannot parse: a permanent failure of the item,
   * which the outage drill uses to make the search sync write full dead letters. Asked before `rejectBulkItem`.
   * @default never
   */
  refuseBulkItemMapping?(target: OpenSearchBulkItemFaultTarget): boolean;
}

export interface LocalOpenSearchOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** For gc_deletes and creation dates. @default Date.now */
  readonly clock?: () => number;
  /** @default no faults */
  readonly faults?: LocalOpenSearchFaults;
  /** Create a missing index on a write, with dynamic mappings (OpenSearch's default). @default true */
  readonly autoCreateIndex?: boolean;
}

/** Requests received, in total and per route, and their body bytes. */
export interface LocalOpenSearchStats {
  readonly requests: number;
  readonly bytesReceived: number;
  readonly byRoute: Record<string, number>;
  /** Body bytes per route. */
  readonly bytesByRoute: Record<string, number>;
  /** Bulk items received, per action. */
  readonly bulkItems: number;
  /** Injected faults: whole requests answered 503, bulk items answered 400 or 429. */
  readonly injectedRequestFaults: number;
  readonly injectedItemFaults: number;
}

export interface LocalOpenSearch {
  /** `http://<host>:<port>`, without a trailing slash. */
  readonly url: string;
  stats(): LocalOpenSearchStats;
  resetStats(): void;
  /** The live documents of an index by id (empty when the index does not exist). */
  documents(
    index: string,
  ): ReadonlyMap<string, { readonly version: number; readonly source: Record<string, unknown> }>;
  /** Names of the existing indices. */
  indices(): string[];
  /** Stops listening and closes every connection. Safe to call more than once. */
  stop(): Promise<void>;
}

/** The version the server reports: a 2.x release, as AWS's current OpenSearch domains run. */
export const LOCAL_OPENSEARCH_VERSION = '2.19.0';

/** Thrown when the server cannot start (port taken, ...). */
export class LocalOpenSearchStartError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalOpenSearchStartError';
  }
}

/** An answer: status and JSON body (undefined: none). */
interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

/** An error answered as OpenSearch does. */
class HttpError extends Error {
  public constructor(
    public readonly status: number,
    public readonly errorCause: OpenSearchErrorCause,
  ) {
    super(errorCause.reason);
    this.name = 'HttpError';
  }
}

function errorBody(status: number, cause: OpenSearchErrorCause): unknown {
  return { error: { root_cause: [cause], ...cause }, status };
}

function indexNotFound(index: string): HttpError {
  return new HttpError(404, {
    type: 'index_not_found_exception',
    reason: `no such index [${index}]`,
    'resource.type': 'index_or_alias',
    'resource.id': index,
    index_uuid: '_na_',
    index,
  });
}

function badRequest(type: string, reason: string): HttpError {
  return new HttpError(400, { type, reason });
}

function unsupported(what: string): HttpError {
  return badRequest(
    'local_server_unsupported_exception',
    `${what} is not supported by the local OpenSearch (sandbox/opensearch/local-opensearch.ts)`,
  );
}

/** An index with its settings. */
interface LocalIndex {
  readonly name: string;
  readonly uuid: string;
  readonly createdAt: number;
  readonly shards: number;
  readonly replicas: number;
  readonly settings: Record<string, string>;
  readonly model: VersionedIndex;
}

/** Index names OpenSearch accepts (MetadataCreateIndexService.validateIndexOrAliasName). */
function invalidIndexName(name: string): string | undefined {
  if (name !== name.toLowerCase()) return 'must be lowercase';
  if (/^[_\-+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (/[\\/*?"<>| ,#:]/.test(name))
    return 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?, :, #]';
  if (name === '.' || name === '..') return "must not be '.' or '..'";
  if (Buffer.byteLength(name) > 255) return 'index name is too long';
  return undefined;
}

/** A time value of the settings (`60s`, `1m`, `500ms`) in ms. */
function parseTimeValue(value: unknown, setting: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(String(value));
  if (match === null) {
    throw badRequest(
      'illegal_argument_exception',
      `failed to parse setting [${setting}] with value [${String(value)}] as a time value`,
    );
  }
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Number(match[1]) * unit;
}

/** Settings flattened to `index.<name>` text values, as GET answers them. */
function flattenSettings(value: unknown, prefix = ''): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('settings_exception', `Failed to load settings from [${JSON.stringify(value)}]`);
  }
  const flat: Record<string, string> = {};
  for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner))
      Object.assign(flat, flattenSettings(inner, key));
    else flat[key] = String(inner);
  }
  return Object.fromEntries(
    Object.entries(flat).map(([key, text]) => [key.startsWith('index.') ? key : `index.${key}`, text]),
  );
}

const KNOWN_SETTINGS: ReadonlySet<string> = new Set([
  'index.number_of_shards',
  'index.number_of_replicas',
  'index.gc_deletes',
  'index.refresh_interval',
  'index.max_result_window',
]);

function nestSettings(flat: Record<string, string>): Record<string, unknown> {
  const nested: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const segments = key.split('.');
    let node = nested;
    for (const segment of segments.slice(0, -1)) {
      node[segment] ??= {};
      node = node[segment] as Record<string, unknown>;
    }
    node[segments.at(-1)!] = value;
  }
  return nested;
}

const JSON_CONTENT_TYPE =
  /^application\/(json|x-ndjson|vnd\.(opensearch|elasticsearch)\+(json|x-ndjson))(\s*;.*)?$/i;

/** Parameters of the document and bulk APIs that change nothing locally. */
const IGNORED_WRITE_PARAMETERS: ReadonlySet<string> = new Set([
  'refresh',
  'timeout',
  'routing',
  'wait_for_active_shards',
  'require_alias',
  '_source',
  '_source_includes',
  '_source_excludes',
  'filter_path',
  'pretty',
  'human',
  'error_trace',
  'type',
]);

/** The request being answered. */
interface RequestInfo {
  readonly method: string;
  readonly segments: readonly string[];
  readonly parameters: URLSearchParams;
  readonly body: Buffer;
  readonly contentType: string | undefined;
}

function checkParameters(parameters: URLSearchParams, allowed: readonly string[], where: string): void {
  for (const name of parameters.keys()) {
    if (!allowed.includes(name) && !IGNORED_WRITE_PARAMETERS.has(name))
      throw unsupported(`the parameter [${name}] of ${where}`);
  }
}

function parseVersionType(value: string | null | undefined): VersionType | undefined {
  if (value === null || value === undefined) return undefined;
  if (!(VERSION_TYPES as readonly string[]).includes(value)) {
    // `force` was removed in 7.0; anything else was never a version type.
    throw badRequest('illegal_argument_exception', `No version type match [${value}]`);
  }
  return value as VersionType;
}

function parseVersion(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  const number =
    typeof value === 'number' ? value : /^-?\d+$/.test(String(value)) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number)) {
    throw badRequest('illegal_argument_exception', `Failed to parse version [${String(value)}]`);
  }
  return number;
}

/** The action types of a bulk request line. */
type BulkAction = 'index' | 'create' | 'delete';

/** The server's state and request handling; HTTP plumbing is in startLocalOpenSearch. */
class LocalCluster {
  readonly #indices = new Map<string, LocalIndex>();
  readonly #clock: () => number;
  readonly #faults: LocalOpenSearchFaults | undefined;
  readonly #autoCreate: boolean;
  #requests = 0;
  #bytes = 0;
  #byRoute = new Map<string, number>();
  #bytesByRoute = new Map<string, number>();
  #bulkItems = 0;
  #requestFaults = 0;
  #itemFaults = 0;

  public constructor(options: LocalOpenSearchOptions) {
    this.#clock = options.clock ?? Date.now;
    this.#faults = options.faults;
    this.#autoCreate = options.autoCreateIndex ?? true;
  }

  public stats(): LocalOpenSearchStats {
    return {
      requests: this.#requests,
      bytesReceived: this.#bytes,
      byRoute: Object.fromEntries([...this.#byRoute].sort(([a], [b]) => a.localeCompare(b))),
      bytesByRoute: Object.fromEntries([...this.#bytesByRoute].sort(([a], [b]) => a.localeCompare(b))),
      bulkItems: this.#bulkItems,
      injectedRequestFaults: this.#requestFaults,
      injectedItemFaults: this.#itemFaults,
    };
  }

  public resetStats(): void {
    this.#requests = 0;
    this.#bytes = 0;
    this.#byRoute = new Map();
    this.#bytesByRoute = new Map();
    this.#bulkItems = 0;
    this.#requestFaults = 0;
    this.#itemFaults = 0;
  }

  public documents(index: string): ReadonlyMap<string, StoredDocument> {
    return this.#indices.get(index)?.model.documents() ?? new Map();
  }

  public indices(): string[] {
    return [...this.#indices.keys()].sort();
  }

  /** Counts the request under its route and answers it. */
  public async handle(request: RequestInfo, rawBytes: number): Promise<Reply> {
    const route = routeOf(request.method, request.segments);
    this.#requests += 1;
    this.#bytes += rawBytes;
    this.#byRoute.set(route.name, (this.#byRoute.get(route.name) ?? 0) + 1);
    this.#bytesByRoute.set(route.name, (this.#bytesByRoute.get(route.name) ?? 0) + rawBytes);
    try {
      if (route.handler === undefined) {
        return route.allowed === undefined
          ? {
              status: 400,
              body: {
                error: `no handler found for uri [/${request.segments.join('/')}] and method [${request.method}]`,
              },
            }
          : {
              status: 405,
              body: {
                error: `Incorrect HTTP method for uri [/${request.segments.join('/')}] and method [${request.method}], allowed: [${route.allowed.join(', ')}]`,
                status: 405,
              },
            };
      }
      if (
        this.#faults?.failRequest({
          route: route.name,
          key: contentKey(
            request.method,
            request.segments,
            request.parameters.toString(),
            request.body.toString('base64'),
          ),
        }) === true
      ) {
        this.#requestFaults += 1;
        return {
          status: 503,
          body: errorBody(503, {
            type: 'unavailable_shards_exception',
            reason: 'primary shard is not active (injected by the sandbox)',
          }),
        };
      }
      if (
        request.body.length > 0 &&
        (request.contentType === undefined || !JSON_CONTENT_TYPE.test(request.contentType))
      ) {
        return {
          status: 406,
          body: { error: `Content-Type header [${request.contentType ?? ''}] is not supported`, status: 406 },
        };
      }
      return await route.handler(this, request);
    } catch (error) {
      if (error instanceof HttpError)
        return { status: error.status, body: errorBody(error.status, error.errorCause) };
      if (error instanceof SearchRequestError)
        return { status: error.status, body: errorBody(error.status, error.errorCause) };
      if (error instanceof MappingDefinitionError)
        return { status: 400, body: errorBody(400, error.errorCause) };
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Handlers (called through ROUTES)

  public info(): Reply {
    return {
      status: 200,
      body: {
        name: 'sandbox-node',
        cluster_name: 'orders-sandbox',
        cluster_uuid: 'sandbox-cluster-0000000000',
        version: {
          distribution: 'opensearch',
          number: LOCAL_OPENSEARCH_VERSION,
          build_type: 'local',
          build_hash: 'sandbox',
          build_date: '2025-01-01T00:00:00.000000000Z',
          build_snapshot: false,
          lucene_version: '9.12.1',
          minimum_wire_compatibility_version: '7.10.0',
          minimum_index_compatibility_version: '7.0.0',
        },
        tagline: 'The OpenSearch Project: https://opensearch.org/',
      },
    };
  }

  public headIndex(request: RequestInfo): Reply {
    return { status: this.#indices.has(request.segments[0]!) ? 200 : 404 };
  }

  public getIndex(request: RequestInfo): Reply {
    const index = this.#index(request.segments[0]!);
    return {
      status: 200,
      body: {
        [index.name]: {
          aliases: {},
          mappings: mappingsToJson(index.model.mappings),
          settings: this.#settingsJson(index),
        },
      },
    };
  }

  public createIndex(request: RequestInfo): Reply {
    const name = request.segments[0]!;
    checkParameters(
      request.parameters,
      ['include_type_name', 'master_timeout', 'cluster_manager_timeout'],
      'create index',
    );
    const body = parseJsonBody(request) ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest('parse_exception', 'request body is required to be an object');
    }
    const { settings, mappings, aliases, ...rest } = body as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined)
      throw badRequest('parse_exception', `unknown key [${unknown}] for create index`);
    if (aliases !== undefined && Object.keys(aliases as object).length > 0)
      throw unsupported('index aliases');
    if (this.#indices.has(name)) {
      const existing = this.#indices.get(name)!;
      throw new HttpError(400, {
        type: 'resource_already_exists_exception',
        reason: `index [${name}/${existing.uuid}] already exists`,
        index_uuid: existing.uuid,
        index: name,
      });
    }
    const index = this.#createIndex(name, flattenSettings(settings), parseMappings(mappings));
    return { status: 200, body: { acknowledged: true, shards_acknowledged: true, index: index.name } };
  }

  public deleteIndex(request: RequestInfo): Reply {
    const name = request.segments[0]!;
    this.#index(name);
    this.#indices.delete(name);
    return { status: 200, body: { acknowledged: true } };
  }

  public getMapping(request: RequestInfo): Reply {
    const index = this.#index(request.segments[0]!);
    return { status: 200, body: { [index.name]: { mappings: mappingsToJson(index.model.mappings) } } };
  }

  public putMapping(request: RequestInfo): Reply {
    const index = this.#index(request.segments[0]!);
    const body = parseJsonBody(request);
    const update = parseMappings(body);
    index.model.putMappings(update, typeof body === 'object' && body !== null && 'dynamic' in body);
    return { status: 200, body: { acknowledged: true } };
  }

  public refresh(request: RequestInfo): Reply {
    if (request.segments.length > 1) this.#index(request.segments[0]!);
    return { status: 200, body: { _shards: { total: 2, successful: 1, failed: 0 } } };
  }

  public search(request: RequestInfo): Reply {
    const index = this.#index(request.segments[0]!);
    const response = executeSearch(
      index.name,
      index.model.mappings,
      index.model.documents(),
      parseJsonBody(request),
      request.parameters,
    );
    return { status: 200, body: response };
  }

  public count(request: RequestInfo): Reply {
    const index = this.#index(request.segments[0]!);
    for (const name of request.parameters.keys()) {
      if (!IGNORED_WRITE_PARAMETERS.has(name)) throw unsupported(`the _count parameter [${name}]`);
    }
    const count = countDocuments(index.model.mappings, index.model.documents(), parseJsonBody(request));
    return { status: 200, body: { count, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } } };
  }

  public indexDocument(request: RequestInfo, action: 'index' | 'create'): Reply {
    const [name, , rawId] = request.segments;
    checkParameters(
      request.parameters,
      ['version', 'version_type', 'op_type', 'if_seq_no', 'if_primary_term', 'pipeline'],
      'the index API',
    );
    for (const name of ['if_seq_no', 'if_primary_term', 'pipeline']) {
      if (request.parameters.has(name)) throw unsupported(`the parameter [${name}] of the index API`);
    }
    const opType = request.parameters.get('op_type') ?? action;
    if (opType !== 'index' && opType !== 'create')
      throw badRequest(
        'illegal_argument_exception',
        `opType must be 'create' or 'index', found: [${opType}]`,
      );
    const source = parseJsonBody(request);
    if (typeof source !== 'object' || source === null || Array.isArray(source)) {
      throw badRequest('mapper_parsing_exception', 'failed to parse, document is empty or not an object');
    }
    const id = rawId ?? generatedId();
    const index = this.#indexForWrite(name!);
    const result = index.model.index(id, source as Record<string, unknown>, {
      version: parseVersion(request.parameters.get('version')),
      versionType: parseVersionType(request.parameters.get('version_type')),
      opType,
    });
    return this.#writeReply(index, id, result, request.parameters.get('refresh'));
  }

  public deleteDocument(request: RequestInfo): Reply {
    const [name, , id] = request.segments;
    checkParameters(
      request.parameters,
      ['version', 'version_type', 'if_seq_no', 'if_primary_term'],
      'the delete API',
    );
    for (const name of ['if_seq_no', 'if_primary_term']) {
      if (request.parameters.has(name)) throw unsupported(`the parameter [${name}] of the delete API`);
    }
    const index = this.#indexForWrite(name!);
    const result = index.model.delete(id!, {
      version: parseVersion(request.parameters.get('version')),
      versionType: parseVersionType(request.parameters.get('version_type')),
    });
    return this.#writeReply(index, id!, result, request.parameters.get('refresh'));
  }

  public getDocument(request: RequestInfo, head: boolean): Reply {
    const [name, , id] = request.segments;
    const index = this.#index(name!);
    const document = index.model.get(id!);
    if (head) return { status: document === undefined ? 404 : 200 };
    if (document === undefined) return { status: 404, body: { _index: index.name, _id: id, found: false } };
    return {
      status: 200,
      body: {
        _index: index.name,
        _id: id,
        _version: document.version,
        _seq_no: document.seqNo,
        _primary_term: 1,
        found: true,
        _source: document.source,
      },
    };
  }

  public bulk(request: RequestInfo): Reply {
    const started = this.#clock();
    const defaultIndex = request.segments.length > 1 ? request.segments[0] : undefined;
    checkParameters(request.parameters, ['pipeline'], 'the bulk API');
    if (request.parameters.has('pipeline')) throw unsupported('the parameter [pipeline] of the bulk API');
    const text = request.body.toString('utf8');
    if (text.length === 0)
      throw badRequest('action_request_validation_exception', 'Validation Failed: 1: no requests added;');
    if (!text.endsWith('\n'))
      throw badRequest(
        'illegal_argument_exception',
        'The bulk request must be terminated by a newline [\\n]',
      );
    const lines = text.split('\n');
    lines.pop();
    // Parse everything first: a malformed request fails as a whole, before any item is written.
    const operations: Array<{
      action: BulkAction;
      index: string;
      id: string | undefined;
      meta: Record<string, unknown>;
      source?: Record<string, unknown>;
    }> = [];
    for (let line = 0; line < lines.length; line += 1) {
      if (lines[line]!.trim() === '') continue;
      const actionLine = parseJsonLine(lines[line]!, line + 1);
      const keys =
        typeof actionLine === 'object' && actionLine !== null && !Array.isArray(actionLine)
          ? Object.keys(actionLine)
          : [];
      if (keys.length !== 1) {
        throw badRequest(
          'illegal_argument_exception',
          `Malformed action/metadata line [${line + 1}], expected a simple value for field [_index] but found [START_OBJECT]`,
        );
      }
      const action = keys[0]!;
      if (action === 'update') throw unsupported('the bulk [update] action');
      if (action !== 'index' && action !== 'create' && action !== 'delete') {
        throw badRequest(
          'illegal_argument_exception',
          `Malformed action/metadata line [${line + 1}], expected one of [create, delete, index, update] but found [${action}]`,
        );
      }
      const meta = (actionLine as Record<string, unknown>)[action];
      if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
        throw badRequest(
          'illegal_argument_exception',
          `Malformed action/metadata line [${line + 1}], expected START_OBJECT`,
        );
      }
      const metadata = meta as Record<string, unknown>;
      const unknownMeta = Object.keys(metadata).find(
        (key) =>
          !['_index', '_id', 'version', 'version_type', 'routing', 'require_alias', 'op_type'].includes(key),
      );
      if (unknownMeta !== undefined) {
        throw ['if_seq_no', 'if_primary_term', 'pipeline', 'dynamic_templates'].includes(unknownMeta)
          ? unsupported(`[${unknownMeta}] in a bulk action`)
          : badRequest(
              'illegal_argument_exception',
              `Action/metadata line [${line + 1}] contains an unknown parameter [${unknownMeta}]`,
            );
      }
      const index = typeof metadata._index === 'string' ? metadata._index : defaultIndex;
      if (index === undefined)
        throw badRequest('action_request_validation_exception', 'Validation Failed: 1: index is missing;');
      const id = metadata._id === undefined ? undefined : String(metadata._id);
      if (action === 'delete') {
        if (id === undefined)
          throw badRequest('action_request_validation_exception', 'Validation Failed: 1: id is missing;');
        operations.push({ action, index, id, meta: metadata });
        continue;
      }
      line += 1;
      if (line >= lines.length)
        throw badRequest(
          'illegal_argument_exception',
          `The bulk request must be terminated by a newline [\\n]`,
        );
      const source = parseJsonLine(lines[line]!, line + 1);
      if (typeof source !== 'object' || source === null || Array.isArray(source)) {
        throw badRequest(
          'mapper_parsing_exception',
          `failed to parse the source of line [${line + 1}]: not an object`,
        );
      }
      operations.push({ action, index, id, meta: metadata, source: source as Record<string, unknown> });
    }
    if (operations.length === 0)
      throw badRequest('action_request_validation_exception', 'Validation Failed: 1: no requests added;');
    this.#bulkItems += operations.length;

    const items = operations.map((operation) => {
      const id = operation.id ?? generatedId();
      const base = { _index: operation.index, _id: id };
      const invalidName = invalidIndexName(operation.index);
      if (invalidName !== undefined && !this.#indices.has(operation.index)) {
        return {
          [operation.action]: {
            ...base,
            status: 400,
            error: {
              type: 'invalid_index_name_exception',
              reason: `Invalid index name [${operation.index}], ${invalidName}`,
              index: operation.index,
            },
          },
        };
      }
      const key = contentKey(
        operation.action,
        operation.index,
        id,
        operation.meta.version,
        operation.meta.version_type,
        operation.source,
      );
      const target = { index: operation.index, id, action: operation.action, key };
      if (operation.action !== 'delete' && this.#faults?.refuseBulkItemMapping?.(target) === true) {
        this.#itemFaults += 1;
        return {
          [operation.action]: {
            ...base,
            status: 400,
            error: {
              type: 'mapper_parsing_exception',
              reason: `failed to parse the document of [${id}]: the index mapping refuses it (injected by the sandbox)`,
            },
          },
        };
      }
      if (this.#faults?.rejectBulkItem(target) === true) {
        this.#itemFaults += 1;
        return {
          [operation.action]: {
            ...base,
            status: 429,
            error: {
              type: 'es_rejected_execution_exception',
              reason:
                'rejected execution of coordinating operation [shard_detail=[orders][0][P], shard_coordinating_and_primary_bytes=0, shard_operation_bytes=0, shard_max_coordinating_and_primary_bytes=0] (injected by the sandbox)',
            },
          },
        };
      }
      let index: LocalIndex;
      let result: WriteResult;
      try {
        index = this.#indexForWrite(operation.index);
        const version = parseVersion(operation.meta.version);
        const versionType = parseVersionType(operation.meta.version_type as string | undefined);
        result =
          operation.action === 'delete'
            ? index.model.delete(id, { version, versionType })
            : index.model.index(id, operation.source!, { version, versionType, opType: operation.action });
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        return { [operation.action]: { ...base, status: error.status, error: error.errorCause } };
      }
      if (!result.ok) return { [operation.action]: { ...base, status: result.status, error: result.error } };
      return {
        [operation.action]: {
          ...base,
          _version: result.version,
          result: result.result,
          _shards: this.#shards(index),
          _seq_no: result.seqNo,
          _primary_term: 1,
          status: result.status,
        },
      };
    });
    return {
      status: 200,
      body: {
        took: Math.max(0, this.#clock() - started),
        errors: items.some((item) => Object.values(item)[0]!.error !== undefined),
        items,
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------------

  #index(name: string): LocalIndex {
    const index = this.#indices.get(name);
    if (index === undefined) throw indexNotFound(name);
    return index;
  }

  #indexForWrite(name: string): LocalIndex {
    const existing = this.#indices.get(name);
    if (existing !== undefined) return existing;
    if (!this.#autoCreate) throw indexNotFound(name);
    return this.#createIndex(name, {}, emptyMappings());
  }

  #createIndex(name: string, settings: Record<string, string>, mappings: IndexMappings): LocalIndex {
    const invalid = invalidIndexName(name);
    if (invalid !== undefined) {
      throw new HttpError(400, {
        type: 'invalid_index_name_exception',
        reason: `Invalid index name [${name}], ${invalid}`,
        index: name,
        index_uuid: '_na_',
      });
    }
    const unknown = Object.keys(settings).find((key) => !KNOWN_SETTINGS.has(key));
    if (unknown !== undefined) throw unsupported(`the index setting [${unknown}]`);
    const count = (key: string, fallback: number, min: number): number => {
      const value = settings[key] === undefined ? fallback : Number(settings[key]);
      if (!Number.isInteger(value) || value < min) {
        throw badRequest(
          'illegal_argument_exception',
          `Failed to parse value [${settings[key]}] for setting [${key}] must be >= ${min}`,
        );
      }
      return value;
    };
    const shards = count('index.number_of_shards', 1, 1);
    const replicas = count('index.number_of_replicas', 1, 0);
    const gcDeletesMs =
      settings['index.gc_deletes'] === undefined
        ? DEFAULT_GC_DELETES_MS
        : parseTimeValue(settings['index.gc_deletes'], 'index.gc_deletes');
    if (settings['index.max_result_window'] !== undefined)
      throw unsupported('a max_result_window other than 10000');
    const index: LocalIndex = {
      name,
      uuid: randomBytes(11).toString('base64url'),
      createdAt: this.#clock(),
      shards,
      replicas,
      settings,
      model: new VersionedIndex({ name, mappings, gcDeletesMs, clock: this.#clock }),
    };
    this.#indices.set(name, index);
    return index;
  }

  #settingsJson(index: LocalIndex): Record<string, unknown> {
    return nestSettings({
      ...index.settings,
      'index.number_of_shards': String(index.shards),
      'index.number_of_replicas': String(index.replicas),
      'index.provided_name': index.name,
      'index.creation_date': String(index.createdAt),
      'index.uuid': index.uuid,
      'index.version.created': '136408127',
    });
  }

  #shards(index: LocalIndex): { total: number; successful: number; failed: number } {
    // A single node: replicas stay unassigned, so only the primary succeeds, as on a one-node cluster.
    return { total: 1 + index.replicas, successful: 1, failed: 0 };
  }

  #writeReply(index: LocalIndex, id: string, result: WriteResult, refresh: string | null): Reply {
    if (!result.ok) return { status: result.status, body: errorBody(result.status, result.error) };
    return {
      status: result.status,
      body: {
        _index: index.name,
        _id: id,
        _version: result.version,
        result: result.result,
        ...(refresh === 'true' || refresh === '' ? { forced_refresh: true } : {}),
        _shards: this.#shards(index),
        _seq_no: result.seqNo,
        _primary_term: 1,
      },
    };
  }
}

function generatedId(): string {
  return randomBytes(15).toString('base64url');
}

function parseJsonBody(request: RequestInfo): unknown {
  if (request.body.length === 0) return undefined;
  const text = request.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(
      'json_parse_exception',
      `Unexpected character in the request body: ${(error as Error).message}`,
    );
  }
}

function parseJsonLine(line: string, number: number): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw badRequest(
      'json_parse_exception',
      `Malformed line [${number}] of the bulk body: ${(error as Error).message}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Routing

type Handler = (cluster: LocalCluster, request: RequestInfo) => Reply | Promise<Reply>;

/** A path pattern: literal segments, `{index}`, `{id}`; methods to handlers. */
interface RouteDefinition {
  readonly pattern: readonly string[];
  readonly methods: Readonly<Record<string, Handler>>;
}

/** Every route the server answers; anything else is OpenSearch's 400 "no handler found" (or 405, wrong method). */
const ROUTES: readonly RouteDefinition[] = [
  { pattern: [], methods: { GET: (c) => c.info(), HEAD: (c) => ({ status: c.info().status }) } },
  { pattern: ['_bulk'], methods: { POST: (c, r) => c.bulk(r), PUT: (c, r) => c.bulk(r) } },
  { pattern: ['_refresh'], methods: { POST: (c, r) => c.refresh(r), GET: (c, r) => c.refresh(r) } },
  {
    pattern: ['{index}'],
    methods: {
      HEAD: (c, r) => c.headIndex(r),
      GET: (c, r) => c.getIndex(r),
      PUT: (c, r) => c.createIndex(r),
      DELETE: (c, r) => c.deleteIndex(r),
    },
  },
  {
    pattern: ['{index}', '_mapping'],
    methods: {
      GET: (c, r) => c.getMapping(r),
      PUT: (c, r) => c.putMapping(r),
      POST: (c, r) => c.putMapping(r),
    },
  },
  { pattern: ['{index}', '_bulk'], methods: { POST: (c, r) => c.bulk(r), PUT: (c, r) => c.bulk(r) } },
  { pattern: ['{index}', '_doc'], methods: { POST: (c, r) => c.indexDocument(r, 'index') } },
  {
    pattern: ['{index}', '_doc', '{id}'],
    methods: {
      PUT: (c, r) => c.indexDocument(r, 'index'),
      POST: (c, r) => c.indexDocument(r, 'index'),
      GET: (c, r) => c.getDocument(r, false),
      HEAD: (c, r) => c.getDocument(r, true),
      DELETE: (c, r) => c.deleteDocument(r),
    },
  },
  {
    pattern: ['{index}', '_create', '{id}'],
    methods: { PUT: (c, r) => c.indexDocument(r, 'create'), POST: (c, r) => c.indexDocument(r, 'create') },
  },
  { pattern: ['{index}', '_search'], methods: { GET: (c, r) => c.search(r), POST: (c, r) => c.search(r) } },
  { pattern: ['{index}', '_count'], methods: { GET: (c, r) => c.count(r), POST: (c, r) => c.count(r) } },
  {
    pattern: ['{index}', '_refresh'],
    methods: { GET: (c, r) => c.refresh(r), POST: (c, r) => c.refresh(r) },
  },
];

/** The route of a request: its stats name, and its handler (undefined: no route, or `allowed` lists the methods). */
function routeOf(
  method: string,
  segments: readonly string[],
): { name: string; handler?: Handler; allowed?: string[] } {
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    const matches = route.pattern.every((part, i) => {
      const segment = segments[i]!;
      if (part === '{index}') return !segment.startsWith('_') && segment !== '';
      if (part === '{id}') return segment !== '';
      return part === segment;
    });
    if (!matches) continue;
    const name = `${method} /${route.pattern.join('/')}`;
    const handler = route.methods[method];
    return handler === undefined ? { name, allowed: Object.keys(route.methods) } : { name, handler };
  }
  return { name: `${method} (no route)` };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

const decompress = { gzip: promisify(gunzip), deflate: promisify(inflate) };

async function readBody(request: IncomingMessage): Promise<{ raw: Buffer; body: Buffer }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const encoding = request.headers['content-encoding']?.toLowerCase();
  if (encoding === undefined || encoding === 'identity' || raw.length === 0) return { raw, body: raw };
  if (encoding === 'gzip' || encoding === 'deflate') return { raw, body: await decompress[encoding](raw) };
  throw badRequest('illegal_argument_exception', `unsupported content-encoding [${encoding}]`);
}

function send(response: ServerResponse, method: string, reply: Reply): void {
  const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  // HEAD answers carry no body (OpenSearch sends the headers only).
  response.end(method === 'HEAD' ? undefined : text);
}

/** Starts the server; resolves once it listens. */
export async function startLocalOpenSearch(options: LocalOpenSearchOptions = {}): Promise<LocalOpenSearch> {
  const cluster = new LocalCluster(options);
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((request, response) => {
    const method = (request.method ?? 'GET').toUpperCase();
    void (async (): Promise<void> => {
      let reply: Reply;
      try {
        const { raw, body } = await readBody(request);
        const url = new URL(request.url ?? '/', 'http://localhost');
        const segments = url.pathname
          .split('/')
          .filter((segment) => segment !== '')
          .map((segment) => {
            try {
              return decodeURIComponent(segment);
            } catch {
              throw badRequest('illegal_argument_exception', `cannot decode the path segment [${segment}]`);
            }
          });
        reply = await cluster.handle(
          {
            method,
            segments,
            parameters: url.searchParams,
            body,
            contentType: request.headers['content-type'],
          },
          raw.length,
        );
      } catch (error) {
        reply =
          error instanceof HttpError
            ? { status: error.status, body: errorBody(error.status, error.errorCause) }
            : {
                status: 500,
                body: errorBody(500, {
                  type: 'exception',
                  reason: `local server bug: ${(error as Error).stack ?? String(error)}`,
                }),
              };
      }
      if (!response.destroyed) send(response, method, reply);
    })();
  });
  // Keep-alive connections of the clients must not keep stop() waiting.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(
        new LocalOpenSearchStartError(
          `The local OpenSearch could not listen on ${host}:${options.port ?? 0}: ${error.message}`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostText = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${hostText}:${address.port}`,
    stats: () => cluster.stats(),
    resetStats: () => cluster.resetStats(),
    documents: (index) => cluster.documents(index),
    indices: () => cluster.indices(),
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
