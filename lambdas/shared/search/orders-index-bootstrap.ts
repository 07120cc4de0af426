import * as errors from '@opensearch-project/opensearch/lib/errors.js';
import * as z from '../zod.js';
import type { SearchClient } from './opensearch-client-options.js';
import { ORDERS_INDEX, ORDERS_INDEX_MAPPINGS, ordersIndexSettings } from './orders-index.js';

/** One field of a mapping as the bootstrap compares it: its type, sub-fields (multi-fields) and object properties. */
interface FieldDefinition {
  readonly type?: string;
  readonly fields?: Readonly<Record<string, FieldDefinition>>;
  readonly properties?: Readonly<Record<string, FieldDefinition>>;
}

const fieldDefinitionSchema: z.ZodMiniType<FieldDefinition> = z.lazy(() =>
  z.looseObject({
    type: z.optional(z.string()),
    fields: z.optional(z.record(z.string(), fieldDefinitionSchema)),
    properties: z.optional(z.record(z.string(), fieldDefinitionSchema)),
  }),
);

/** `GET /orders/_mapping`: one entry, keyed by the concrete index's name (an alias resolves to it). */
const getMappingResponseSchema = z.record(
  z.string(),
  z.looseObject({
    mappings: z.optional(
      z.looseObject({
        // OpenSearch returns the setting as given ("strict"), older versions sometimes as a boolean.
        dynamic: z.optional(z.union([z.string(), z.boolean()])),
        properties: z.optional(z.record(z.string(), fieldDefinitionSchema)),
      }),
    ),
  }),
);

export interface EnsureOrdersIndexOptions {
  /** Replicas when this call creates the index (0 on a single-node domain). */
  readonly replicas: number;
}

/** What ensureOrdersIndex found and did. */
export interface EnsureOrdersIndexResult {
  /**
   * `created`: this call created the index. `created-concurrently`: another writer created it between our HEAD and
   * PUT, and its mapping was verified like an existing one's. `exists`: it was there and its mapping was verified.
   */
  readonly kind: 'created' | 'created-concurrently' | 'exists';
  /** Fields (dotted paths, and `dynamic`) the verification added to the mapping; empty when none were missing. */
  readonly addedFields: readonly string[];
}

/** A field of the index has another type than ORDERS_INDEX_MAPPINGS says: only a reindex can change that. */
export class OrdersIndexMappingConflictError extends Error {
  public readonly conflicts: readonly {
    readonly field: string;
    readonly expected: string;
    readonly actual: string;
  }[];

  public constructor(conflicts: OrdersIndexMappingConflictError['conflicts']) {
    super(
      `The "${ORDERS_INDEX}" index maps ${conflicts
        .map(({ field, expected, actual }) => `${field} as ${actual} (expected ${expected})`)
        .join(
          ', ',
        )}; a field's type cannot be changed in place: an operator must reindex into an index created ` +
        'with ORDERS_INDEX_MAPPINGS',
    );
    this.name = 'OrdersIndexMappingConflictError';
    this.conflicts = conflicts;
  }
}

/** The mapping response is not one this code understands. */
export class OrdersIndexMappingUnreadableError extends Error {
  public constructor(options?: { cause?: unknown }) {
    super(`The mapping of the "${ORDERS_INDEX}" index could not be read from the response`, options);
    this.name = 'OrdersIndexMappingUnreadableError';
  }
}

/**
 * Makes sure the `orders` index exists with ORDERS_INDEX_MAPPINGS, idempotently, so every writer can call it:
 *
 * 1. `HEAD /orders`. Absent: `PUT /orders` with the mappings and ordersIndexSettings(replicas). A 400
 *    `resource_already_exists_exception` means a concurrent writer created it first: fine, and its mapping is then
 *    verified like an existing index's (the other writer may run another version of this code).
 * 2. Present: `GET /orders/_mapping` and compare field by field (object properties and multi-fields included):
 *    - a field the index lacks is added with one `PUT /orders/_mapping` (adding fields is allowed; documents indexed
 *      before have no value for it, which is what they had anyway), as is `dynamic: strict` when it differs;
 *    - a field of another type throws OrdersIndexMappingConflictError naming every such field: OpenSearch cannot
 *      change a type in place, an operator must reindex. Only types are compared: the other parameters (`format`,
 *      `ignore_above`) do not decide whether our documents can be indexed and searched.
 *
 * Every request stays under `/orders`, which the IAM policy allows. Any other failure (network, 5xx, 403) propagates.
 */
export async function ensureOrdersIndex(
  client: SearchClient,
  options: EnsureOrdersIndexOptions,
): Promise<EnsureOrdersIndexResult> {
  if (!Number.isInteger(options.replicas) || options.replicas < 0) {
    throw new RangeError(`replicas must be a non-negative integer, got ${options.replicas}`);
  }
  const { body: exists } = await client.transport.request({ method: 'HEAD', path: `/${ORDERS_INDEX}` });
  if (exists === true) {
    return { kind: 'exists', addedFields: await verifyMapping(client) };
  }
  try {
    await client.transport.request({
      method: 'PUT',
      path: `/${ORDERS_INDEX}`,
      body: { settings: ordersIndexSettings(options.replicas), mappings: ORDERS_INDEX_MAPPINGS },
    });
    return { kind: 'created', addedFields: [] };
  } catch (error) {
    if (!isAlreadyExists(error)) {
      throw error;
    }
    return { kind: 'created-concurrently', addedFields: await verifyMapping(client) };
  }
}

