import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padSequenceNumber, parsePollResultsItem } from '../../../../lambdas/shared/poll-results.js';
import {
  DynamoDbPollResultsStore,
  EMPTY_POLL_RESULTS,
} from '../../../../lambdas/vote-aggregator/adapters/dynamodb-poll-results-store.js';
import { createVoteBatchHandler } from '../../../../lambdas/vote-aggregator/aggregator.js';
import type { PollDelta } from '../../../../lambdas/vote-aggregator/ports.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../../support/dynamodb.js';
import { changeRecords, recordingLogger, sequenceOf, streamContext, voteRecords } from '../records.js';

let tables: TestTables;

beforeAll(async () => {
  tables = await createTestTables();
});

afterAll(async () => {
  await tables.drop();
});

/** A store on its own client of DynamoDB Local that counts the UpdateItem calls it sends. */
function harness(): { store: DynamoDbPollResultsStore; updates: () => number } {
  const client = new DynamoDBClient(localDynamoDb().config);
  let updates = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand') updates += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countUpdates' },
  );
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { store: new DynamoDbPollResultsStore(documentClient, tables.PollResults), updates: () => updates };
}

async function storedItem(pollId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await localDynamoDb().documentClient.send(
    new GetCommand({ TableName: tables.PollResults, Key: { pollId }, ConsistentRead: true }),
  );
  return Item;
}

function newPollId(): string {
  return `poll-${randomUUID()}`;
}

function seq(n: number): string {
  return padSequenceNumber(String(600_000_000_000_000_000_000n + BigInt(n)));
}

/** A delta with its counts given as an object for brevity (the port takes a Map). */
function delta(
  pollId: string,
  fields: Partial<Omit<PollDelta, 'counts'>> & {
    first: number;
    last: number;
    counts?: Record<string, number>;
  },
): PollDelta {
  const { first, last, counts = {}, ...rest } = fields;
  return {
    pollId,
    firstSequence: seq(first),
    lastSequence: seq(last),
    asOf: '2030-01-01T00:00:00.000Z',
    counts: new Map(Object.entries(counts)),
    total: 0,
    records: last - first + 1,
    ...rest,
  };
}

