import {
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { BatchOutcomes } from '../../../lambdas/shared/stream/stream-handler.js';
import {
  createVoteAggregatorHandler,
  createVoteBatchHandler,
  MAX_APPLY_ATTEMPTS,
  VOTE_AGGREGATOR_METRICS,
} from '../../../lambdas/vote-aggregator/aggregator.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../../lambdas/vote-aggregator/names.js';
import type { ApplyResult, PollDelta, PollResultsStore } from '../../../lambdas/vote-aggregator/ports.js';
import {
  lambdaContext,
  RecordingDeadLetterQueue,
  RecordingMetrics,
  streamEvent,
} from '../../support/stream-records.js';
import {
  changeRecords,
  InMemoryPollResultsStore,
  recordingLogger,
  sequenceOf,
  streamContext,
  voteRecords,
} from './records.js';

function kinds(outcomes: BatchOutcomes, records: readonly DynamoDBRecord[]): string[] {
  return records.map((record) => outcomes.get(record.dynamodb?.SequenceNumber ?? '')?.kind ?? 'missing');
}

/** A stream record of the Votes table without an option: malformed for the aggregator, fine for the runtime. */
function withoutOption(record: DynamoDBRecord): DynamoDBRecord {
  const { option: _option, ...newImage } = record.dynamodb?.NewImage ?? {};
  return { ...record, dynamodb: { ...record.dynamodb, NewImage: newImage } };
}

describe('createVoteBatchHandler', () => {
  it('writes one coalesced update per poll and reports every record ok', async () => {
    // Prepare
    const store = new InMemoryPollResultsStore();
    const v = voteRecords();
    const batch = [
      v.cast('p-1', 'v-1', 'red'),
      v.cast('p-2', 'v-1', 'x'),
      v.cast('p-1', 'v-2', 'red'),
      v.change('p-1', 'v-1', 'red', 'blue'),
      v.retract('p-2', 'v-1', 'x'),
      v.cast('p-1', 'v-3', 'green'),
    ];

    // Act
    const outcomes = await createVoteBatchHandler({ store })(changeRecords(batch), streamContext());

    // Assess
    expect(kinds(outcomes, batch)).toStrictEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(store.applies.map(({ delta, result }) => [delta.pollId, result])).toStrictEqual([
      ['p-1', 'applied'],
      ['p-2', 'applied'],
    ]);
    expect(store.polls.get('p-1')).toMatchObject({
      counts: { red: 1, blue: 1, green: 1 },
      total: 3,
      records: 4,
      lastSequence: sequenceOf(batch[5] as DynamoDBRecord),
    });
    expect(store.polls.get('p-2')).toMatchObject({ counts: {}, total: 0, records: 2 });
  });

  describe.each([
    {
      name: 'throttling',
      error: new ProvisionedThroughputExceededException({ message: 'slow', $metadata: {} }),
      kind: 'transient',
    },
    {
      name: 'a 5xx',
      error: new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } }),
      kind: 'transient',
    },
    { name: 'a bug (plain Error)', error: new Error('bug'), kind: 'transient' },
    {
      name: 'a ValidationException (the same request is refused on every retry)',
      error: new DynamoDBServiceException({
        name: 'ValidationException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Item size has exceeded the maximum allowed size',
      }),
      kind: 'permanent',
    },
  ])('when one poll’s update fails with $name', ({ error, kind }) => {
    it(`fails only that poll's records (${kind}); the other polls are applied`, async () => {
      // Prepare
      const store = new InMemoryPollResultsStore();
      store.failures.set('p-b', [error]);
      const v = voteRecords();
      const batch = [
        v.cast('p-a', 'v-1', 'red'),
        v.cast('p-b', 'v-1', 'red'),
        v.cast('p-a', 'v-2', 'red'),
        v.cast('p-b', 'v-2', 'blue'),
      ];

      // Act
      const outcomes = await createVoteBatchHandler({ store })(changeRecords(batch), streamContext());

      // Assess
      expect(kinds(outcomes, batch)).toStrictEqual(['ok', kind, 'ok', kind]);
      expect(store.polls.get('p-a')).toMatchObject({ counts: { red: 2 }, total: 2 });
      expect(store.polls.has('p-b')).toBe(false);
      const outcome = outcomes.get(batch[1]?.dynamodb?.SequenceNumber ?? '');
      expect(outcome?.kind === 'ok' ? '' : outcome?.reason).toContain('poll p-b');
    });
  });

  it('drops the records a behind poll already applied and counts only the rest', async () => {
    // Prepare
    const store = new InMemoryPollResultsStore();
    const handle = createVoteBatchHandler({ store });
    const v = voteRecords();
    const batch = [
      v.cast('p-1', 'v-1', 'red'),
      v.cast('p-1', 'v-2', 'red'),
      v.change('p-1', 'v-1', 'red', 'blue'),
      v.cast('p-1', 'v-3', 'blue'),
    ];
    await handle(changeRecords(batch.slice(0, 2)), streamContext());

    // Act
    const outcomes = await handle(changeRecords(batch), streamContext());

    // Assess
    expect(kinds(outcomes, batch)).toStrictEqual(['ok', 'ok', 'ok', 'ok']);
    expect(store.applies.map(({ delta, result }) => [delta.records, result])).toStrictEqual([
      [2, 'applied'],
      [4, 'behind'],
      [2, 'applied'],
    ]);
    expect(store.polls.get('p-1')).toMatchObject({ counts: { red: 1, blue: 2 }, total: 3, records: 4 });
  });

  it('writes nothing for a poll whose records are all applied', async () => {
    // Prepare
    const store = new InMemoryPollResultsStore();
    const handle = createVoteBatchHandler({ store });
    const v = voteRecords();
    const batch = [v.cast('p-1', 'v-1', 'red'), v.cast('p-1', 'v-2', 'blue')];
    await handle(changeRecords(batch), streamContext());
    const before = structuredClone(store.polls.get('p-1'));

    // Act
    const outcomes = await handle(changeRecords(batch), streamContext());

    // Assess
    expect(kinds(outcomes, batch)).toStrictEqual(['ok', 'ok']);
    expect(store.applies.map(({ result }) => result)).toStrictEqual(['applied', 'behind']);
    // toEqual: the store's counts are a null-prototype object, which structuredClone makes a plain one.
    expect(store.polls.get('p-1')).toEqual(before);
  });

  it('dead-letters a malformed record, counts nothing for it, and applies the rest of its poll', async () => {
    // Prepare: the malformed record sits between two good records of its poll.
    const store = new InMemoryPollResultsStore();
    const v = voteRecords();
    const batch = [
      v.cast('p-1', 'v-1', 'red'),
      withoutOption(v.cast('p-1', 'v-2', 'red')),
      v.cast('p-1', 'v-3', 'red'),
    ];

    // Act
    const outcomes = await createVoteBatchHandler({ store })(changeRecords(batch), streamContext());

    // Assess
    expect(kinds(outcomes, batch)).toStrictEqual(['ok', 'permanent', 'ok']);
    expect(store.polls.get('p-1')).toMatchObject({
      counts: { red: 2 },
      total: 2,
      records: 2,
      lastSequence: sequenceOf(batch[2] as DynamoDBRecord),
    });
  });

  it('clamps decrements at zero, warns with the poll and what was clamped, and counts it in a metric', async () => {
    // Prepare: two votes cast before the stream existed are retracted or moved: red would drop to -2. It stays at 0
    // and the total follows the counts (2, as blue has 2): red's true count is drift only reconcile can repair.
    const store = new InMemoryPollResultsStore();
    const logger = recordingLogger();
    const metrics = new RecordingMetrics();
    const v = voteRecords();
    const batch = [
      v.retract('p-1', 'v-old', 'red'),
      v.cast('p-1', 'v-1', 'blue'),
      v.change('p-1', 'v-old2', 'red', 'blue'),
    ];

    // Act
    const outcomes = await createVoteBatchHandler({ store, logger, metrics })(
      changeRecords(batch),
      streamContext(),
    );

    // Assess
    expect(kinds(outcomes, batch)).toStrictEqual(['ok', 'ok', 'ok']);
    expect(store.polls.get('p-1')).toMatchObject({ counts: { blue: 2 }, total: 2, records: 3 });
    expect(store.applies.map(({ result }) => result)).toStrictEqual(['wouldGoNegative', 'applied']);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]?.attributes).toMatchObject({
      pollId: 'p-1',
      clamped: { counts: [['red', 2]], total: 2 },
    });
    expect(metrics.valuesOf(VOTE_AGGREGATOR_METRICS.countsClamped)).toStrictEqual([2]);
  });

  it(`gives up after ${MAX_APPLY_ATTEMPTS} attempts with a transient failure`, async () => {
    // Prepare: a store that keeps answering "behind" with a watermark that never covers the records.
    const deltas: PollDelta[] = [];
    const store: PollResultsStore = {
      apply: async (delta): Promise<ApplyResult> => {
        deltas.push(delta);
        return { kind: 'behind', stored: { lastSequence: '0'.repeat(40), counts: new Map(), total: 0 } };
      },
    };
    const v = voteRecords();
    const batch = [v.cast('p-1', 'v-1', 'red')];

    // Act
    const outcomes = await createVoteBatchHandler({ store })(changeRecords(batch), streamContext());

    // Assess
    expect(kinds(outcomes, batch)).toStrictEqual(['transient']);
    expect(deltas).toHaveLength(MAX_APPLY_ATTEMPTS);
  });

  it('updates polls in parallel, never more at a time than the cap', async () => {
    // Prepare
    let inFlight = 0;
    let maxInFlight = 0;
    const store: PollResultsStore = {
      apply: async (): Promise<ApplyResult> => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
        return { kind: 'applied' };
      },
    };
    const v = voteRecords();
    const batch = Array.from({ length: 20 }, (_, i) => v.cast(`p-${i}`, 'v-1', 'red'));

    // Act
    const outcomes = await createVoteBatchHandler({ store, concurrency: 4 })(
      changeRecords(batch),
      streamContext(),
    );

    // Assess
    expect(kinds(outcomes, batch).every((kind) => kind === 'ok')).toBe(true);
    expect(maxInFlight).toBe(4);
  });

  it('splits a poll touching many options into runs, and stops at a run that failed transiently', async () => {
    // Prepare: 60 options need two runs; the first one is throttled.
    const store = new InMemoryPollResultsStore();
    store.failures.set('p-1', [
      new ProvisionedThroughputExceededException({ message: 'slow', $metadata: {} }),
    ]);
    const v = voteRecords();
    const batch = Array.from({ length: 60 }, (_, i) => v.cast('p-1', `v-${i}`, `option-${i}`));

    // Act
    const outcomes = await createVoteBatchHandler({ store })(changeRecords(batch), streamContext());

    // Assess: the second run must not move the watermark past the first one's records.
    expect(new Set(kinds(outcomes, batch))).toStrictEqual(new Set(['transient']));
    expect(store.applies).toHaveLength(1);
    expect(store.polls.has('p-1')).toBe(false);
  });

  it('applies a poll touching many options in consecutive runs', async () => {
    // Prepare
    const store = new InMemoryPollResultsStore();
    const v = voteRecords();
    const batch = Array.from({ length: 60 }, (_, i) => v.cast('p-1', `v-${i}`, `option-${i}`));

    // Act
    const outcomes = await createVoteBatchHandler({ store })(changeRecords(batch), streamContext());

    // Assess
    expect(new Set(kinds(outcomes, batch))).toStrictEqual(new Set(['ok']));
    expect(store.applies.map(({ delta }) => delta.records)).toStrictEqual([50, 10]);
    expect(store.polls.get('p-1')).toMatchObject({ total: 60, records: 60 });
  });
});

