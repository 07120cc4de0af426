import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../../lambdas/shared/errors.js';
import type { StreamFunction } from '../../../sandbox/esm/types.js';
import {
  createFaultCounters,
  InjectedCrashError,
  InjectedThrottlingError,
  InjectedTimeoutError,
  seededFraction,
  seededSearchFaults,
  seededServiceFaults,
  withEffectFaults,
  withFunctionFaults,
} from '../../../verify/chaos/faults.js';
import type { EffectSink, ProbeEffect } from '../../../verify/chaos/probe-consumer.js';
import { createStreamRecordFactory, lambdaContext, streamEvent } from '../../support/stream-records.js';

function effect(overrides: Partial<ProbeEffect> = {}): ProbeEffect {
  return {
    orderId: 'o-1',
    version: 1,
    eventName: 'INSERT',
    eventId: 'ev-1',
    sequenceNumber: '400000000000000000001',
    at: '2024-05-01T12:00:00.000Z',
    ...overrides,
  };
}

function recordingSink(): EffectSink & { readonly effects: ProbeEffect[] } {
  const effects: ProbeEffect[] = [];
  return {
    effects,
    append: async (e) => {
      effects.push(e);
    },
  };
}

function batchOf(size: number): DynamoDBStreamEvent {
  const records = createStreamRecordFactory();
  return streamEvent(
    ...Array.from({ length: size }, (_, i) =>
      records.insert({ orderId: `o-${i}`, customerId: 'c-1', version: 1 }),
    ),
  );
}

/** A function that records the events it was invoked with and answers with no failures. */
function recordingFunction(): StreamFunction & { readonly events: DynamoDBStreamEvent[] } {
  const events: DynamoDBStreamEvent[] = [];
  const fn = async (event: DynamoDBStreamEvent, _context: Context) => {
    events.push(event);
    return { batchItemFailures: [] };
  };
  return Object.assign(fn, { events });
}

describe('seededFraction', () => {
  it('gives the same number for the same seed and parts, another for other ones', () => {
    expect(seededFraction(1, 'a', 2)).toBe(seededFraction(1, 'a', 2));
    expect(seededFraction(1, 'a', 2)).not.toBe(seededFraction(2, 'a', 2));
    expect(seededFraction(1, 'a', 2)).not.toBe(seededFraction(1, 'a', 3));
  });

  it('spreads evenly over [0, 1)', () => {
    // Prepare / Act
    const draws = Array.from({ length: 20_000 }, (_, i) => seededFraction(7, 'draw', i));

    // Assess: deterministic for the seed, so these bounds cannot flake.
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const underFivePercent = draws.filter((d) => d < 0.05).length / draws.length;
    expect(underFivePercent).toBeGreaterThan(0.04);
    expect(underFivePercent).toBeLessThan(0.06);
  });
});

describe('withEffectFaults', () => {
  it.each([
    [0, 0],
    [1, 3],
  ])('at rate %d fails %d of 3 calls', async (rate, failures) => {
    // Prepare
    const sink = recordingSink();
    const counters = createFaultCounters();
    const faulty = withEffectFaults(sink, { seed: 1, rate, counters });

    // Act
    const results = await Promise.allSettled(
      [1, 2, 3].map((n) => faulty.append(effect({ eventId: `ev-${n}` }))),
    );

    // Assess
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(failures);
    expect(sink.effects).toHaveLength(3 - failures);
    expect(counters.transientErrors).toBe(failures);
  });

  it('throws an error the runtime classifies as transient', async () => {
    // Prepare
    const faulty = withEffectFaults(recordingSink(), { seed: 1, rate: 1, counters: createFaultCounters() });

    // Act
    const error = await faulty.append(effect()).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InjectedThrottlingError);
    expect(classifyError(error)).toBe('transient');
  });

  it('decides each attempt of a record anew, the same way for the same seed', async () => {
    // Prepare: 40 attempts of one record, twice with fresh wrappers.
    const outcomes = async (): Promise<boolean[]> => {
      const faulty = withEffectFaults(recordingSink(), {
        seed: 3,
        rate: 0.5,
        counters: createFaultCounters(),
      });
      const results: boolean[] = [];
      for (let attempt = 0; attempt < 40; attempt += 1) {
        results.push(
          await faulty.append(effect()).then(
            () => true,
            () => false,
          ),
        );
      }
      return results;
    };

    // Act
    const first = await outcomes();
    const second = await outcomes();

    // Assess
    expect(second).toEqual(first);
    expect(first).toContain(true);
    expect(first).toContain(false);
  });
});

