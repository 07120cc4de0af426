import { describe, expect, it } from 'vitest';
import { ORDER_TRANSITIONS, type OrderStatus } from '../../lambdas/shared/orders/order.js';
import {
  HOT_POLL_ID,
  mulberry32,
  POISON_CUSTOMER_PREFIX,
  runTraffic,
  type TrafficOperation,
  type TrafficOptions,
  TrafficOptionsError,
} from '../../sandbox/traffic.js';

interface SentRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

interface FakeOrder {
  orderId: string;
  status: OrderStatus;
  version: number;
  customerId: string;
  lines: Array<{ sku: string; qty: number; unitPriceCents: number }>;
}

/**
 * An in-memory stand-in for the orders API with its rules (transitions, If-Match, idempotency keys, votes), so that
 * the generator's behaviour is checked without a server or DynamoDB.
 */
function fakeOrdersApi(options: { failEvery?: number; backorderEvery?: number } = {}): {
  fetch: typeof fetch;
  requests: SentRequest[];
  orders: Map<string, FakeOrder>;
  refusedTransitions: string[];
} {
  const requests: SentRequest[] = [];
  const orders = new Map<string, FakeOrder>();
  const byKey = new Map<string, FakeOrder>();
  const votes = new Map<string, string>();
  const refusedTransitions: string[] = [];
  let nextId = 0;
  const json = (status: number, body?: unknown): Response =>
    new Response(body === undefined ? null : JSON.stringify(body), { status });

  const fetchFake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body =
      typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    requests.push({ method, path: url.pathname, headers, body });
    if (options.failEvery !== undefined && requests.length % options.failEvery === 0) {
      throw new TypeError('fetch failed');
    }
    const segments = url.pathname.split('/').filter(Boolean);
    const ifMatch = headers['if-match']?.replaceAll('"', '');
    if (method === 'POST' && url.pathname === '/orders') {
      const key = headers['idempotency-key']!;
      const existing = byKey.get(key);
      if (existing !== undefined) return json(201, existing);
      nextId += 1;
      const order: FakeOrder = {
        orderId: `00000000-0000-4000-8000-${String(nextId).padStart(12, '0')}`,
        status: 'PLACED',
        version: 1,
        customerId: String(body?.customerId),
        lines: body?.lines as FakeOrder['lines'],
      };
      orders.set(order.orderId, order);
      byKey.set(key, order);
      const created = json(201, order);
      if (options.backorderEvery !== undefined && nextId % options.backorderEvery === 0) {
        // Another writer (the fan-out, short of stock) moves the order on right after the API answered.
        order.status = 'BACKORDERED';
        order.version += 1;
      }
      return created;
    }
    if (segments[0] === 'orders' && segments.length === 2) {
      const order = orders.get(segments[1]!);
      if (order === undefined) return json(404, { error: 'not found', field: null });
      if (method === 'GET') return json(200, order);
      if (ifMatch !== undefined && Number(ifMatch) !== order.version)
        return json(412, { error: 'v', field: null });
      if (method === 'DELETE') {
        orders.delete(order.orderId);
        return json(204);
      }
      const to = body?.status as OrderStatus;
      if (!ORDER_TRANSITIONS[order.status].includes(to)) {
        refusedTransitions.push(`${order.status}->${to}`);
        return json(409, { error: 'transition', field: 'status' });
      }
      order.status = to;
      order.version += 1;
      return json(200, order);
    }
    if (segments[0] === 'polls' && segments[2] === 'votes') {
      const key = `${segments[1]}/${segments[3]}`;
      if (method === 'DELETE') {
        return json(votes.delete(key) ? 204 : 404);
      }
      const existed = votes.has(key);
      votes.set(key, String(body?.option));
      return json(existed ? 200 : 201, { option: body?.option });
    }
    return json(404, { error: 'no route', field: null });
  };
  return { fetch: fetchFake as typeof fetch, requests, orders, refusedTransitions };
}