/** Verifies the existing mapping, adding what is missing; returns the added fields' paths (and `dynamic`). */
async function verifyMapping(client: SearchClient): Promise<string[]> {
  const { body } = await client.transport.request({ method: 'GET', path: `/${ORDERS_INDEX}/_mapping` });
  const parsed = getMappingResponseSchema.safeParse(body);
  const entries = parsed.success ? Object.values(parsed.data) : [];
  const current = entries[0]?.mappings;
  if (!parsed.success || entries.length !== 1) {
    throw new OrdersIndexMappingUnreadableError({ cause: parsed.success ? undefined : parsed.error });
  }
  const expected = ORDERS_INDEX_MAPPINGS.properties as Readonly<Record<string, FieldDefinition>>;
  const diff = compareProperties(expected, current?.properties ?? {}, '');
  if (diff.conflicts.length > 0) {
    throw new OrdersIndexMappingConflictError(diff.conflicts);
  }
  const dynamicDiffers = String(current?.dynamic ?? 'true') !== ORDERS_INDEX_MAPPINGS.dynamic;
  if (diff.added.length === 0 && !dynamicDiffers) {
    return [];
  }
  const added = dynamicDiffers ? ['dynamic', ...diff.added] : diff.added;
  await client.transport.request({
    method: 'PUT',
    path: `/${ORDERS_INDEX}/_mapping`,
    body: {
      ...(dynamicDiffers ? { dynamic: ORDERS_INDEX_MAPPINGS.dynamic } : {}),
      ...(diff.added.length > 0 ? { properties: diff.missing } : {}),
    },
  });
  return added;
}

interface MappingDiff {
  /** The missing part of the mapping, shaped for PUT _mapping (parents of a missing field included). */
  readonly missing: Record<string, FieldDefinition>;
  /** Dotted paths of the missing fields. */
  readonly added: string[];
  readonly conflicts: { field: string; expected: string; actual: string }[];
}

function compareProperties(
  expected: Readonly<Record<string, FieldDefinition>>,
  actual: Readonly<Record<string, FieldDefinition>>,
  prefix: string,
): MappingDiff {
  const diff: MappingDiff = { missing: {}, added: [], conflicts: [] };
  for (const [name, want] of Object.entries(expected)) {
    const path = `${prefix}${name}`;
    const have = Object.hasOwn(actual, name) ? actual[name] : undefined;
    if (have === undefined) {
      diff.missing[name] = want;
      diff.added.push(path);
      continue;
    }
    // An object field has properties and no type in a mapping; OpenSearch reports it without `type`.
    const wantType = want.type ?? 'object';
    const haveType = have.type ?? 'object';
    if (wantType !== haveType) {
      diff.conflicts.push({ field: path, expected: wantType, actual: haveType });
      continue;
    }
    const nested = { key: 'properties', sub: want.properties, current: have.properties } as const;
    const multi = { key: 'fields', sub: want.fields, current: have.fields } as const;
    let partial: FieldDefinition | undefined;
    for (const { key, sub, current } of [nested, multi]) {
      if (sub === undefined) continue;
      const inner = compareProperties(sub, current ?? {}, `${path}.`);
      diff.added.push(...inner.added);
      diff.conflicts.push(...inner.conflicts);
      if (inner.added.length > 0) {
        // PUT _mapping merges, but a multi-field must be sent with its parent's type, an object with its parent's
        // path: send the parent with the missing children only.
        partial = {
          ...(partial ?? (want.type === undefined ? {} : { type: want.type })),
          [key]: inner.missing,
        };
      }
    }
    if (partial !== undefined) {
      diff.missing[name] = partial;
    }
  }
  return diff;
}

function isAlreadyExists(error: unknown): boolean {
  if (!(error instanceof errors.ResponseError) || error.meta.statusCode !== 400) {
    return false;
  }
  const body: unknown = error.meta.body;
  if (typeof body !== 'object' || body === null) return false;
  const type = (body as { error?: { type?: unknown } }).error?.type;
  return type === 'resource_already_exists_exception';
}

/**
 * Memoises an async task until it succeeds: concurrent callers share one run; a failed run is forgotten, so the next
 * call (the next invocation) tries again instead of every later call failing with a cached error.
 */
export function onceUntilSuccess<T>(task: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    if (running === undefined) {
      // Through an async function, so a task that throws synchronously is forgotten like one that rejects.
      const attempt = (async (): Promise<T> => task())();
      running = attempt;
      attempt.catch(() => {
        if (running === attempt) running = undefined;
      });
    }
    return running;
  };
}
