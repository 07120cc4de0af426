import { setTimeout as sleepTimer } from 'node:timers/promises';
import { ORDER_TRANSITIONS, type OrderStatus } from '../lambdas/shared/orders/order.js';

/**
 * Seeded demo traffic through the orders API over HTTP: orders placed, moved along the allowed status transitions,
 * cancelled, back-ordered and deleted, votes cast, changed and retracted on a few polls (one of them hot). The same
 * seed gives the same sequence of requests (at concurrency 1), so a run that shows a problem can be replayed.
 * Every operation is recorded with the status the API answered, so callers (the chaos run) know which writes
 * happened, and `poisonRate` asks for orders whose customerId starts with `poison-`, which a probe consumer rejects.
 */

export const TRAFFIC_KINDS = [
  'createOrder',
  'advanceOrder',
  'deleteOrder',
  'vote',
  'changeVote',
  'retractVote',
] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];

/** Relative weights of the kinds of operation; a kind left out of a partial mix keeps its default weight. */
export type TrafficMix = Readonly<Partial<Record<TrafficKind, number>>>;

/**
 * About half order writes and half vote writes. Status changes outnumber creates a little, so orders move along
 * their lifecycle instead of piling up as PLACED; deletes and retractions are rare, as in a real shop.
 */
export const DEFAULT_TRAFFIC_MIX: Readonly<Record<TrafficKind, number>> = {
  createOrder: 25,
  advanceOrder: 30,
  deleteOrder: 4,
  vote: 25,
  changeVote: 12,
  retractVote: 4,
};

/** The prefix of a poison order's customerId: the chaos probe consumer rejects such orders permanently. */
export const POISON_CUSTOMER_PREFIX = 'poison-';

/** The hot poll gets most votes, so one partition key of the Votes stream carries most records. */
export const HOT_POLL_ID = 'poll-hot';

const POLLS: Readonly<Record<string, readonly string[]>> = {
  [HOT_POLL_ID]: ['margherita', 'marinara', 'funghi', 'diavola'],
  'poll-colour': ['red', 'green', 'blue'],
  'poll-editor': ['vim', 'emacs', 'vscode', 'helix'],
  'poll-weekday': ['mon', 'tue', 'wed', 'thu', 'fri'],
};
/**
 * Four of five new votes go to the hot poll: with changes and retractions drawn from the votes cast, it takes about
 * 80% of the Votes stream's records, one partition key carrying most of the load (chaos checks exact counts under
 * that skew).
 */
const HOT_POLL_SHARE = 0.8;

/** Most orders go forward; a few are cancelled or back-ordered. Only transitions of ORDER_TRANSITIONS are used. */
const TRANSITION_WEIGHTS: Readonly<
  Partial<Record<OrderStatus, Readonly<Partial<Record<OrderStatus, number>>>>>
> = {
  PLACED: { PAID: 80, CANCELLED: 10, BACKORDERED: 10 },
  PAID: { SHIPPED: 90, CANCELLED: 10 },
  SHIPPED: { DELIVERED: 100 },
  BACKORDERED: { PLACED: 70, CANCELLED: 30 },
};

const CURRENCIES: ReadonlyArray<readonly [string, number]> = [
  ['EUR', 60],
  ['USD', 30],
  ['GBP', 10],
];
const SKU_COUNT = 40;

/** The SKUs the traffic orders (`SKU-0001` to `SKU-0040`): the sandbox stocks them in the Inventory table. */
export const TRAFFIC_SKUS: readonly string[] = Object.freeze(
  Array.from({ length: SKU_COUNT }, (_unused, index) => trafficSku(index + 1)),
);

function trafficSku(number: number): string {
  return `SKU-${String(number).padStart(4, '0')}`;
}
const CUSTOMER_COUNT = 200;

/** Thrown for options that would make a run unbounded or meaningless; the message names the option. */
export class TrafficOptionsError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'TrafficOptionsError';
  }
}

