import 'aws-sdk-client-mock-vitest/extend';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { STAGE_OUTPUTS } from '../../../lib/stage-outputs.js';
import { runOpsCli } from '../../../ops/ops-cli.js';
import { captureIo, createFakeAws, createSqsClient, depsFor, outputValue, STAGE } from '../ops-fixtures.js';

const VOTES_TABLE = outputValue(STAGE_OUTPUTS.stateful.votesTableName);
const RESULTS_TABLE = outputValue(STAGE_OUTPUTS.stateful.pollResultsTableName);
const VOTE_PROJECTION = {
  ProjectionExpression: '#pollId, #voterId, #option',
  ExpressionAttributeNames: { '#pollId': 'pollId', '#voterId': 'voterId', '#option': 'option' },
};

/** Two votes of p-1 (a, b) and one of p-2 (a). */
const VOTES = [
  { pollId: 'p-1', voterId: 'v-1', option: 'a' },
  { pollId: 'p-1', voterId: 'v-2', option: 'b' },
  { pollId: 'p-2', voterId: 'v-1', option: 'a' },
];

/** p-1 counted right; p-2 counted twice for a. */
const RESULTS = [
  {
    pollId: 'p-1',
    counts: { a: 1, b: 1 },
    total: 2,
    lastSeq: '00000000000000000000000000000000000002',
    records: 2,
  },
  {
    pollId: 'p-2',
    counts: { a: 2 },
    total: 2,
    lastSeq: '00000000000000000000000000000000000003',
    records: 2,
  },
];

// The reconcile reads through a document client over OpsAws's DynamoDB client: its commands are mocked here.
const documents = mockClient(DynamoDBDocumentClient);

/** The inputs of every call, by segment when they have one (a stable sort: calls of one segment keep their order). */
function bySegment(inputs: readonly object[]): unknown[] {
  return [...inputs].sort(
    (a, b) => ((a as { Segment?: number }).Segment ?? 0) - ((b as { Segment?: number }).Segment ?? 0),
  );
}

const scans = (): unknown[] =>
  bySegment(documents.commandCalls(ScanCommand).map((call) => call.args[0].input));

describe('npm run ops -- reconcile votes', () => {
  beforeEach(() => {
    documents.reset();
    documents
      .on(ScanCommand, { TableName: VOTES_TABLE })
      .callsFake((input: { Segment: number }) => ({ Items: input.Segment === 0 ? VOTES : [] }))
      .on(ScanCommand, { TableName: RESULTS_TABLE })
      .callsFake((input: { Segment: number }) => ({ Items: input.Segment === 1 ? RESULTS : [] }))
      .on(QueryCommand, { TableName: VOTES_TABLE })
      .resolves({ Items: VOTES.filter((vote) => vote.pollId === 'p-1') })
      .on(GetCommand, { TableName: RESULTS_TABLE })
      .resolves({ Item: RESULTS[0] });
  });

  afterAll(() => {
    documents.restore();
  });

  it("recounts one poll of the stage's tables with a consistent Query and GetItem, and exits 0 without drift", async () => {
    // Prepare
    const fake = createFakeAws(createSqsClient());
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['reconcile', 'votes', '--stage', STAGE, '--poll', 'p-1', '--json'],
      io,
      depsFor(fake),
    );

    // Assess
    expect(code).toBe(0);
    expect(documents.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: VOTES_TABLE,
        KeyConditionExpression: '#pollId = :pollId',
        ExpressionAttributeValues: { ':pollId': 'p-1' },
        ConsistentRead: true,
        ...VOTE_PROJECTION,
      },
    ]);
    expect(documents.commandCalls(GetCommand).map((call) => call.args[0].input)).toStrictEqual([
      { TableName: RESULTS_TABLE, Key: { pollId: 'p-1' }, ConsistentRead: true },
    ]);
    expect(documents).not.toHaveReceivedCommand(ScanCommand);
    expect(JSON.parse(io.out())).toMatchObject({
      stage: STAGE,
      votesTable: VOTES_TABLE,
      resultsTable: RESULTS_TABLE,
      scope: { poll: 'p-1' },
      fixRequested: false,
      checked: 1,
      drifting: 0,
      polls: [{ pollId: 'p-1', ok: true }],
      ok: true,
    });
    expect(io.err()).toContain(`Recounting poll p-1 of ${VOTES_TABLE} against ${RESULTS_TABLE}...`);
  });

  it('scans both tables in parallel segments, reports the drifting poll and exits 1, writing nothing', async () => {
    // Prepare
    const fake = createFakeAws(createSqsClient());
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['reconcile', 'votes', '--stage', STAGE, '--segments', '2'],
      io,
      depsFor(fake),
    );

    // Assess
    expect(code).toBe(1);
    expect(scans()).toEqual(
      bySegment([
        { TableName: VOTES_TABLE, Segment: 0, TotalSegments: 2, ConsistentRead: true, ...VOTE_PROJECTION },
        { TableName: RESULTS_TABLE, Segment: 0, TotalSegments: 2, ConsistentRead: true },
        { TableName: VOTES_TABLE, Segment: 1, TotalSegments: 2, ConsistentRead: true, ...VOTE_PROJECTION },
        { TableName: RESULTS_TABLE, Segment: 1, TotalSegments: 2, ConsistentRead: true },
      ]),
    );
    expect(documents).not.toHaveReceivedCommand(PutCommand);
    expect(documents).not.toHaveReceivedCommand(UpdateCommand);
    expect(io.out()).toContain(
      `Reconcile of ${VOTES_TABLE} against ${RESULTS_TABLE}, every poll (2 segments)`,
    );
    expect(io.out()).toContain('p-2');
    expect(io.out()).toContain('Result: drift remains.');
  });
});