describe('withFunctionFaults', () => {
  it('passes invocations through when no fault is drawn', async () => {
    // Prepare
    const fn = recordingFunction();
    const counters = createFaultCounters();
    const wrapped = withFunctionFaults(fn, {
      seed: 1,
      consumerName: 'probe',
      rates: { crash: 0, timeout: 0 },
      counters,
    });
    const event = batchOf(3);

    // Act
    const response = await wrapped(event, lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fn.events).toEqual([event]);
    expect(counters).toEqual({
      transientErrors: 0,
      crashes: 0,
      timeouts: 0,
      serviceCallFaults: 0,
      serviceEntryFaults: 0,
      s3SlowDowns: 0,
      s3LostResponses: 0,
      searchRequestFaults: 0,
      searchItemFaults: 0,
    });
  });

  it('crashes after applying the whole batch', async () => {
    // Prepare
    const fn = recordingFunction();
    const counters = createFaultCounters();
    const wrapped = withFunctionFaults(fn, {
      seed: 1,
      consumerName: 'probe',
      rates: { crash: 1, timeout: 0 },
      counters,
    });
    const event = batchOf(4);

    // Act
    const error = await wrapped(event, lambdaContext()).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InjectedCrashError);
    expect(fn.events).toEqual([event]);
    expect(counters.crashes).toBe(1);
  });

  it('applies a prefix, then outlives the deadline', async () => {
    // Prepare
    const fn = recordingFunction();
    const counters = createFaultCounters();
    const slept: number[] = [];
    const wrapped = withFunctionFaults(fn, {
      seed: 2,
      consumerName: 'probe',
      rates: { crash: 0, timeout: 1 },
      counters,
      overrunMs: 100,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    const event = batchOf(10);

    // Act
    const error = await wrapped(event, lambdaContext({ getRemainingTimeInMillis: () => 1_500 })).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(InjectedTimeoutError);
    expect(slept).toEqual([1_600]);
    expect(counters.timeouts).toBe(1);
    const applied = fn.events.flatMap((e) => e.Records);
    expect(event.Records.slice(0, applied.length)).toEqual(applied);
    expect(applied.length).toBeLessThanOrEqual(10);
  });

  it('draws each invocation of the same batch anew', async () => {
    // Prepare: a batch invoked 30 times with a 50% crash rate.
    const wrapped = withFunctionFaults(recordingFunction(), {
      seed: 5,
      consumerName: 'probe',
      rates: { crash: 0.5, timeout: 0 },
      counters: createFaultCounters(),
    });
    const event = batchOf(2);

    // Act
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      outcomes.push(
        await wrapped(event, lambdaContext()).then(
          () => 'ok',
          () => 'crash',
        ),
      );
    }

    // Assess
    expect(outcomes).toContain('ok');
    expect(outcomes).toContain('crash');
  });
});

