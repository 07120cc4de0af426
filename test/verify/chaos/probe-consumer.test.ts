import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import type { FullDeadLetter } from '../../../lambdas/shared/stream/dead-letter.js';
import type { StreamLogger } from '../../../lambdas/shared/stream/stream-handler.js';
import { readJsonLines } from '../../../sandbox/adapters/json-lines-file.js';
import type { LocalAdapters } from '../../../sandbox/consumer-factory.js';
import { ConsumerWiringError } from '../../../sandbox/consumer-factory.js';
import { synthesizeApp } from '../../../sandbox/synth.js';
import { InjectedThrottlingError } from '../../../verify/chaos/faults.js';
import {
  addProbeConsumer,
  createProbeFunction,
  type EffectSink,
  isPoisonCustomer,
  PROBE_CONSUMER_NAME,
  type ProbeEffect,
  probeConsumerFactory,
  probeEffectsPath,
} from '../../../verify/chaos/probe-consumer.js';
import {
  createStreamRecordFactory,
  lambdaContext,
  RecordingDeadLetterQueue,
  RecordingMetrics,
  streamEvent,
} from '../../support/stream-records.js';

const NOW = Date.parse('2024-05-01T12:00:05.000Z');

const silentLogger: StreamLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  addContext: () => undefined,
};

function orderImage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', version: 1, ...overrides };
}

/** An effect sink that records, and fails the calls for the order ids in `failing`. */
function recordingSink(failing: readonly string[] = []): EffectSink & { readonly effects: ProbeEffect[] } {
  const effects: ProbeEffect[] = [];
  return {
    effects,
    append: async (effect) => {
      if (failing.includes(effect.orderId)) throw new InjectedThrottlingError('test');
      effects.push(effect);
    },
  };
}

function probe(effects: EffectSink, deadLetterQueue = new RecordingDeadLetterQueue()) {
  return createProbeFunction({
    consumerName: PROBE_CONSUMER_NAME,
    deadLetterQueue,
    effects,
    clock: () => NOW,
    logger: silentLogger,
    metrics: new RecordingMetrics(),
  });
}

describe('the probe consumer', () => {
  it('applies one effect per change, with the version and status of the image that has one', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const placed = orderImage();
    const paid = orderImage({ status: 'PAID', version: 2 });
    const batch = [records.insert(placed), records.modify(placed, paid), records.remove(paid)];
    const sink = recordingSink();

    // Act
    const response = await probe(sink)(streamEvent(...batch), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sink.effects).toEqual(
      batch.map((record, i) => ({
        orderId: 'o-1',
        version: [1, 2, 2][i],
        eventName: record.eventName,
        eventId: record.eventID,
        sequenceNumber: record.dynamodb?.SequenceNumber,
        status: ['PLACED', 'PAID', 'PAID'][i],
        ...(record.eventName === 'MODIFY' ? { previousStatus: 'PLACED' } : {}),
        at: '2024-05-01T12:00:05.000Z',
      })),
    );
  });

  it('sends every change of a poison order to the DLQ with its record, and applies nothing', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const poison = orderImage({ orderId: 'o-p', customerId: 'poison-7' });
    const insert = records.insert(poison);
    const dlq = new RecordingDeadLetterQueue();
    const sink = recordingSink();

    // Act
    const response = await probe(sink, dlq)(streamEvent(insert), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sink.effects).toEqual([]);
    expect(dlq.letters).toHaveLength(1);
    expect(dlq.letters[0]).toMatchObject({ truncated: false, errorName: 'PermanentError', record: insert });
    expect((dlq.letters[0] as FullDeadLetter).reason).toContain('Poison order o-p');
  });

  it('reports a transiently failed record and holds back the later changes of its order only', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const failing = orderImage({ orderId: 'o-fail' });
    const other = orderImage({ orderId: 'o-ok' });
    const batch: DynamoDBRecord[] = [
      records.insert(failing),
      records.insert(other),
      records.modify(failing, { ...failing, version: 2 }),
    ];
    const sink = recordingSink(['o-fail']);

    // Act
    const response = await probe(sink)(streamEvent(...batch), lambdaContext());

    // Assess
    expect(response?.batchItemFailures).toEqual([
      { itemIdentifier: batch[0]!.dynamodb!.SequenceNumber },
      { itemIdentifier: batch[2]!.dynamodb!.SequenceNumber },
    ]);
    expect(sink.effects.map((e) => e.orderId)).toEqual(['o-ok']);
  });

  it.each([
    [0, 0],
    [19, 0],
    [20, 1],
  ])('with %d ms left before the deadline applies %d effects', async (remainingMs, applied) => {
    // Prepare
    const records = createStreamRecordFactory();
    const sink = recordingSink();

    // Act
    const response = await probe(sink)(
      streamEvent(records.insert(orderImage())),
      lambdaContext({ getRemainingTimeInMillis: () => remainingMs }),
    );

    // Assess
    expect(sink.effects).toHaveLength(applied);
    expect(response?.batchItemFailures).toHaveLength(1 - applied);
  });

  it.each([
    ['poison-1', true],
    ['poison-', true],
    ['c-poison-1', false],
    [undefined, false],
  ])('isPoisonCustomer(%j) is %s', (customerId, expected) => {
    expect(isPoisonCustomer(customerId)).toBe(expected);
  });
});