describe('DynamoDbPollResultsStore.apply', () => {
  it("creates a poll's item on its first delta, then adds to it", async () => {
    // Prepare
    const { store, updates } = harness();
    const pollId = newPollId();

    // Act
    const first = await store.apply(delta(pollId, { first: 1, last: 2, counts: { red: 2 }, total: 2 }));
    const second = await store.apply(
      delta(pollId, { first: 3, last: 4, counts: { red: -1, blue: 1 }, total: 0 }),
    );

    // Assess
    expect([first, second]).toStrictEqual([{ kind: 'applied' }, { kind: 'applied' }]);
    expect(updates()).toBe(3);
    expect(await storedItem(pollId)).toStrictEqual({
      pollId,
      counts: { red: 1, blue: 1 },
      total: 2,
      records: 4,
      lastSeq: seq(4),
      asOf: '2030-01-01T00:00:00.000Z',
    });
  });

  it.each([
    { name: 'at the watermark', first: 2 },
    { name: 'below the watermark', first: 1 },
  ])(
    'answers behind, with the stored item, for a delta starting $name, writing nothing',
    async ({ first }) => {
      // Prepare
      const { store } = harness();
      const pollId = newPollId();
      await store.apply(delta(pollId, { first: 1, last: 2, counts: { red: 2 }, total: 2 }));
      const before = await storedItem(pollId);

      // Act
      const result = await store.apply(delta(pollId, { first, last: 3, counts: { red: 1 }, total: 1 }));

      // Assess
      expect(result).toStrictEqual({
        kind: 'behind',
        stored: { lastSequence: seq(2), counts: new Map([['red', 2]]), total: 2 },
      });
      expect(await storedItem(pollId)).toStrictEqual(before);
    },
  );

  it.each<{ name: string; counts: Record<string, number>; total: number }>([
    { name: 'an option', counts: { red: -3 }, total: -1 },
    { name: 'a missing option', counts: { green: -1 }, total: 0 },
    { name: 'the total', counts: {}, total: -3 },
  ])(
    'answers wouldGoNegative when $name would drop below zero, writing nothing',
    async ({ counts, total }) => {
      // Prepare
      const { store } = harness();
      const pollId = newPollId();
      await store.apply(delta(pollId, { first: 1, last: 2, counts: { red: 2 }, total: 2 }));
      const before = await storedItem(pollId);

      // Act
      const result = await store.apply(delta(pollId, { first: 3, last: 4, counts, total }));

      // Assess
      expect(result).toStrictEqual({
        kind: 'wouldGoNegative',
        stored: { lastSequence: seq(2), counts: new Map([['red', 2]]), total: 2 },
      });
      expect(await storedItem(pollId)).toStrictEqual(before);
    },
  );

  it('answers wouldGoNegative against an empty poll, creating nothing, for a first delta that removes', async () => {
    // Prepare
    const { store } = harness();
    const pollId = newPollId();

    // Act
    const result = await store.apply(delta(pollId, { first: 1, last: 1, counts: { red: -1 }, total: -1 }));

    // Assess
    expect(result).toStrictEqual({ kind: 'wouldGoNegative', stored: EMPTY_POLL_RESULTS });
    expect(await storedItem(pollId)).toBeUndefined();
  });

  it('keeps option names that need ExpressionAttributeNames apart, in the create and in the update', async () => {
    // Prepare
    const { store } = harness();
    const pollId = newPollId();
    const options = ['a.b', '#x', ':y', 'with space', 'total', 'counts.total', 'ADD', 'ü-ñ', '[0]'];
    const counts = Object.fromEntries(options.map((option) => [option, 2]));

    // Act
    await store.apply(delta(pollId, { first: 1, last: 1, counts, total: 18 }));
    const minus = Object.fromEntries(options.map((option) => [option, -1]));
    const second = await store.apply(delta(pollId, { first: 2, last: 2, counts: minus, total: -9 }));

    // Assess
    expect(second).toStrictEqual({ kind: 'applied' });
    const item = await storedItem(pollId);
    expect(item?.counts).toStrictEqual(Object.fromEntries(options.map((option) => [option, 1])));
    expect(item?.total).toBe(9);
  });

  it('records the reconcile token of a marker, creating the item for a poll with no votes yet', async () => {
    // Prepare
    const { store } = harness();
    const pollId = newPollId();

    // Act
    await store.apply(delta(pollId, { first: 1, last: 1, reconcileToken: 'tok-1' }));
    await store.apply(delta(pollId, { first: 2, last: 3, counts: { red: 1 }, total: 1 }));
    await store.apply(delta(pollId, { first: 4, last: 4, reconcileToken: 'tok-2' }));

    // Assess
    const item = await storedItem(pollId);
    expect(item).toMatchObject({ counts: { red: 1 }, total: 1, records: 4, reconcileToken: 'tok-2' });
    expect(parsePollResultsItem(item).reconcileToken).toBe('tok-2');
  });
});

