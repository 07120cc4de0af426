import { setTimeout as sleepFor } from 'node:timers/promises';
import { type CancellationReason, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { $ZodError } from 'zod/v4/core';
import { TransientError } from '../../shared/errors.js';
import type { Clock } from '../../shared/stream/stream-handler.js';
import { IDEMPOTENCY_TTL_ATTRIBUTE } from '../../shared/table-attributes.js';
import * as z from '../../shared/zod.js';
import {
  DYNAMODB_BATCH_GET_MAX,
  DYNAMODB_TRANSACTION_MAX,
  EFFECT_KINDS,
  type EffectKind,
  type FanoutState,
  type FanoutStateRequest,
  type FanoutStore,
  type LedgerEntry,
  type Reservation,
  type ReservationWrite,
  type StockDelta,
  type StockTransaction,
  type StockTransactionResult,
} from '../ports.js';

/**
 * Items of the fan-out's state:
 * - Inventory table (partition key `sku`): a SKU's stock `{ sku, available }`, and an order's reservation under the
 *   key `#reservation#<orderId>` with the Reservation fields. SKUs start with a letter or a digit, so the `#` prefix
 *   never collides with one.
 * - Idempotency table (partition key `id`, Powertools' schema, shared with the API's idempotency records):
 *   `{ id: "order-fanout#<changeKey>", effects: [...], claimed: [...], expiration }`, the effects a change has had
 *   and those claimed before a send but not confirmed (absent in entries written before claims existed: none). The
 *   prefix keeps these entries apart from the API's, whose ids Powertools derives from the function name and a hash.
 */
export const RESERVATION_KEY_PREFIX = '#reservation#';
export const LEDGER_KEY_PREFIX = 'order-fanout#';

/** The TTL attribute of the Idempotency table, which the ledger shares with Powertools' records. */
export const LEDGER_TTL_ATTRIBUTE = IDEMPOTENCY_TTL_ATTRIBUTE;

/** How long a ledger entry is kept: far beyond the stream's 24-hour retention, so no re-delivery outlives it. */
export const LEDGER_RETENTION_SECONDS = 30 * 24 * 60 * 60;

/** The Inventory table key of an order's reservation. */
export function reservationKey(orderId: string): string {
  return `${RESERVATION_KEY_PREFIX}${orderId}`;
}

/** The Idempotency table key of a change's ledger entry. */
export function ledgerKey(changeKey: string): string {
  return `${LEDGER_KEY_PREFIX}${changeKey}`;
}

export interface FanoutTables {
  /** Stock and reservations. */
  readonly inventory: string;
  /** The ledger of done effects (Powertools' idempotency table: key `id`, TTL `expiration`). */
  readonly idempotency: string;
}

export interface DynamoDbFanoutStoreOptions {
  /** For the ledger's expiry. @default Date.now */
  readonly clock?: Clock;
  /** BatchGetItem calls per chunk of keys, the first included, before unprocessed keys fail the read. @default 5 */
  readonly batchGetMaxAttempts?: number;
  /** The first backoff before retrying unprocessed keys; it doubles per attempt, with jitter. @default 50 */
  readonly batchGetBaseDelayMs?: number;
  /** @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Thrown when a stored item of the fan-out does not have the shape this code writes: a bug, never the record's. */
export class MalformedFanoutItemError extends Error {
  public constructor(table: string, key: string, options: { cause: unknown }) {
    super(`Malformed item ${key} in table ${table}: ${describeCause(options.cause)}`, options);
    this.name = 'MalformedFanoutItemError';
  }
}

/** Thrown for a stock transaction DynamoDB would reject or that breaks the port's contract: a bug of the caller. */
export class InvalidStockTransactionError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'InvalidStockTransactionError';
  }
}

// `z.number().check(z.int())` is what classic zod's `z.number().int()` is: an integer check on a number schema.
const stockItemSchema = z.object({ sku: z.string(), available: z.number().check(z.int()) });