describe('probeConsumerFactory', () => {
  let outputDir: string | undefined;
  afterEach(async () => {
    if (outputDir !== undefined) await rm(outputDir, { recursive: true, force: true });
  });

  function adapters(dir: string, dlq: RecordingDeadLetterQueue): LocalAdapters {
    return {
      outputDir: dir,
      deadLetterQueue: () => dlq,
      logger: () => silentLogger,
      metrics: () => new RecordingMetrics(),
      clock: () => NOW,
    } as unknown as LocalAdapters;
  }

  it('wires the probe from its environment and writes effects to the output directory', async () => {
    // Prepare
    outputDir = await mkdtemp(join(tmpdir(), 'probe-'));
    const env = {
      CONSUMER_NAME: PROBE_CONSUMER_NAME,
      DEAD_LETTER_QUEUE_URL: 'https://sqs.local/000/chaos-probe-dlq',
    };
    const fn = probeConsumerFactory()(env, adapters(outputDir, new RecordingDeadLetterQueue()));
    const records = createStreamRecordFactory();

    // Act
    await fn(streamEvent(records.insert(orderImage())), lambdaContext());

    // Assess
    expect(await readJsonLines(probeEffectsPath(outputDir))).toEqual([
      expect.objectContaining({ orderId: 'o-1', version: 1, eventName: 'INSERT' }),
    ]);
  });

  it.each([['CONSUMER_NAME'], ['DEAD_LETTER_QUEUE_URL']])('refuses an environment without %s', (name) => {
    // Prepare
    const env: Record<string, string> = { CONSUMER_NAME: 'chaos-probe', DEAD_LETTER_QUEUE_URL: 'x' };
    delete env[name];

    // Act / Assess
    expect(() =>
      probeConsumerFactory()(env, adapters('/nonexistent', new RecordingDeadLetterQueue())),
    ).toThrow(ConsumerWiringError);
  });
});

describe('addProbeConsumer', () => {
  it("wires the probe on the Orders stream with the construct's mapping settings", () => {
    // Act
    const app = synthesizeApp({}, { extend: addProbeConsumer });

    // Assess
    const mappings = app.resourcesOfType('AWS::Lambda::EventSourceMapping');
    const functions = app.resourcesOfType('AWS::Lambda::Function');
    const probeFunction = functions.find(
      (f) =>
        (f.resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
          ?.CONSUMER_NAME === PROBE_CONSUMER_NAME,
    );
    expect(probeFunction).toBeDefined();
    const mapping = mappings.find((m) =>
      JSON.stringify(m.resource.Properties?.FunctionName).includes(probeFunction!.logicalId),
    );
    expect(mapping?.resource.Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 3600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(JSON.stringify(mapping?.resource.Properties?.EventSourceArn)).toContain('Orders');
  });
});