/** mulberry32: a tiny 32-bit PRNG, good enough for test traffic and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type HttpMethod = 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One request the generator sent, and what came back. */
export interface TrafficOperation {
  /** 0-based position in the run. */
  readonly index: number;
  readonly kind: TrafficKind;
  readonly method: HttpMethod;
  readonly path: string;
  readonly requestBody?: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /** The HTTP status; 0 when no response came (connection refused, request timeout). */
  readonly status: number;
  /** A 2xx response. */
  readonly ok: boolean;
  /** Why there was no response. */
  readonly error?: string;
  readonly orderId?: string;
  readonly customerId?: string;
  /** A create of a poison order. */
  readonly poison?: boolean;
  /** The status asked for (advanceOrder). */
  readonly toStatus?: OrderStatus;
  readonly pollId?: string;
  readonly voterId?: string;
  readonly option?: string;
  /** The order's version after the write, from the response (create and status change). */
  readonly version?: number;
  /** ISO-8601 time the request was sent. */
  readonly sentAt: string;
  readonly latencyMs: number;
}

/** An order as the generator believes the API holds it, from the responses it got. */
export interface ModelOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly poison: boolean;
  readonly status: OrderStatus;
  readonly version: number;
  readonly deleted: boolean;
}

export interface TrafficSummary {
  readonly seed: number;
  /** Operations sent. */
  readonly operations: number;
  /** 2xx responses. */
  readonly ok: number;
  /** Responses other than 2xx. */
  readonly rejected: number;
  /** Operations without a response. */
  readonly errors: number;
  readonly byKind: Readonly<Record<TrafficKind, number>>;
  /** Count per HTTP status (`"0"` for no response). */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly poisonOrders: number;
  readonly durationMs: number;
  readonly stoppedBy: 'operations' | 'duration' | 'signal';
  /** Every operation in order of sending; empty when `recordLog` was false. */
  readonly log: readonly TrafficOperation[];
  /** Orders created by this run, by id, as the API holds them after the run (deleted ones flagged). */
  readonly orders: Readonly<Record<string, ModelOrder>>;
  /** Current votes by poll and voter, as the API holds them after the run. */
  readonly votes: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface TrafficOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:3000`. */
  readonly apiUrl: string;
  readonly seed: number;
  /** Stop after this many operations. */
  readonly operations?: number;
  /** Stop starting operations after this long. */
  readonly durationMs?: number;
  /** Operations started per second; Infinity = as fast as the API answers. @default 10 */
  readonly ratePerSecond?: number;
  readonly mix?: TrafficMix;
  /** Share of created orders that are poison (customerId `poison-...`), 0 to 1. @default 0 */
  readonly poisonRate?: number;
  /**
   * Requests in flight at once. At 1 (the default) the sequence of requests depends only on the seed and the
   * responses; above 1 responses race and the choice of the next operation depends on their timing.
   */
  readonly concurrency?: number;
  /** Called after each operation completes. */
  readonly onOperation?: (operation: TrafficOperation) => void;
  /** Stops starting operations; the ones in flight complete, so the summary knows whether they happened. */
  readonly signal?: AbortSignal;
  /** Keep every operation in `summary.log`. @default true */
  readonly recordLog?: boolean;
  /**
   * Prefix of the Idempotency-Key of creates. A retried key returns the first order, so two runs with one seed
   * against one API need different prefixes. @default `traffic-<seed>`
   */
  readonly idempotencyKeyPrefix?: string;
  /** A request without an answer after this long counts as an error (status 0). @default 10,000 ms */
  readonly requestTimeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Waits before an operation's scheduled time; rejects or resolves early when `signal` aborts. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface Planned {
  readonly kind: TrafficKind;
  readonly method: HttpMethod;
  readonly path: string;
  readonly body?: unknown;
  readonly headers: Record<string, string>;
  readonly fields: Partial<TrafficOperation>;
  /** Applies a response to the model. */
  readonly apply: (status: number, body: unknown) => void;
  /**
   * For a write on an order that was refused with 412: the path to read the order again, and how to apply what the
   * read returns. Another writer (the order fan-out back-ordering an order) moved the order on; without the read the
   * model would keep the stale version and every later write of the order would be refused too.
   */
  readonly refresh?: { readonly path: string; readonly apply: (status: number, body: unknown) => void };
  /** The key the operation works on, busy while it is in flight. */
  readonly busyKey: string | undefined;
}

/** Validates the options; every message names the option at fault. */
function validate(options: TrafficOptions): void {
  const positiveInteger = (name: string, value: number | undefined): void => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new TrafficOptionsError(`${name} must be a positive integer, got ${value}`);
    }
  };
  if (!Number.isInteger(options.seed)) {
    throw new TrafficOptionsError(`seed must be an integer, got ${options.seed}`);
  }
  if (options.operations !== undefined && (!Number.isInteger(options.operations) || options.operations < 0)) {
    throw new TrafficOptionsError(`operations must be an integer >= 0, got ${options.operations}`);
  }
  positiveInteger('concurrency', options.concurrency);
  if (options.durationMs !== undefined && !(options.durationMs >= 0 && Number.isFinite(options.durationMs))) {
    throw new TrafficOptionsError(`durationMs must be a finite number >= 0, got ${options.durationMs}`);
  }
  if (options.operations === undefined && options.durationMs === undefined && options.signal === undefined) {
    throw new TrafficOptionsError(
      'One of operations, durationMs or signal is required: traffic must be stoppable',
    );
  }
  const rate = options.ratePerSecond;
  if (rate !== undefined && !(rate > 0)) {
    throw new TrafficOptionsError(`ratePerSecond must be > 0 (Infinity for no pacing), got ${rate}`);
  }
  const poison = options.poisonRate;
  if (poison !== undefined && !(poison >= 0 && poison <= 1)) {
    throw new TrafficOptionsError(`poisonRate must be from 0 to 1, got ${poison}`);
  }
  for (const [kind, weight] of Object.entries(options.mix ?? {})) {
    if (!(TRAFFIC_KINDS as readonly string[]).includes(kind)) {
      throw new TrafficOptionsError(`mix.${kind} is not a kind of operation (${TRAFFIC_KINDS.join(', ')})`);
    }
    if (!(typeof weight === 'number' && weight >= 0 && Number.isFinite(weight))) {
      throw new TrafficOptionsError(`mix.${kind} must be a finite number >= 0, got ${weight}`);
    }
  }
  const mix = { ...DEFAULT_TRAFFIC_MIX, ...options.mix };
  if (mix.createOrder + mix.vote <= 0) {
    // Every other kind needs an order or a vote to exist first.
    throw new TrafficOptionsError('mix: createOrder or vote must have a weight > 0');
  }
}

/** Picks by weight; `entries` must have a positive total. */
function weighted<T>(random: () => number, entries: ReadonlyArray<readonly [T, number]>): T {
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [value, weight] of entries) {
    roll -= weight;
    if (roll < 0 && weight > 0) return value;
  }
  const last = [...entries].reverse().find(([, weight]) => weight > 0);
  return last![0];
}

function integerBetween(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** The generator's knowledge of what the API holds, updated from responses only. */
class TrafficModel {
  public readonly orders = new Map<string, ModelOrder>();
  public readonly votes = new Map<string, Map<string, string>>();
  public readonly busy = new Set<string>();
  public nextVoter = 0;

  public liveOrders(predicate: (order: ModelOrder) => boolean): ModelOrder[] {
    return [...this.orders.values()].filter(
      (order) => !order.deleted && !this.busy.has(order.orderId) && predicate(order),
    );
  }

  public castVotes(): Array<{ pollId: string; voterId: string; option: string }> {
    const all: Array<{ pollId: string; voterId: string; option: string }> = [];
    for (const [pollId, voters] of this.votes) {
      for (const [voterId, option] of voters) {
        if (!this.busy.has(voteKey(pollId, voterId))) all.push({ pollId, voterId, option });
      }
    }
    return all;
  }

  public setVote(pollId: string, voterId: string, option: string | undefined): void {
    const voters = this.votes.get(pollId) ?? new Map<string, string>();
    if (option === undefined) voters.delete(voterId);
    else voters.set(voterId, option);
    this.votes.set(pollId, voters);
  }
}

function voteKey(pollId: string, voterId: string): string {
  return `vote:${pollId}/${voterId}`;
}

/** The order in a response body, when it has the fields the model needs. */
function orderIn(body: unknown): { orderId: string; status: OrderStatus; version: number } | undefined {
  const candidate = body as { orderId?: unknown; status?: unknown; version?: unknown } | null;
  if (
    typeof candidate?.orderId === 'string' &&
    typeof candidate.status === 'string' &&
    candidate.status in ORDER_TRANSITIONS &&
    typeof candidate.version === 'number'
  ) {
    return {
      orderId: candidate.orderId,
      status: candidate.status as OrderStatus,
      version: candidate.version,
    };
  }
  return undefined;
}

/** How a 412 on `order` is followed up: read the order and take its status and version (or its deletion). */
function refreshOf(model: TrafficModel, order: ModelOrder): NonNullable<Planned['refresh']> {
  return {
    path: `/orders/${order.orderId}`,
    apply: (status, body) => {
      const current = orderIn(body);
      if (status === 200 && current !== undefined) {
        model.orders.set(order.orderId, { ...order, status: current.status, version: current.version });
      } else if (status === 404) {
        model.orders.set(order.orderId, { ...order, deleted: true });
      }
    },
  };
}

/** Plans the next operation from the model; pure apart from drawing from `random`. */
function planNext(
  index: number,
  random: () => number,
  model: TrafficModel,
  mix: Readonly<Record<TrafficKind, number>>,
  poisonRate: number,
  keyPrefix: string,
): Planned {
  const kind = weighted(
    random,
    TRAFFIC_KINDS.map((k) => [k, mix[k]] as const),
  );
  const orderPlan = (): Planned | undefined => {
    if (kind === 'advanceOrder') {
      const candidates = model.liveOrders((o) => (ORDER_TRANSITIONS[o.status] ?? []).length > 0);
      if (candidates.length === 0) return undefined;
      const order = pick(random, candidates);
      const weights = TRANSITION_WEIGHTS[order.status] ?? {};
      const to = weighted(
        random,
        ORDER_TRANSITIONS[order.status].map((s) => [s, weights[s] ?? 1] as const),
      );
      return {
        kind,
        method: 'PATCH',
        path: `/orders/${order.orderId}`,
        body: { status: to },
        headers: { 'content-type': 'application/json', 'if-match': `"${order.version}"` },
        fields: { orderId: order.orderId, customerId: order.customerId, toStatus: to },
        busyKey: order.orderId,
        refresh: refreshOf(model, order),
        apply: (status, body) => {
          const changed = orderIn(body);
          if (status === 200 && changed !== undefined) {
            model.orders.set(order.orderId, { ...order, status: changed.status, version: changed.version });
          } else if (status === 404) {
            model.orders.set(order.orderId, { ...order, deleted: true });
          } else if (status !== 409 && status !== 412) {
            // An unexpected answer leaves the state unknown: leave the order alone from now on.
            model.orders.delete(order.orderId);
          }
        },
      };
    }
    if (kind === 'deleteOrder') {
      const finished = model.liveOrders((o) => ORDER_TRANSITIONS[o.status].length === 0);
      const candidates = finished.length > 0 ? finished : model.liveOrders(() => true);
      if (candidates.length === 0) return undefined;
      const order = pick(random, candidates);
      return {
        kind,
        method: 'DELETE',
        path: `/orders/${order.orderId}`,
        headers: { 'if-match': `"${order.version}"` },
        fields: { orderId: order.orderId, customerId: order.customerId },
        busyKey: order.orderId,
        refresh: refreshOf(model, order),
        apply: (status) => {
          if (status === 204 || status === 404) {
            model.orders.set(order.orderId, { ...order, deleted: true });
          } else if (status !== 412) {
            model.orders.delete(order.orderId);
          }
        },
      };
    }
    return undefined;
  };
  const votePlan = (): Planned | undefined => {
    if (kind !== 'changeVote' && kind !== 'retractVote') return undefined;
    const cast = model.castVotes();
    if (cast.length === 0) return undefined;
    const vote = pick(random, cast);
    const key = voteKey(vote.pollId, vote.voterId);
    const path = `/polls/${vote.pollId}/votes/${vote.voterId}`;
    const fields = { pollId: vote.pollId, voterId: vote.voterId };
    if (kind === 'retractVote') {
      return {
        kind,
        method: 'DELETE',
        path,
        headers: {},
        fields,
        busyKey: key,
        apply: (status) => {
          if (status === 204 || status === 404) model.setVote(vote.pollId, vote.voterId, undefined);
        },
      };
    }
    const options = (POLLS[vote.pollId] ?? []).filter((o) => o !== vote.option);
    const option = pick(random, options);
    return {
      kind,
      method: 'PUT',
      path,
      body: { option },
      headers: { 'content-type': 'application/json' },
      fields: { ...fields, option },
      busyKey: key,
      apply: (status) => {
        if (status === 200 || status === 201) model.setVote(vote.pollId, vote.voterId, option);
      },
    };
  };
  const planned = orderPlan() ?? votePlan();
  if (planned !== undefined) return planned;

  // Nothing to work on yet (or the kind is a create): fall back to the create of the same family.
  const orderFamily = kind === 'createOrder' || kind === 'advanceOrder' || kind === 'deleteOrder';
  if ((orderFamily && mix.createOrder > 0) || mix.vote <= 0) {
    return planCreateOrder(index, random, model, poisonRate, keyPrefix);
  }
  return planVote(random, model);
}

function planCreateOrder(
  index: number,
  random: () => number,
  model: TrafficModel,
  poisonRate: number,
  keyPrefix: string,
): Planned {
  const poison = poisonRate > 0 && random() < poisonRate;
  const customerNumber = integerBetween(random, 1, CUSTOMER_COUNT);
  const customerId = `${poison ? POISON_CUSTOMER_PREFIX : 'cust-'}${customerNumber}`;
  const lineCount = integerBetween(random, 1, 4);
  const skus = new Set<string>();
  while (skus.size < lineCount) {
    skus.add(trafficSku(integerBetween(random, 1, SKU_COUNT)));
  }
  const lines = [...skus].map((sku) => ({
    sku,
    qty: random() < 0.8 ? integerBetween(random, 1, 3) : integerBetween(random, 4, 20),
    unitPriceCents: integerBetween(random, 99, 49_999),
  }));
  const body = {
    customerId,
    customerEmail: `${customerId}@example.com`,
    currency: weighted(random, CURRENCIES),
    lines,
  };
  return {
    kind: 'createOrder',
    method: 'POST',
    path: '/orders',
    body,
    headers: { 'content-type': 'application/json', 'idempotency-key': `${keyPrefix}-${index}` },
    fields: { customerId, poison },
    busyKey: undefined,
    apply: (status, responseBody) => {
      const created = orderIn(responseBody);
      if (status === 201 && created !== undefined) {
        model.orders.set(created.orderId, {
          orderId: created.orderId,
          customerId,
          poison,
          status: created.status,
          version: created.version,
          deleted: false,
        });
      }
    },
  };
}

function planVote(random: () => number, model: TrafficModel): Planned {
  const pollIds = Object.keys(POLLS).filter((id) => id !== HOT_POLL_ID);
  const pollId = random() < HOT_POLL_SHARE ? HOT_POLL_ID : pick(random, pollIds);
  model.nextVoter += 1;
  const voterId = `voter-${model.nextVoter}`;
  const option = pick(random, POLLS[pollId] ?? []);
  return {
    kind: 'vote',
    method: 'PUT',
    path: `/polls/${pollId}/votes/${voterId}`,
    body: { option },
    headers: { 'content-type': 'application/json' },
    fields: { pollId, voterId, option },
    busyKey: voteKey(pollId, voterId),
    apply: (status) => {
      if (status === 200 || status === 201) model.setVote(pollId, voterId, option);
    },
  };
}

async function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleepTimer(ms, undefined, { signal });
  } catch {
    // Aborted: the caller checks the signal.
  }
}

/**
 * Sends seeded traffic to the API until `operations` were sent, `durationMs` passed or `signal` aborted (whichever
 * comes first), and resolves with what was sent and answered. Never rejects because of a response or a network
 * error: those are recorded (status 0 for no response) and the run goes on.
 */
export async function runTraffic(options: TrafficOptions): Promise<TrafficSummary> {
  validate(options);
  const fetchFn = options.fetch ?? globalThis.fetch;
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const rate = options.ratePerSecond ?? 10;
  const intervalMs = Number.isFinite(rate) ? 1000 / rate : 0;
  const mix = { ...DEFAULT_TRAFFIC_MIX, ...options.mix };
  const poisonRate = options.poisonRate ?? 0;
  const keyPrefix = options.idempotencyKeyPrefix ?? `traffic-${options.seed}`;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const recordLog = options.recordLog ?? true;
  const baseUrl = options.apiUrl.replace(/\/+$/, '');

  const random = mulberry32(options.seed);
  const model = new TrafficModel();
  const log: TrafficOperation[] = [];
  const byKind = Object.fromEntries(TRAFFIC_KINDS.map((k) => [k, 0])) as Record<TrafficKind, number>;
  const byStatus: Record<string, number> = {};
  let ok = 0;
  let rejected = 0;
  let errors = 0;
  let poisonOrders = 0;

  // Stops the waits of every worker at once, whatever ends the run.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();

  const startedAt = clock();
  const deadline =
    options.durationMs === undefined ? Number.POSITIVE_INFINITY : startedAt + options.durationMs;
  let stoppedBy: TrafficSummary['stoppedBy'] = 'signal';
  let next = 0;
  let scheduleBase = startedAt;
  let scheduleIndex = 0;

  /** Whether the run is over; records why. */
  const finished = (): boolean => {
    if (options.signal?.aborted) {
      stoppedBy = 'signal';
      return true;
    }
    if (options.operations !== undefined && next >= options.operations) {
      stoppedBy = 'operations';
      return true;
    }
    if (clock() >= deadline) {
      stoppedBy = 'duration';
      return true;
    }
    return false;
  };

  /** One HTTP request; status 0 and the error's message when no response came. */
  const request = async (
    method: string,
    path: string,
    headers: Readonly<Record<string, string>>,
    body: unknown,
  ): Promise<{ status: number; body: unknown; error: string | undefined }> => {
    try {
      const response = await fetchFn(`${baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const text = await response.text();
      try {
        return {
          status: response.status,
          body: text === '' ? undefined : JSON.parse(text),
          error: undefined,
        };
      } catch {
        return { status: response.status, body: text, error: undefined };
      }
    } catch (err) {
      return { status: 0, body: undefined, error: (err as Error).message };
    }
  };

  const send = async (index: number, planned: Planned): Promise<TrafficOperation> => {
    const sentAtMs = clock();
    const {
      status,
      body: responseBody,
      error,
    } = await request(planned.method, planned.path, planned.headers, planned.body);
    const latencyMs = clock() - sentAtMs;
    planned.apply(status, responseBody);
    if (status === 412 && planned.refresh !== undefined) {
      // A read, not a write: it is not an operation of the run and produces no stream record.
      const fresh = await request('GET', planned.refresh.path, {}, undefined);
      planned.refresh.apply(fresh.status, fresh.body);
    }
    const created = planned.kind === 'createOrder' ? orderIn(responseBody) : undefined;
    const version = orderIn(responseBody)?.version;
    return {
      index,
      kind: planned.kind,
      method: planned.method,
      path: planned.path,
      ...(planned.body === undefined ? {} : { requestBody: planned.body }),
      headers: planned.headers,
      status,
      ok: status >= 200 && status < 300,
      ...(error === undefined ? {} : { error }),
      ...planned.fields,
      ...(created === undefined ? {} : { orderId: created.orderId }),
      ...(version === undefined ? {} : { version }),
      sentAt: new Date(sentAtMs).toISOString(),
      latencyMs,
    };
  };

  const worker = async (): Promise<void> => {
    while (!finished()) {
      const index = next;
      next += 1;
      if (intervalMs > 0) {
        // Paced from a base time rather than by sleeping a fixed interval, so slow responses do not lower the rate.
        // A stall of over a second rebases the schedule: catching up would send a burst nobody asked for.
        const now = clock();
        if (now - (scheduleBase + scheduleIndex * intervalMs) > 1000) {
          scheduleBase = now;
          scheduleIndex = 0;
        }
        const due = scheduleBase + scheduleIndex * intervalMs;
        scheduleIndex += 1;
        if (due > now) await sleep(due - now, stop.signal);
        if (options.signal?.aborted || clock() >= deadline) {
          // The slot was claimed but nothing was sent: give it back so `operations` counts only real requests.
          next -= 1;
          finished();
          return;
        }
      }
      const planned = planNext(index, random, model, mix, poisonRate, keyPrefix);
      if (planned.busyKey !== undefined) model.busy.add(planned.busyKey);
      let operation: TrafficOperation;
      try {
        operation = await send(index, planned);
      } finally {
        if (planned.busyKey !== undefined) model.busy.delete(planned.busyKey);
      }
      byKind[operation.kind] += 1;
      byStatus[String(operation.status)] = (byStatus[String(operation.status)] ?? 0) + 1;
      if (operation.status === 0) errors += 1;
      else if (operation.ok) ok += 1;
      else rejected += 1;
      if (operation.poison === true && operation.ok) poisonOrders += 1;
      if (recordLog) log.push(operation);
      options.onOperation?.(operation);
    }
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 1 }, () => worker()));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
  if (recordLog) log.sort((a, b) => a.index - b.index);
  return {
    seed: options.seed,
    operations: ok + rejected + errors,
    ok,
    rejected,
    errors,
    byKind,
    byStatus,
    poisonOrders,
    durationMs: clock() - startedAt,
    stoppedBy,
    log,
    orders: Object.fromEntries(model.orders),
    votes: Object.fromEntries(
      [...model.votes].map(([pollId, voters]) => [pollId, Object.fromEntries(voters)] as const),
    ),
  };
}
