import { setTimeout as sleep } from 'node:timers/promises';
import { type AttributeValue, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { padSequenceNumber } from '../../../lambdas/shared/poll-results.js';
import { RECONCILE_MARKER_VOTER_ID } from '../../../lambdas/vote-aggregator/ports.js';
import { dynamoDbReconcilePorts } from '../../../ops/reconcile/dynamodb-ports.js';
import type { FixOptions } from '../../../ops/reconcile/fix-protocol.js';
import type { ReconcilePorts } from '../../../ops/reconcile/ports.js';
import { type ReconcileSummary, runReconcile } from '../../../ops/reconcile/reconcile-run.js';
import {
  DynamoDbStreamSource,
  latestStreamArn,
  localStreamsClient,
} from '../../../sandbox/esm/dynamodb-stream-source.js';
import { EsmRunner } from '../../../sandbox/esm/runner.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';
import { testEsmConfig } from '../../support/esm-configs.js';
import { HANG_TIMEOUT_MS } from '../../support/hang.js';

/**
 * The reconcile command against DynamoDB Local, with a fake vote aggregator fed by the Votes table's real stream
 * through the sandbox's event source mapping runner. The fake applies records as the real one does: in stream order,
 * per record one UpdateItem that ADDs to counts, total and records and SETs lastSeq, asOf (and reconcileToken for a
 * marker) on the condition that the stored watermark is below the record.
 */

/** Applies the records of one batch like the vote aggregator; `paused` holds a batch until it is cleared. */
class FakeAggregator {
  public paused = false;
  public applied = 0;

  public constructor(private readonly resultsTable: string) {}

  public readonly fn = async (event: DynamoDBStreamEvent): Promise<undefined> => {
    while (this.paused) await sleep(10);
    for (const record of event.Records) {
      const image = record.dynamodb!;
      const pollId = image.Keys!.pollId!.S!;
      const voterId = image.Keys!.voterId!.S!;
      const deltas = new Map<string, number>();
      let total = 0;
      let token: string | undefined;
      if (voterId === RECONCILE_MARKER_VOTER_ID) {
        token = image.NewImage?.token?.S;
      } else {
        const before = image.OldImage?.option?.S;
        const after = image.NewImage?.option?.S;
        if (before !== undefined) deltas.set(before, (deltas.get(before) ?? 0) - 1);
        if (after !== undefined) deltas.set(after, (deltas.get(after) ?? 0) + 1);
        total = (after === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
      }
      await this.#apply(pollId, padSequenceNumber(image.SequenceNumber!), deltas, total, token);
    }
    return undefined;
  };

  async #apply(
    pollId: string,
    sequence: string,
    deltas: Map<string, number>,
    total: number,
    token: string | undefined,
  ): Promise<void> {
    const { client } = localDynamoDb();
    const key = { pollId: { S: pollId } };
    // The real one's first write of a poll: counts must exist before `ADD counts.#option`.
    await client.send(
      new UpdateItemCommand({
        TableName: this.resultsTable,
        Key: key,
        UpdateExpression: 'SET #counts = if_not_exists(#counts, :empty)',
        ExpressionAttributeNames: { '#counts': 'counts' },
        ExpressionAttributeValues: { ':empty': { M: {} } },
      }),
    );
    // Every name through a placeholder: `records` and `total` are reserved words.
    const names: Record<string, string> = {
      '#lastSeq': 'lastSeq',
      '#asOf': 'asOf',
      '#records': 'records',
      '#total': 'total',
    };
    const values: Record<string, AttributeValue> = {
      ':one': { N: '1' },
      ':total': { N: String(total) },
      ':seq': { S: sequence },
      ':asOf': { S: new Date().toISOString() },
    };
    const adds = ['#records :one', '#total :total'];
    [...deltas].forEach(([option, delta], i) => {
      if (delta === 0) return;
      names['#counts'] = 'counts';
      names[`#o${i}`] = option;
      values[`:d${i}`] = { N: String(delta) };
      adds.push(`#counts.#o${i} :d${i}`);
    });
    const sets = ['#lastSeq = :seq', '#asOf = :asOf'];
    if (token !== undefined) {
      sets.push('#reconcileToken = :token');
      names['#reconcileToken'] = 'reconcileToken';
      values[':token'] = { S: token };
    }
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: this.resultsTable,
          Key: key,
          UpdateExpression: `ADD ${adds.join(', ')} SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#lastSeq) OR #lastSeq < :seq',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      this.applied += 1;
    } catch (error) {
      // A re-delivered record is at or below the watermark: already applied.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}

/**
 * Fast polling for the tests. The wait for a marker ends as soon as the aggregator applies it, so its bound only has
 * to catch a hang: a slow machine must not turn a marker on its way into "not caught up".
 */
const FIX: Omit<FixOptions, 'log'> = { waitMs: HANG_TIMEOUT_MS, attempts: 3, pollIntervalMs: 25 };

describe('npm run reconcile:votes against DynamoDB Local with a fake aggregator', () => {
  const { documentClient } = localDynamoDb();
  let streams: DynamoDBStreamsClient;
  let tables: TestTables;
  let aggregator: FakeAggregator;
  let runner: EsmRunner | undefined;
  let ports: ReconcilePorts;
  const failures: string[] = [];

  beforeAll(async () => {
    // The first call synthesizes the app for the table definitions: in a hook, with the hook's timeout.
    await (await createTestTables()).drop();
    streams = localStreamsClient(localDynamoDb().endpoint);
  });

  afterAll(() => {
    streams.destroy();
  });

  beforeEach(async () => {
    tables = await createTestTables();
    aggregator = new FakeAggregator(tables.PollResults);
    ports = dynamoDbReconcilePorts(documentClient, { votes: tables.Votes, results: tables.PollResults });
    runner = undefined;
    failures.length = 0;
  });

  afterEach(async () => {
    await runner?.stop();
    await tables.drop();
  });

  /**
   * Starts the fake aggregator on the Votes stream. After a first write: DynamoDB Local lists no shard for a stream
   * with no record yet, and the runner would count that as drained.
   */
  const startAggregator = async (): Promise<EsmRunner> => {
    const streamArn = await latestStreamArn(localDynamoDb().client, tables.Votes);
    const config = testEsmConfig({
      consumerName: 'vote-aggregator',
      tableConstructId: 'Votes',
      batchSize: 100,
      functionTimeoutMs: 60_000,
    });
    runner = new EsmRunner({
      pollIntervalMs: 10,
      shardDiscoveryIntervalMs: 20,
      mappings: [
        {
          config,
          streamArn,
          functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:vote-aggregator',
          source: new DynamoDbStreamSource({ client: streams, streamArn }),
          fn: aggregator.fn,
          onFailure: async (message) => {
            // Asserted empty by drained(): a batch the fake cannot apply is a broken test, not a scenario.
            failures.push(JSON.stringify(message));
          },
        },
      ],
    });
    runner.start();
    return runner;
  };

  const drained = async (): Promise<void> => {
    expect(failures).toEqual([]);
    expect(await runner!.waitUntilDrained({ timeoutMs: 20_000, quietMs: 150 })).toBe(true);
  };

  /** Voter `voterId` votes `option` in `pollId`. */
  const vote = (pollId: string, voterId: string, option: string): Promise<unknown> =>
    documentClient.send(
      new PutCommand({
        TableName: tables.Votes,
        Item: { pollId, voterId, option, votedAt: new Date().toISOString() },
      }),
    );

  /** `counts` as votes of `pollId`, voters named by option and number. */
  const seed = async (pollId: string, counts: Record<string, number>): Promise<void> => {
    for (const [option, n] of Object.entries(counts)) {
      for (let i = 0; i < n; i += 1) await vote(pollId, `${option}-${i}`, option);
    }
  };

  /** Drift of the aggregator's making: a lost or doubled update, written straight into PollResults. */
  const corrupt = (pollId: string, option: string, by: number): Promise<unknown> =>
    documentClient.send(
      new UpdateCommand({
        TableName: tables.PollResults,
        Key: { pollId },
        UpdateExpression: 'ADD #counts.#option :by, #total :by',
        ExpressionAttributeNames: { '#counts': 'counts', '#option': option, '#total': 'total' },
        ExpressionAttributeValues: { ':by': by },
      }),
    );

  const results = async (pollId: string): Promise<Record<string, unknown> | undefined> =>
    (
      await documentClient.send(
        new GetCommand({ TableName: tables.PollResults, Key: { pollId }, ConsistentRead: true }),
      )
    ).Item;

  const reconcile = (
    options: { poll?: string; fix?: Omit<FixOptions, 'log'> } = {},
  ): Promise<ReconcileSummary> => runReconcile({ ports, poll: options.poll, segments: 3, fix: options.fix });

  it('reports drift, then fixes a drifting idle poll exactly, leaving the others alone', async () => {
    // Prepare: two polls applied by the aggregator; poll-1 overcounts "yes" by 2; poll-3 has results and no votes.
    await seed('poll-1', { yes: 3, no: 2 });
    await seed('poll-2', { a: 1 });
    await startAggregator();
    await drained();
    await corrupt('poll-1', 'yes', 2);
    await documentClient.send(
      new PutCommand({
        TableName: tables.PollResults,
        Item: { pollId: 'poll-3', counts: { x: 1 }, total: 1 },
      }),
    );
    const before = await results('poll-1');

    // Act: the report.
    const report = await reconcile();

    // Assess
    expect(report).toMatchObject({ checked: 3, drifting: 2, ok: false, fixRequested: false });
    expect(report.polls.find((poll) => poll.pollId === 'poll-1')).toMatchObject({
      ok: false,
      totalDrift: 2,
      stored: { counts: { yes: 5, no: 2 }, total: 7 },
      recounted: { counts: { no: 2, yes: 3 }, total: 5 },
      options: [
        { option: 'no', stored: 2, recounted: 2, drift: 0 },
        { option: 'yes', stored: 5, recounted: 3, drift: 2 },
      ],
      lastSeq: before!.lastSeq,
    });
    expect(report.polls.find((poll) => poll.pollId === 'poll-3')).toMatchObject({ ok: false, totalDrift: 1 });

    // Act: the fix.
    const fixed = await reconcile({ fix: FIX });

    // Assess: both drifting polls hold their recount, at the watermark of their second marker.
    expect(fixed).toMatchObject({ drifting: 2, fixed: 2, busy: 0, notCaughtUp: 0, ok: true });
    const after = await results('poll-1');
    expect(after).toMatchObject({ counts: { yes: 3, no: 2 }, total: 5, records: 7 });
    expect(fixed.polls.find((poll) => poll.pollId === 'poll-1')?.fix).toEqual(
      expect.objectContaining({ kind: 'fixed', attempts: 1, lastSeq: after!.lastSeq }),
    );
    expect(await results('poll-3')).toMatchObject({ counts: {}, total: 0, records: 2 });
    expect(await results('poll-2')).toMatchObject({ counts: { a: 1 }, total: 1, records: 1 });

    // Assess: the aggregator goes on from the fixed counts, and the next report finds no drift (the markers stay).
    await vote('poll-1', 'no-0', 'yes');
    await drained();
    expect(await results('poll-1')).toMatchObject({ counts: { yes: 4, no: 1 }, total: 5 });
    expect(await reconcile()).toMatchObject({ checked: 3, drifting: 0, markers: 2, ok: true });
  });

  it('tells drift in flight from real drift: nothing is written once the aggregator has caught up', async () => {
    // Prepare: votes the aggregator has not applied yet.
    await seed('poll-1', { yes: 1 });
    await startAggregator();
    await drained();
    aggregator.paused = true;
    await seed('poll-1', { no: 2 });

    // Act: the report sees drift.
    const report = await reconcile({ poll: 'poll-1' });

    // Assess
    expect(report).toMatchObject({ drifting: 1, polls: [{ totalDrift: -2 }] });

    // Act: the fix, while the aggregator resumes.
    const fixing = reconcile({ poll: 'poll-1', fix: FIX });
    await sleep(200);
    aggregator.paused = false;
    const fixed = await fixing;

    // Assess
    expect(fixed).toMatchObject({ fixed: 0, inFlight: 1, ok: true, polls: [{ fix: { kind: 'clean' } }] });
    expect(await results('poll-1')).toMatchObject({ counts: { yes: 1, no: 2 }, total: 3 });
  });

  it('reports a poll that gets a vote between the markers as busy, and writes nothing', async () => {
    // Prepare: a drifting poll, and a voter who votes during every recount (after M1, before M2).
    await seed('poll-1', { yes: 3 });
    await startAggregator();
    await drained();
    await corrupt('poll-1', 'yes', -1);
    let late = 0;
    const queryPoll = ports.votes.queryPoll.bind(ports.votes);
    ports = {
      ...ports,
      votes: {
        scan: ports.votes.scan.bind(ports.votes),
        queryPoll: async (pollId) => {
          late += 1;
          await vote(pollId, `late-${late}`, 'no');
          return queryPoll(pollId);
        },
      },
    };

    // Act
    const summary = await reconcile({ poll: 'poll-1', fix: { ...FIX, attempts: 2 } });

    // Assess: busy after both attempts; PollResults is the aggregator's alone (the drift of -1 is still there).
    expect(summary).toMatchObject({ busy: 1, fixed: 0, ok: false });
    expect(summary.polls[0]?.fix).toEqual({
      kind: 'busy',
      attempts: 2,
      reasons: ['1 record(s) applied between the markers', '1 record(s) applied between the markers'],
    });
    // One late vote per query: the report's and each attempt's (the aggregator's counts, the -1 drift still there).
    await drained();
    expect(late).toBe(3);
    expect(await results('poll-1')).toMatchObject({ counts: { yes: 2, no: 3 }, total: 5 });
  });

  it('reports "not caught up" when the aggregator does not apply the marker in time', async () => {
    // Prepare: votes, and no aggregator running.
    await seed('poll-1', { yes: 2 });

    // Act
    const summary = await reconcile({ fix: { ...FIX, waitMs: 300 } });

    // Assess: nothing written; the marker is in the Votes table for whenever the aggregator runs.
    expect(summary).toMatchObject({ drifting: 1, notCaughtUp: 1, ok: false });
    expect(summary.polls[0]?.fix).toEqual({ kind: 'notCaughtUp', attempts: 1, marker: 'M1', waitedMs: 300 });
    expect(await results('poll-1')).toBeUndefined();
  });

  it('retries when the fix write loses the race to an aggregator update, then fixes exactly', async () => {
    // Prepare: a drifting poll; the first fix write is overtaken by a vote the aggregator applies just before it.
    await seed('poll-1', { yes: 2, no: 1 });
    await startAggregator();
    await drained();
    await corrupt('poll-1', 'no', 3);
    const writeCounts = ports.results.writeCounts.bind(ports.results);
    let writes = 0;
    ports = {
      ...ports,
      results: {
        scan: ports.results.scan.bind(ports.results),
        get: ports.results.get.bind(ports.results),
        writeCounts: async (pollId, fix) => {
          writes += 1;
          if (writes === 1) {
            const seen = (await results(pollId))!.lastSeq;
            await vote(pollId, 'racer', 'yes');
            while ((await results(pollId))!.lastSeq === seen) await sleep(10);
          }
          return writeCounts(pollId, fix);
        },
      },
    };

    // Act
    const summary = await reconcile({ poll: 'poll-1', fix: FIX });

    // Assess: the first write failed its condition and wrote nothing; the second attempt wrote the exact recount.
    expect(writes).toBe(2);
    expect(summary).toMatchObject({ fixed: 1, ok: true, polls: [{ fix: { kind: 'fixed', attempts: 2 } }] });
    expect(await results('poll-1')).toMatchObject({ counts: { yes: 3, no: 1 }, total: 4 });
  });
});