const reservationItemSchema = z.object({
  orderId: z.string().check(z.minLength(1)),
  state: z.enum(['RESERVED', 'BACKORDERED', 'RELEASED']),
  lines: z.array(
    z.object({ sku: z.string().check(z.minLength(1)), qty: z.number().check(z.int(), z.positive()) }),
  ),
  reservedBy: z.optional(z.string()),
  releasedBy: z.optional(z.string()),
  shortBy: z.array(z.string()),
  shortSkus: z.array(z.string()),
  revision: z.number().check(z.int(), z.nonnegative()),
  updatedAt: z.string().check(z.minLength(1)),
});

const ledgerItemSchema = z.object({
  id: z.string(),
  effects: z.array(z.enum(EFFECT_KINDS)),
  claimed: z.optional(z.array(z.enum(EFFECT_KINDS))),
});

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** One key of a BatchGetItem: the table and the key's attribute name and value. */
interface KeyRef {
  readonly table: string;
  readonly attribute: 'sku' | 'id';
  readonly value: string;
}

/** FanoutStore over the Inventory and Idempotency tables, through the DocumentClient. */
export class DynamoDbFanoutStore implements FanoutStore {
  readonly #documentClient: DynamoDBDocumentClient;
  readonly #tables: FanoutTables;
  readonly #clock: Clock;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;

  public constructor(
    documentClient: DynamoDBDocumentClient,
    tables: FanoutTables,
    options: DynamoDbFanoutStoreOptions = {},
  ) {
    this.#documentClient = documentClient;
    this.#tables = { ...tables };
    this.#clock = options.clock ?? Date.now;
    this.#maxAttempts = Math.max(1, options.batchGetMaxAttempts ?? 5);
    this.#baseDelayMs = options.batchGetBaseDelayMs ?? 50;
    this.#sleep = options.sleep ?? ((ms: number): Promise<void> => sleepFor(ms));
  }