function trafficOptions(overrides: Partial<TrafficOptions> = {}): TrafficOptions {
  return {
    apiUrl: 'http://api.test',
    seed: 7,
    operations: 300,
    ratePerSecond: Number.POSITIVE_INFINITY,
    fetch: fakeOrdersApi().fetch,
    ...overrides,
  };
}

/** A mix of creates only: kinds left out of a mix keep their default weight. */
const ONLY_CREATES = {
  createOrder: 1,
  advanceOrder: 0,
  deleteOrder: 0,
  vote: 0,
  changeVote: 0,
  retractVote: 0,
};

const requestShape = ({ method, path, body, headers }: SentRequest): unknown => ({
  method,
  path,
  body,
  headers,
});

describe('mulberry32', () => {
  it('is deterministic per seed and stays in [0, 1)', () => {
    // Prepare
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);

    // Act
    const fromA = Array.from({ length: 1000 }, a);
    const fromB = Array.from({ length: 1000 }, b);
    const fromC = Array.from({ length: 1000 }, c);

    // Assess
    expect(fromA).toEqual(fromB);
    expect(fromA).not.toEqual(fromC);
    expect(fromA.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(fromA).size).toBeGreaterThan(990);
  });
});

describe('runTraffic', () => {
  it('sends the same requests for the same seed, and other requests for another seed', async () => {
    // Prepare
    const first = fakeOrdersApi();
    const again = fakeOrdersApi();
    const other = fakeOrdersApi();

    // Act
    await runTraffic(trafficOptions({ seed: 11, fetch: first.fetch }));
    await runTraffic(trafficOptions({ seed: 11, fetch: again.fetch }));
    await runTraffic(trafficOptions({ seed: 12, fetch: other.fetch }));

    // Assess
    expect(again.requests.map(requestShape)).toEqual(first.requests.map(requestShape));
    expect(other.requests.map(requestShape)).not.toEqual(first.requests.map(requestShape));
  });

  it('only asks for allowed transitions, with If-Match of the current version, and covers every kind', async () => {
    // Prepare
    const api = fakeOrdersApi();

    // Act
    const summary = await runTraffic(trafficOptions({ operations: 1500, fetch: api.fetch }));

    // Assess
    expect(api.refusedTransitions).toEqual([]);
    expect(summary.byStatus['412']).toBeUndefined();
    expect(summary.rejected).toBe(0);
    expect(summary.ok).toBe(1500);
    expect(Object.values(summary.byKind).every((count) => count > 0)).toBe(true);
    const asked = new Set(
      api.requests.filter((r) => r.method === 'PATCH').map((r) => (r.body as { status: string }).status),
    );
    expect([...asked].sort()).toEqual(['BACKORDERED', 'CANCELLED', 'DELIVERED', 'PAID', 'PLACED', 'SHIPPED']);
  });

  it('reads an order again after a 412 and goes on from its current status and version', async () => {
    // Prepare: every third order is back-ordered behind the generator's back.
    const api = fakeOrdersApi({ backorderEvery: 3 });

    // Act
    const summary = await runTraffic(trafficOptions({ operations: 600, fetch: api.fetch }));

    // Assess: each such order costs at most one 412 and one read; then it is moved on from BACKORDERED.
    const refused = summary.log.filter((operation) => operation.status === 412);
    const reads = api.requests.filter((request) => request.method === 'GET');
    expect(refused.length).toBeGreaterThan(0);
    expect(reads).toHaveLength(refused.length);
    expect(new Set(refused.map((operation) => operation.orderId)).size).toBe(refused.length);
    expect(api.refusedTransitions).toEqual([]);
    const replaced = api.requests.filter(
      (request) => request.method === 'PATCH' && (request.body as { status: string }).status === 'PLACED',
    );
    expect(replaced.length).toBeGreaterThan(0);
    expect(summary.operations).toBe(600);
  });

  it('places orders of 1 to 4 lines with distinct SKUs and valid amounts', async () => {
    // Prepare
    const api = fakeOrdersApi();

    // Act
    await runTraffic(trafficOptions({ operations: 400, fetch: api.fetch, mix: ONLY_CREATES }));

    // Assess
    const creates = api.requests.filter((r) => r.method === 'POST');
    expect(creates).toHaveLength(400);
    const lineCounts = new Set<number>();
    for (const { body } of creates) {
      const { lines, customerEmail, currency } = body as {
        lines: Array<{ sku: string; qty: number; unitPriceCents: number }>;
        customerEmail: string;
        currency: string;
      };
      lineCounts.add(lines.length);
      expect(new Set(lines.map((l) => l.sku)).size).toBe(lines.length);
      expect(lines.every((l) => Number.isInteger(l.qty) && l.qty >= 1 && l.unitPriceCents >= 0)).toBe(true);
      expect(customerEmail).toMatch(/^[a-z0-9-]+@example\.com$/);
      expect(['EUR', 'USD', 'GBP']).toContain(currency);
    }
    expect([...lineCounts].sort()).toEqual([1, 2, 3, 4]);
    expect(new Set(creates.map((r) => r.headers['idempotency-key'])).size).toBe(400);
  });

  it.each([
    [0, 0],
    [1, 200],
  ])('with poisonRate %d makes %d of 200 orders poison', async (poisonRate, expected) => {
    // Prepare
    const api = fakeOrdersApi();

    // Act
    const summary = await runTraffic(
      trafficOptions({ operations: 200, poisonRate, fetch: api.fetch, mix: ONLY_CREATES }),
    );

    // Assess
    const poison = api.requests.filter((r) =>
      String((r.body as { customerId: string }).customerId).startsWith(POISON_CUSTOMER_PREFIX),
    );
    expect(poison).toHaveLength(expected);
    expect(summary.poisonOrders).toBe(expected);
    expect(Object.values(summary.orders).filter((o) => o.poison)).toHaveLength(expected);
  });

  it('makes a share of orders poison close to poisonRate, and says which', async () => {
    // Prepare
    const seen: TrafficOperation[] = [];

    // Act
    const summary = await runTraffic(
      trafficOptions({
        operations: 1000,
        poisonRate: 0.1,
        mix: ONLY_CREATES,
        onOperation: (o) => seen.push(o),
      }),
    );

    // Assess
    expect(summary.poisonOrders).toBeGreaterThan(60);
    expect(summary.poisonOrders).toBeLessThan(140);
    const poisoned = seen.filter((o) => o.poison === true);
    expect(
      poisoned.every((o) => o.customerId?.startsWith(POISON_CUSTOMER_PREFIX) && o.orderId !== undefined),
    ).toBe(true);
  });

  it('puts most votes on the hot poll and changes some', async () => {
    // Prepare
    const api = fakeOrdersApi();

    // Act
    const summary = await runTraffic(
      trafficOptions({
        operations: 600,
        fetch: api.fetch,
        mix: { createOrder: 0, advanceOrder: 0, deleteOrder: 0 },
      }),
    );

    // Assess
    const newVotes = summary.log.filter((o) => o.kind === 'vote');
    const hot = newVotes.filter((o) => o.pollId === HOT_POLL_ID);
    expect(hot.length / newVotes.length).toBeGreaterThan(0.5);
    expect(summary.byKind.changeVote).toBeGreaterThan(0);
    const changed = summary.log.filter((o) => o.kind === 'changeVote');
    expect(changed.every((o) => o.status === 200)).toBe(true);
    const cast = Object.values(summary.votes).reduce((n, voters) => n + Object.keys(voters).length, 0);
    expect(cast).toBe(summary.byKind.vote - summary.byKind.retractVote);
  });

  it('records every operation with its response status, in order', async () => {
    // Prepare
    const seen: TrafficOperation[] = [];

    // Act
    const summary = await runTraffic(trafficOptions({ operations: 50, onOperation: (o) => seen.push(o) }));

    // Assess
    expect(summary.operations).toBe(50);
    expect(summary.stoppedBy).toBe('operations');
    expect(summary.log).toEqual(seen);
    expect(summary.log.map((o) => o.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(summary.log.every((o) => o.ok && o.status >= 200 && o.status < 300)).toBe(true);
    expect(summary.log[0]).toMatchObject({
      kind: 'createOrder',
      method: 'POST',
      path: '/orders',
      status: 201,
    });
  });

  it('records a request without an answer as status 0 and goes on', async () => {
    // Prepare
    const api = fakeOrdersApi({ failEvery: 5 });

    // Act
    const summary = await runTraffic(trafficOptions({ operations: 100, fetch: api.fetch }));

    // Assess
    expect(summary.operations).toBe(100);
    expect(summary.errors).toBe(20);
    expect(summary.byStatus['0']).toBe(20);
    expect(summary.log.filter((o) => o.status === 0).every((o) => o.error === 'fetch failed')).toBe(true);
  });

  it('stops starting operations when the signal aborts', async () => {
    // Prepare
    const controller = new AbortController();

    // Act
    const summary = await runTraffic(
      trafficOptions({
        operations: undefined,
        signal: controller.signal,
        onOperation: (o) => {
          if (o.index === 9) controller.abort();
        },
      }),
    );

    // Assess
    expect(summary.operations).toBe(10);
    expect(summary.stoppedBy).toBe('signal');
  });

  it('paces operations at ratePerSecond until durationMs has passed', async () => {
    // Prepare: a fake clock that only moves when the generator sleeps, so the count depends on the schedule alone.
    let now = 1_000_000;
    const sleeps: number[] = [];

    // Act
    const summary = await runTraffic(
      trafficOptions({
        operations: undefined,
        durationMs: 2000,
        ratePerSecond: 5,
        clock: () => now,
        sleep: async (ms) => {
          sleeps.push(ms);
          now += ms;
        },
      }),
    );

    // Assess
    expect(summary.operations).toBe(10);
    expect(summary.stoppedBy).toBe('duration');
    expect(sleeps.every((ms) => ms === 200)).toBe(true);
  });

  it('does not send the operation whose slot comes after the end', async () => {
    // Prepare: the first slot is at once, the second would be after the 100 ms duration.
    let now = 0;

    // Act
    const summary = await runTraffic(
      trafficOptions({
        operations: undefined,
        durationMs: 100,
        ratePerSecond: 1,
        clock: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      }),
    );

    // Assess
    expect(summary.operations).toBe(1);
  });

  it('keeps no log when recordLog is false but still counts', async () => {
    // Act
    const summary = await runTraffic(trafficOptions({ operations: 20, recordLog: false }));

    // Assess
    expect(summary.log).toEqual([]);
    expect(summary.operations).toBe(20);
  });

  it('with concurrency sends every operation once and never two at a time on one order', async () => {
    // Prepare
    const api = fakeOrdersApi();

    // Act
    const summary = await runTraffic(trafficOptions({ operations: 300, concurrency: 4, fetch: api.fetch }));

    // Assess
    expect(summary.operations).toBe(300);
    expect(api.requests).toHaveLength(300);
    expect(new Set(summary.log.map((o) => o.index)).size).toBe(300);
    expect(api.refusedTransitions).toEqual([]);
  });

  it.each([
    [{ operations: undefined }, /One of operations, durationMs or signal/],
    [{ ratePerSecond: 0 }, /ratePerSecond/],
    [{ poisonRate: 1.5 }, /poisonRate/],
    [{ seed: 1.5 }, /seed/],
    [{ operations: -1 }, /operations/],
    [{ concurrency: 0 }, /concurrency/],
    [{ durationMs: Number.NaN }, /durationMs/],
    [{ mix: { createOrder: -1 } }, /mix\.createOrder/],
    [{ mix: { teleport: 1 } as never }, /mix\.teleport/],
    [{ mix: { createOrder: 0, vote: 0 } }, /createOrder or vote/],
  ] as Array<[Partial<TrafficOptions>, RegExp]>)(
    'refuses %j naming the option',
    async (overrides, message) => {
      // Act
      const run = runTraffic(trafficOptions(overrides));

      // Assess
      await expect(run).rejects.toThrow(TrafficOptionsError);
      await expect(runTraffic(trafficOptions(overrides))).rejects.toThrow(message);
    },
  );
});