describe('createVoteAggregatorHandler', () => {
  it('is named vote-aggregator', () => {
    expect(VOTE_AGGREGATOR_CONSUMER_NAME).toBe('vote-aggregator');
  });

  it("reports only the failed poll's sequence numbers and dead-letters malformed records", async () => {
    // Prepare
    const store = new InMemoryPollResultsStore();
    store.failures.set('p-b', [
      new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } }),
    ]);
    const deadLetterQueue = new RecordingDeadLetterQueue();
    const metrics = new RecordingMetrics();
    const v = voteRecords();
    const batch = [
      v.cast('p-a', 'v-1', 'red'),
      v.cast('p-b', 'v-1', 'red'),
      withoutOption(v.cast('p-a', 'v-2', 'red')),
      v.cast('p-b', 'v-2', 'red'),
      v.cast('p-a', 'v-3', 'red'),
    ];
    const handler = createVoteAggregatorHandler({
      consumerName: VOTE_AGGREGATOR_CONSUMER_NAME,
      deadLetterQueue,
      logger: recordingLogger(),
      metrics,
      store,
    });

    // Act
    const response = await handler(streamEvent(...batch), lambdaContext());

    // Assess
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toStrictEqual([
      batch[1]?.dynamodb?.SequenceNumber,
      batch[3]?.dynamodb?.SequenceNumber,
    ]);
    expect(deadLetterQueue.letters.map((letter) => letter.sequenceNumber)).toStrictEqual([
      batch[2]?.dynamodb?.SequenceNumber,
    ]);
    expect(store.polls.get('p-a')).toMatchObject({ counts: { red: 2 }, total: 2, records: 2 });
    expect(metrics.flushes).toBe(1);
  });
});