  /**
   * Reads the ledger entries, reservations and stock asked for with strongly consistent BatchGetItem calls across
   * both tables, DYNAMODB_BATCH_GET_MAX keys per call (the calls run concurrently). Throws TransientError when
   * DynamoDB leaves keys unprocessed through every attempt, and MalformedFanoutItemError for an item of the wrong
   * shape.
   */
  public async read(request: FanoutStateRequest): Promise<FanoutState> {
    const { inventory, idempotency } = this.#tables;
    const inventoryKeys = unique([...request.orderIds.map(reservationKey), ...request.skus]);
    const ledgerKeys = unique(request.changeKeys.map(ledgerKey));
    const refs: KeyRef[] = [
      ...inventoryKeys.map((value): KeyRef => ({ table: inventory, attribute: 'sku', value })),
      ...ledgerKeys.map((value): KeyRef => ({ table: idempotency, attribute: 'id', value })),
    ];
    const pages = await Promise.all(chunk(refs, DYNAMODB_BATCH_GET_MAX).map((keys) => this.#batchGet(keys)));

    const doneEffects = new Map<string, ReadonlySet<EffectKind>>();
    const claimedEffects = new Map<string, ReadonlySet<EffectKind>>();
    const reservations = new Map<string, Reservation>();
    const stock = new Map<string, number>();
    for (const page of pages) {
      for (const item of page.get(inventory) ?? []) {
        const sku = String(item.sku);
        if (sku.startsWith(RESERVATION_KEY_PREFIX)) {
          const reservation = parseReservation(inventory, sku, item);
          reservations.set(reservation.orderId, reservation);
        } else {
          stock.set(sku, parseItem(stockItemSchema, inventory, sku, item).available);
        }
      }
      for (const item of page.get(idempotency) ?? []) {
        const id = String(item.id);
        const { effects, claimed } = parseItem(ledgerItemSchema, idempotency, id, item);
        const changeKey = id.slice(LEDGER_KEY_PREFIX.length);
        doneEffects.set(changeKey, new Set(effects));
        if (claimed !== undefined && claimed.length > 0) claimedEffects.set(changeKey, new Set(claimed));
      }
    }
    return { doneEffects, claimedEffects, reservations, stock };
  }

  /**
   * Runs the transaction as one TransactWriteItems call. A failed condition (stock short, a reservation written
   * since it was read) cancels it as a whole and answers `conflict`; every other failure throws.
   */
  public async applyStock(transaction: StockTransaction): Promise<StockTransactionResult> {
    const { reservations, deltas } = transaction;
    validateTransaction(transaction);
    const items = [
      ...reservations.map((write) => this.#reservationPut(write)),
      ...deltas.map((delta) => this.#stockUpdate(delta)),
    ];
    try {
      await this.#documentClient.send(new TransactWriteCommand({ TransactItems: items }));
      return { kind: 'committed' };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) {
        throw error;
      }
      const reasons = error.CancellationReasons ?? [];
      const failed = reasons.flatMap((reason, index) =>
        reason.Code === 'ConditionalCheckFailed' ? [describeFailedCondition(transaction, index, reason)] : [],
      );
      if (failed.length > 0) {
        return { kind: 'conflict', reason: failed.join('; ') };
      }
      throw cancellationAsTransient(error);
    }
  }

  /**
   * Claims effects before their send: the same whole-entry writes as recordDone (the caller passes the done effects
   * it read and the claimed ones merged with those it is about to send). When it throws, nothing may be sent.
   */
  public async recordClaims(entries: readonly LedgerEntry[]): Promise<void> {
    await this.#writeLedger(entries);
  }

  /**
   * Overwrites the ledger entry of each change with its effects so far and its unconfirmed claims. TransactWriteItems
   * of unconditional Puts, DYNAMODB_TRANSACTION_MAX per call, one call after the other: a record's effects are
   * recorded in as few calls as possible. A transactional write costs 2 WCU per item where BatchWriteItem costs 1,
   * but BatchWriteItem takes only 25 items per call and may leave some unprocessed, to be retried; a transaction of up
   * to 100 is written whole or not at all. Entries of the same change are merged (DynamoDB refuses two writes of one
   * item in a transaction); an effect both done and claimed is stored as done only.
   */
  public async recordDone(entries: readonly LedgerEntry[]): Promise<void> {
    await this.#writeLedger(entries);
  }

  async #writeLedger(entries: readonly LedgerEntry[]): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    const merged = new Map<string, { effects: Set<EffectKind>; claimed: Set<EffectKind> }>();
    for (const { changeKey, effects, claimed } of entries) {
      const entry = merged.get(changeKey) ?? {
        effects: new Set<EffectKind>(),
        claimed: new Set<EffectKind>(),
      };
      for (const effect of effects) entry.effects.add(effect);
      for (const effect of claimed ?? []) entry.claimed.add(effect);
      merged.set(changeKey, entry);
    }
    const expiration = Math.floor(this.#clock() / 1000) + LEDGER_RETENTION_SECONDS;
    const puts: TransactItem[] = [...merged].map(([changeKey, { effects, claimed }]) => {
      // In EFFECT_KINDS order, so that the same set is always stored the same way.
      const pending = EFFECT_KINDS.filter((kind) => claimed.has(kind) && !effects.has(kind));
      return {
        Put: {
          TableName: this.#tables.idempotency,
          Item: {
            id: ledgerKey(changeKey),
            effects: EFFECT_KINDS.filter((kind) => effects.has(kind)),
            // Left out when empty: the Put replaces the item, so an absent list is no claim, and most entries have none.
            ...(pending.length === 0 ? {} : { claimed: pending }),
            [LEDGER_TTL_ATTRIBUTE]: expiration,
          },
        },
      };
    });
    for (const items of chunk(puts, DYNAMODB_TRANSACTION_MAX)) {
      try {
        await this.#documentClient.send(new TransactWriteCommand({ TransactItems: items }));
      } catch (error) {
        throw error instanceof TransactionCanceledException ? cancellationAsTransient(error) : error;
      }
    }
  }

  /** BatchGetItem of at most DYNAMODB_BATCH_GET_MAX keys, retrying unprocessed keys; items by table. */
  async #batchGet(keys: readonly KeyRef[]): Promise<Map<string, Item[]>> {
    const items = new Map<string, Item[]>();
    let requestItems: NonNullable<BatchGetCommandInput['RequestItems']> = {};
    for (const { table, attribute, value } of keys) {
      const entry = requestItems[table] ?? { Keys: [], ConsistentRead: true };
      entry.Keys?.push({ [attribute]: value });
      requestItems[table] = entry;
    }
    for (let attempt = 1; ; attempt += 1) {
      const output = await this.#documentClient.send(new BatchGetCommand({ RequestItems: requestItems }));
      for (const [table, tableItems] of Object.entries(output.Responses ?? {})) {
        items.set(table, [...(items.get(table) ?? []), ...tableItems]);
      }
      const unprocessed = Object.entries(output.UnprocessedKeys ?? {}).filter(
        ([, request]) => (request.Keys?.length ?? 0) > 0,
      );
      if (unprocessed.length === 0) {
        return items;
      }
      if (attempt >= this.#maxAttempts) {
        const count = unprocessed.reduce((sum, [, request]) => sum + (request.Keys?.length ?? 0), 0);
        throw new TransientError(`BatchGetItem left ${count} key(s) unprocessed after ${attempt} attempts`);
      }
      // DynamoDB returns the keys with the request's own settings; ConsistentRead is set again all the same.
      requestItems = Object.fromEntries(
        unprocessed.map(([table, request]) => [table, { ...request, ConsistentRead: true }]),
      );
      await this.#sleep(backoffMs(this.#baseDelayMs, attempt));
    }
  }

  #reservationPut({ next, expectedRevision }: ReservationWrite): TransactItem {
    // Absent optional fields are left out here rather than relying on the client's removeUndefinedValues.
    const fields = Object.entries(next).filter(([, value]) => value !== undefined);
    const item = { ...Object.fromEntries(fields), sku: reservationKey(next.orderId) };
    const condition =
      expectedRevision === undefined
        ? { ConditionExpression: 'attribute_not_exists(sku)' }
        : {
            ConditionExpression: '#revision = :expected',
            ExpressionAttributeNames: { '#revision': 'revision' },
            ExpressionAttributeValues: { ':expected': expectedRevision },
          };
    return {
      Put: {
        TableName: this.#tables.inventory,
        Item: item,
        ...condition,
        // The stored revision, to say in the conflict reason what the write ran into.
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  #stockUpdate({ sku, delta }: StockDelta): TransactItem {
    const update = {
      TableName: this.#tables.inventory,
      Key: { sku },
      UpdateExpression: 'ADD #available :delta',
      ExpressionAttributeNames: { '#available': 'available' },
    };
    if (delta > 0) {
      // A release: ADD creates the SKU's item when it has none.
      return { Update: { ...update, ExpressionAttributeValues: { ':delta': delta } } };
    }
    // A reservation: the stock must cover it. A SKU without an item has no `available`, so the comparison is false
    // and the condition fails: no item means no stock.
    return {
      Update: {
        ...update,
        ConditionExpression: '#available >= :need',
        ExpressionAttributeValues: { ':delta': delta, ':need': -delta },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }
}

function validateTransaction({ reservations, deltas }: StockTransaction): void {
  const size = reservations.length + deltas.length;
  if (size === 0) {
    throw new InvalidStockTransactionError('A stock transaction needs at least one write');
  }
  if (size > DYNAMODB_TRANSACTION_MAX) {
    throw new InvalidStockTransactionError(
      `A stock transaction takes at most ${DYNAMODB_TRANSACTION_MAX} writes, got ${size}`,
    );
  }
  const zero = deltas.find((delta) => delta.delta === 0 || !Number.isInteger(delta.delta));
  if (zero !== undefined) {
    throw new InvalidStockTransactionError(
      `Stock delta of SKU ${zero.sku} is ${zero.delta}: a non-zero integer`,
    );
  }
  // DynamoDB cancels a transaction that writes one item twice (ValidationError); say which item instead.
  const keys = [
    ...reservations.map((write) => reservationKey(write.next.orderId)),
    ...deltas.map((d) => d.sku),
  ];
  const duplicate = keys.find((key, index) => keys.indexOf(key) !== index);
  if (duplicate !== undefined) {
    throw new InvalidStockTransactionError(`A stock transaction writes item ${duplicate} twice`);
  }
}

/** What the item at `index` of the transaction ran into, from its cancellation reason. */
function describeFailedCondition(
  { reservations, deltas }: StockTransaction,
  index: number,
  reason: CancellationReason,
): string {
  const write = reservations[index];
  if (write !== undefined) {
    const found = reason.Item?.revision?.N;
    const { orderId } = write.next;
    return write.expectedRevision === undefined
      ? `reservation of order ${orderId} already exists (revision ${found ?? 'unknown'})`
      : `reservation of order ${orderId} is not at revision ${write.expectedRevision} ` +
          `(${found === undefined ? 'none or no revision' : `found ${found}`})`;
  }
  const delta = deltas[index - reservations.length];
  if (delta !== undefined) {
    const available = reason.Item?.available?.N;
    return (
      `stock of SKU ${delta.sku} is short of ${-delta.delta} ` +
      `(${available === undefined ? 'no stock item' : `available ${available}`})`
    );
  }
  return `item ${index} of the transaction failed its condition`;
}

/**
 * A cancellation that is not a failed condition: TransactionConflict (another transaction on the same item),
 * ThrottlingError, ProvisionedThroughputExceeded... classifyError reads a TransactionCanceledException as a plain
 * 400, i.e. permanent, whatever its reasons, so it is wrapped: a retry succeeds.
 */
function cancellationAsTransient(error: TransactionCanceledException): TransientError {
  const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'unknown');
  return new TransientError(`TransactWriteItems cancelled: [${codes.join(', ')}]`, { cause: error });
}

function parseReservation(table: string, key: string, item: Item): Reservation {
  const parsed = parseItem(reservationItemSchema, table, key, item);
  if (reservationKey(parsed.orderId) !== key) {
    throw new MalformedFanoutItemError(table, key, { cause: new Error(`orderId is ${parsed.orderId}`) });
  }
  // Built field by field, so that absent optional fields are absent rather than undefined.
  return {
    orderId: parsed.orderId,
    state: parsed.state,
    lines: parsed.lines,
    ...(parsed.reservedBy === undefined ? {} : { reservedBy: parsed.reservedBy }),
    ...(parsed.releasedBy === undefined ? {} : { releasedBy: parsed.releasedBy }),
    shortBy: parsed.shortBy,
    shortSkus: parsed.shortSkus,
    revision: parsed.revision,
    updatedAt: parsed.updatedAt,
  };
}

function parseItem<T>(schema: z.ZodMiniType<T>, table: string, key: string, item: Item): T {
  const result = schema.safeParse(item);
  if (!result.success) {
    // Not the ZodError itself: classifyError would read it as a schema violation of the stream record, permanent,
    // while a bad stored item is a bug whose fix lets the records through.
    throw new MalformedFanoutItemError(table, key, { cause: result.error });
  }
  return result.data;
}

function describeCause(cause: unknown): string {
  if (cause instanceof $ZodError) {
    return z.prettifyError(cause).replaceAll('\n', ' ');
  }
  return cause instanceof Error ? cause.message : String(cause);
}

/** Exponential backoff with equal jitter: between half and all of `base * 2^(attempt-1)`. */
function backoffMs(baseMs: number, attempt: number): number {
  const ceiling = baseMs * 2 ** (attempt - 1);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function chunk<T>(values: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < values.length; start += size) {
    chunks.push(values.slice(start, start + size));
  }
  return chunks;
}