describe('seededServiceFaults', () => {
  const target = { service: 'sns' as const, operation: 'PublishBatch', key: 'k-1' };

  it('never fails at rate 0 and always at rate 1, counting calls and entries apart', () => {
    // Prepare
    const counters = createFaultCounters();
    const never = seededServiceFaults({ seed: 1, rate: 0, counters });
    const always = seededServiceFaults({ seed: 1, rate: 1, counters });

    // Act
    const decisions = [
      never.failCall(target),
      never.failEntry(target),
      always.failCall(target),
      always.failEntry(target),
    ];

    // Assess
    expect(decisions).toEqual([false, false, true, true]);
    expect(counters).toMatchObject({ serviceCallFaults: 1, serviceEntryFaults: 1 });
  });

  it.each([
    ['sns', { serviceCallFaults: 1, serviceEntryFaults: 1, s3SlowDowns: 0, s3LostResponses: 0 }],
    ['ses', { serviceCallFaults: 1, serviceEntryFaults: 1, s3SlowDowns: 0, s3LostResponses: 0 }],
    ['sqs', { serviceCallFaults: 1, serviceEntryFaults: 1, s3SlowDowns: 0, s3LostResponses: 0 }],
    // For S3 a failed call is a 503 before storing, a failed entry an object stored whose answer is lost.
    ['s3', { serviceCallFaults: 0, serviceEntryFaults: 0, s3SlowDowns: 1, s3LostResponses: 1 }],
  ] as const)('counts the faults of %s under their own names', (service, expected) => {
    // Prepare
    const counters = createFaultCounters();
    const always = seededServiceFaults({ seed: 1, rate: 1, counters });

    // Act
    always.failCall({ service, operation: 'Op', key: 'k-1' });
    always.failEntry({ service, operation: 'Op', key: 'k-1' });

    // Assess
    expect(counters).toMatchObject(expected);
  });

  it('decides the same for the same seed, content and attempt, and anew for each attempt', () => {
    // Prepare
    const draws = (seed: number): boolean[] => {
      const faults = seededServiceFaults({ seed, rate: 0.5, counters: createFaultCounters() });
      return Array.from({ length: 40 }, () => faults.failEntry(target));
    };

    // Act
    const first = draws(3);
    const again = draws(3);
    const other = draws(4);

    // Assess: a failed attempt does not doom the next, and another seed decides otherwise.
    expect(again).toEqual(first);
    expect(first).toContain(true);
    expect(first).toContain(false);
    expect(other).not.toEqual(first);
  });

  it('fails about the rate of attempts', () => {
    // Prepare
    const faults = seededServiceFaults({ seed: 9, rate: 0.05, counters: createFaultCounters() });

    // Act
    const failed = Array.from({ length: 4_000 }, (_unused, i) =>
      faults.failCall({ ...target, key: `k-${i}` }),
    ).filter(Boolean).length;

    // Assess
    expect(failed).toBeGreaterThan(120);
    expect(failed).toBeLessThan(280);
  });
});

describe('seededSearchFaults', () => {
  const bulk = { route: 'POST /{index}/_bulk', key: 'k-1' };
  const item = { index: 'orders', id: 'o-1', action: 'index' as const, key: 'k-1' };

  it('fails bulk requests and items at rate 1, never other routes, and counts them apart', () => {
    // Prepare
    const counters = createFaultCounters();
    const faults = seededSearchFaults({ seed: 1, rate: 1, counters });

    // Act
    const decisions = [
      faults.failRequest(bulk),
      faults.failRequest({ route: 'PUT /{index}', key: 'k-2' }),
      faults.failRequest({ route: 'POST /{index}/_search', key: 'k-3' }),
      faults.rejectBulkItem(item),
    ];

    // Assess
    expect(decisions).toEqual([true, false, false, true]);
    expect(counters).toMatchObject({ searchRequestFaults: 1, searchItemFaults: 1 });
  });

  it('decides the same for the same seed, content and attempt, and anew for each attempt', () => {
    // Prepare
    const draws = (seed: number): boolean[] => {
      const faults = seededSearchFaults({ seed, rate: 0.5, counters: createFaultCounters() });
      return Array.from({ length: 40 }, () => faults.rejectBulkItem(item));
    };

    // Act
    const first = draws(3);
    const again = draws(3);

    // Assess
    expect(again).toEqual(first);
    expect(first).toContain(true);
    expect(first).toContain(false);
  });

  it('never fails at rate 0', () => {
    // Prepare
    const faults = seededSearchFaults({ seed: 1, rate: 0, counters: createFaultCounters() });

    // Act
    const decisions = [faults.failRequest(bulk), faults.rejectBulkItem(item)];

    // Assess
    expect(decisions).toEqual([false, false]);
  });
});