describe('the vote aggregator on DynamoDB Local', () => {
  /** The batch handler on a counting store; `run` handles a batch and returns the outcome kinds in order. */
  function aggregator(): {
    run: (batch: readonly DynamoDBRecord[]) => Promise<string[]>;
    updates: () => number;
  } {
    const { store, updates } = harness();
    const handle = createVoteBatchHandler({ store, logger: recordingLogger() });
    return {
      updates,
      run: async (batch) => {
        const outcomes = await handle(changeRecords(batch), streamContext());
        return batch.map((record) => outcomes.get(record.dynamodb?.SequenceNumber ?? '')?.kind ?? 'missing');
      },
    };
  }

  it('counts a first batch exactly, creating the item: casts, a moved vote and a retraction', async () => {
    // Prepare
    const { run } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();
    const batch = [
      v.cast(pollId, 'v-1', 'red'),
      v.cast(pollId, 'v-2', 'red'),
      v.cast(pollId, 'v-3', 'blue'),
      v.change(pollId, 'v-1', 'red', 'blue'),
      v.retract(pollId, 'v-3', 'blue'),
      v.change(pollId, 'v-2', 'red', 'red'),
    ];

    // Act
    const kinds = await run(batch);

    // Assess
    expect(kinds).toStrictEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(await storedItem(pollId)).toMatchObject({
      counts: { red: 1, blue: 1 },
      total: 2,
      records: 6,
      lastSeq: sequenceOf(batch[5] as DynamoDBRecord),
    });
  });

  it.each([
    { name: 'a MODIFY moves one count', kind: 'change', counts: { red: 2, blue: 0 }, total: 2 },
    { name: 'a REMOVE takes one count', kind: 'retract', counts: { red: 1, blue: 0 }, total: 1 },
  ])('in a later batch, $name', async ({ kind, counts, total }) => {
    // Prepare
    const { run } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();
    await run([v.cast(pollId, 'v-1', 'red'), v.cast(pollId, 'v-2', 'blue')]);
    const next =
      kind === 'change' ? v.change(pollId, 'v-2', 'blue', 'red') : v.retract(pollId, 'v-2', 'blue');

    // Act
    const kinds = await run([next]);

    // Assess
    expect(kinds).toStrictEqual(['ok']);
    expect(await storedItem(pollId)).toMatchObject({ counts, total, records: 3, lastSeq: sequenceOf(next) });
  });

  it('writes nothing for a re-delivered batch: same counts, records not grown', async () => {
    // Prepare
    const { run, updates } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();
    const batch = [
      v.cast(pollId, 'v-1', 'red'),
      v.cast(pollId, 'v-2', 'blue'),
      v.change(pollId, 'v-1', 'red', 'blue'),
    ];
    await run(batch);
    const before = await storedItem(pollId);
    const updatesBefore = updates();

    // Act
    const kinds = await run(batch);

    // Assess: one refused conditional update, nothing written.
    expect(kinds).toStrictEqual(['ok', 'ok', 'ok']);
    expect(updates() - updatesBefore).toBe(1);
    expect(await storedItem(pollId)).toStrictEqual(before);
    // The first batch created the item: red netted to 0 within it and was never written.
    expect(before).toMatchObject({ counts: { blue: 2 }, total: 2, records: 3 });
  });

  it('counts only the new records of a batch overlapping an applied one', async () => {
    // Prepare
    const { run } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();
    const records = [
      v.cast(pollId, 'v-1', 'red'),
      v.cast(pollId, 'v-2', 'red'),
      v.cast(pollId, 'v-3', 'blue'),
      v.change(pollId, 'v-2', 'red', 'blue'),
      v.cast(pollId, 'v-4', 'green'),
    ];
    await run(records.slice(0, 3));

    // Act
    const kinds = await run(records.slice(1));

    // Assess
    expect(kinds).toStrictEqual(['ok', 'ok', 'ok', 'ok']);
    expect(await storedItem(pollId)).toMatchObject({
      counts: { red: 1, blue: 2, green: 1 },
      total: 4,
      records: 5,
      lastSeq: sequenceOf(records[4] as DynamoDBRecord),
    });
  });

  it('counts exactly after a checkpoint re-delivery: poll A applied, poll B failed, re-delivered from B', async () => {
    // Prepare: B's first update is refused by a store wrapper (throttled); A's goes through.
    const { store } = harness();
    let failB = true;
    const flaky = {
      apply: async (d: PollDelta) => {
        if (d.pollId === pollB && failB) {
          failB = false;
          throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
        }
        return store.apply(d);
      },
    };
    const handle = createVoteBatchHandler({ store: flaky, logger: recordingLogger() });
    const pollA = newPollId();
    const pollB = newPollId();
    const v = voteRecords();
    const batch = [
      v.cast(pollA, 'v-1', 'red'),
      v.cast(pollB, 'v-1', 'x'),
      v.cast(pollA, 'v-2', 'blue'),
      v.cast(pollB, 'v-2', 'y'),
      v.change(pollA, 'v-1', 'red', 'blue'),
    ];
    const first = await handle(changeRecords(batch), streamContext());
    expect(batch.map((r) => first.get(r.dynamodb?.SequenceNumber ?? '')?.kind)).toStrictEqual([
      'ok',
      'transient',
      'ok',
      'transient',
      'ok',
    ]);

    // Act: Lambda re-delivers from the lowest failed sequence number on, A's later records included.
    const redelivered = batch.slice(1);
    const second = await handle(changeRecords(redelivered), streamContext());

    // Assess
    expect(redelivered.map((r) => second.get(r.dynamodb?.SequenceNumber ?? '')?.kind)).toStrictEqual([
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    expect(await storedItem(pollA)).toMatchObject({ counts: { blue: 2 }, total: 2, records: 3 });
    expect(await storedItem(pollB)).toMatchObject({ counts: { x: 1, y: 1 }, total: 2, records: 2 });
  });

  it('clamps a first batch that only removes (votes older than the stream) at zero', async () => {
    // Prepare
    const { run, updates } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();
    const batch = [v.retract(pollId, 'v-old', 'red'), v.change(pollId, 'v-old2', 'red', 'blue')];

    // Act
    const kinds = await run(batch);

    // Assess: update (no item), refused create, clamped retry: update (no item), create. The total follows the
    // clamped counts: red's retraction and move were never counted, blue's arrival was.
    expect(kinds).toStrictEqual(['ok', 'ok']);
    expect(updates()).toBe(3);
    expect(await storedItem(pollId)).toMatchObject({ counts: { blue: 1 }, total: 1, records: 2 });
  });

  it('keeps total = sum(counts) when a cast and a retraction of an uncounted vote share a first batch', async () => {
    // Prepare: issue 12, finding 4 (ended as {red: 1} with total 0).
    const { run } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();

    // Act
    const kinds = await run([v.cast(pollId, 'v-1', 'red'), v.retract(pollId, 'v-old', 'blue')]);

    // Assess
    expect(kinds).toStrictEqual(['ok', 'ok']);
    expect(await storedItem(pollId)).toMatchObject({ counts: { red: 1 }, total: 1, records: 2 });
  });

  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'])(
    'counts a new poll whose first batch votes for the option %s, and the API reads it',
    async (option) => {
      // Prepare: issue 12, finding 1 (the marshaller refused the counts map: every delivery failed).
      const { run } = aggregator();
      const pollId = newPollId();
      const v = voteRecords();
      const batch = [
        v.cast(pollId, 'v-1', option),
        v.cast(pollId, 'v-2', 'red'),
        v.cast(pollId, 'v-3', option),
      ];

      // Act
      const first = await run(batch);
      const later = await run([v.change(pollId, 'v-2', 'red', option)]);

      // Assess
      expect([...first, ...later]).toStrictEqual(['ok', 'ok', 'ok', 'ok']);
      const item = parsePollResultsItem(await storedItem(pollId));
      expect(Object.entries(item.counts)).toStrictEqual(
        expect.arrayContaining([
          [option, 3],
          ['red', 0],
        ]),
      );
      expect(item.total).toBe(3);
    },
  );

  it("dead-letters only the vote for __proto__; the batch's other options and polls are counted", async () => {
    // Prepare: issue 12, finding 2 (a ValidationException dead-lettered every vote of the poll's first batch).
    const { run } = aggregator();
    const pollId = newPollId();
    const otherPoll = newPollId();
    const v = voteRecords();
    const batch = [
      v.cast(pollId, 'v-1', 'red'),
      v.cast(pollId, 'v-2', '__proto__'),
      v.cast(otherPoll, 'v-1', 'blue'),
      v.cast(pollId, 'v-3', 'blue'),
    ];

    // Act
    const kinds = await run(batch);

    // Assess
    expect(kinds).toStrictEqual(['ok', 'permanent', 'ok', 'ok']);
    expect(await storedItem(pollId)).toMatchObject({ counts: { red: 1, blue: 1 }, total: 2, records: 2 });
    expect(await storedItem(otherPoll)).toMatchObject({ counts: { blue: 1 }, total: 1 });
  });

  it('reads back a stored item holding a __proto__ count when a condition fails, and goes on counting', async () => {
    // Prepare: issue 12, finding 3. An item written before options were checked holds a __proto__ count; the SDK
    // cannot deserialize it out of a ConditionalCheckFailedException (a TypeError with status 400).
    const { store } = harness();
    const { run, updates } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();
    const applied = [v.cast(pollId, 'v-1', 'red')];
    await run(applied);
    await localDynamoDb().client.send(
      new UpdateItemCommand({
        TableName: tables.PollResults,
        Key: { pollId: { S: pollId } },
        UpdateExpression: 'SET #counts.#proto = :one, #total = #total + :one',
        ExpressionAttributeNames: { '#counts': 'counts', '#proto': '__proto__', '#total': 'total' },
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );

    // Act: a re-delivery (behind), then a batch with a re-delivered record and a new one.
    const appliedSequence = sequenceOf(applied[0] as DynamoDBRecord);
    const behind = await store.apply({
      ...delta(pollId, { first: 0, last: 0, counts: { red: 1 }, total: 1 }),
      firstSequence: appliedSequence,
      lastSequence: appliedSequence,
    });
    const kinds = await run([...applied, v.cast(pollId, 'v-2', 'blue')]);

    // Assess
    expect(behind).toMatchObject({ kind: 'behind' });
    expect(behind.kind === 'behind' ? [...behind.stored.counts] : []).toStrictEqual(
      expect.arrayContaining([
        ['red', 1],
        ['__proto__', 1],
      ]),
    );
    expect(kinds).toStrictEqual(['ok', 'ok']);
    expect(updates()).toBeGreaterThan(0);
    const { Item } = await localDynamoDb().client.send(
      new GetItemCommand({
        TableName: tables.PollResults,
        Key: { pollId: { S: pollId } },
        ConsistentRead: true,
      }),
    );
    expect(Item?.counts?.M).toStrictEqual(
      JSON.parse('{"red":{"N":"1"},"__proto__":{"N":"1"},"blue":{"N":"1"}}'),
    );
    expect(Item?.total).toStrictEqual({ N: '3' });
  });

  it('clamps a later retraction below zero and still moves the watermark', async () => {
    // Prepare
    const { run } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();
    await run([v.cast(pollId, 'v-1', 'red')]);
    const retractions = [v.retract(pollId, 'v-1', 'red'), v.retract(pollId, 'v-old', 'red')];

    // Act
    const kinds = await run(retractions);

    // Assess
    expect(kinds).toStrictEqual(['ok', 'ok']);
    expect(await storedItem(pollId)).toMatchObject({
      counts: { red: 0 },
      total: 0,
      records: 3,
      lastSeq: sequenceOf(retractions[1] as DynamoDBRecord),
    });
  });

  it('records the token of a reconcile marker and counts it as a record, not a vote', async () => {
    // Prepare
    const { run } = aggregator();
    const pollId = newPollId();
    const v = voteRecords();
    const batch = [v.cast(pollId, 'v-1', 'red'), v.marker(pollId, 'tok-1'), v.cast(pollId, 'v-2', 'red')];

    // Act
    const kinds = await run(batch);

    // Assess
    expect(kinds).toStrictEqual(['ok', 'ok', 'ok']);
    expect(await storedItem(pollId)).toMatchObject({
      counts: { red: 2 },
      total: 2,
      records: 3,
      reconcileToken: 'tok-1',
    });
  });
});
