import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSafeId } from '../../../lambdas/shared/identifiers.js';
import { DynamoDbPollResultsStore } from '../../../lambdas/vote-aggregator/adapters/dynamodb-poll-results-store.js';
import { createVoteBatchHandler } from '../../../lambdas/vote-aggregator/aggregator.js';
import { responseJson } from '../../support/api-events.js';
import { createTestTables, localDynamoDb } from '../../support/dynamodb.js';
import { HOSTILE_NAMES } from '../../support/hostile-attributes.js';
import { type ApiHarness, createApiHarness } from '../orders-api/api-harness.js';
import { changeRecords, recordingLogger, streamContext, voteRecords } from './records.js';

/**
 * Issue 12: whatever option name a client sends, the API and the vote aggregator agree. The API answers 400 naming
 * `option` for a name outside lambdas/shared/identifiers.ts and accepts every other; the aggregator counts every
 * accepted name exactly, prototype names included, dead-letters only the record that carries a refused name (written
 * by something other than the API), and never stalls a poll.
 */

/**
 * The shared hostile names, and what an option meets besides: the PollResults layout's own names in expressions, a
 * name that is empty, a path step, or one character past the API's length limit.
 */
const TRICKY_NAMES = [
  ...new Set<string>([
    ...HOSTILE_NAMES,
    'isPrototypeOf',
    '__defineGetter__',
    'counts.total',
    'total',
    'ADD',
    'red\u200b',
    '',
    '..',
    '-x',
    'a'.repeat(128),
    'a'.repeat(129),
  ]),
];

/** Any option a client could send: tricky names, anything of the identifier alphabet, and arbitrary text. */
const anyOption = fc.oneof(
  fc.constantFrom(...TRICKY_NAMES),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

/** Options the API accepts, weighted towards the names a plain object would mishandle. */
const validOption = fc.oneof(
  fc.constantFrom(...TRICKY_NAMES.filter(isSafeId)),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,8}$/),
);

/** Options the API refuses. */
const invalidOption = anyOption.filter((option) => !isSafeId(option));

describe('PUT /polls/{pollId}/votes/{voterId} with any option', () => {
  let harness: ApiHarness;

  beforeAll(async () => {
    harness = await createApiHarness();
  });

  afterAll(async () => {
    await harness.tables.drop();
  });

  it('accepts exactly the identifiers and answers 400 naming `option` for anything else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyOption, fc.bigInt({ min: 2n ** 53n, max: 10n ** 38n }).map(Number), fc.constant(null)),
        async (option) => {
          // Act
          const response = await harness.call({
            method: 'PUT',
            path: `/polls/p-${randomUUID()}/votes/v-1`,
            body: { option },
          });

          // Assess
          if (typeof option === 'string' && isSafeId(option)) {
            expect(response.statusCode).toBe(201);
          } else {
            expect(response.statusCode).toBe(400);
            expect(responseJson(response)).toMatchObject({ field: 'option' });
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** One step of a voter: vote for an option (a cast, or a change when the voter holds another), or retract. */
type Step =
  | { readonly voter: number; readonly option: string }
  | { readonly voter: number; readonly retract: true };

describe('the vote aggregator on DynamoDB Local with any option', () => {
  const store = (): DynamoDbPollResultsStore =>
    new DynamoDbPollResultsStore(localDynamoDb().documentClient, pollResultsTable);
  let pollResultsTable: string;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const tables = await createTestTables();
    pollResultsTable = tables.PollResults;
    drop = () => tables.drop();
  });

  afterAll(async () => {
    await drop();
  });

  it('counts every valid option exactly through batches and re-deliveries; only refused names are dead-lettered', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ voter: fc.nat(5), option: validOption }),
            fc.record({ voter: fc.nat(5), retract: fc.constant(true as const) }),
          ),
          { minLength: 1, maxLength: 25 },
        ),
        fc.array(invalidOption, { maxLength: 3 }),
        fc.integer({ min: 1, max: 10 }),
        fc.nat(),
        async (steps: Step[], refused, batchSize, redeliverAt) => {
          // Prepare: the stream the API's writes produce, with the refused names written by another voter.
          const pollId = `p-${randomUUID()}`;
          const v = voteRecords();
          const held = new Map<number, string>();
          const records: DynamoDBRecord[] = [];
          const refusedRecords = new Set<DynamoDBRecord>();
          steps.forEach((step, index) => {
            const voterId = `v-${step.voter}`;
            const before = held.get(step.voter);
            if ('retract' in step) {
              if (before !== undefined) records.push(v.retract(pollId, voterId, before));
              held.delete(step.voter);
            } else if (before === undefined) {
              records.push(v.cast(pollId, voterId, step.option));
              held.set(step.voter, step.option);
            } else if (before !== step.option) {
              records.push(v.change(pollId, voterId, before, step.option));
              held.set(step.voter, step.option);
            }
            const name = refused[index];
            if (name !== undefined) {
              const record = v.cast(pollId, `other-${index}`, name);
              refusedRecords.add(record);
              records.push(record);
            }
          });
          const handle = createVoteBatchHandler({ store: store(), logger: recordingLogger() });
          const kinds = new Map<DynamoDBRecord, string>();

          // Act: batches in order; after one batch, Lambda re-delivers from an earlier record on.
          const batches: DynamoDBRecord[][] = [];
          for (let start = 0; start < records.length; start += batchSize) {
            batches.push(records.slice(start, start + batchSize));
          }
          const redeliveryAfter = batches.length === 0 ? -1 : redeliverAt % batches.length;
          for (const [index, batch] of batches.entries()) {
            const outcomes = await handle(changeRecords(batch), streamContext());
            for (const record of batch) {
              kinds.set(record, outcomes.get(record.dynamodb?.SequenceNumber ?? '')?.kind ?? 'missing');
            }
            if (index === redeliveryAfter) {
              const again = records.slice(Math.max(0, index * batchSize - 1), (index + 1) * batchSize);
              const redelivered = await handle(changeRecords(again), streamContext());
              expect([...redelivered.values()].every((outcome) => outcome.kind !== 'transient')).toBe(true);
            }
          }

          // Assess
          for (const record of records) {
            expect(kinds.get(record)).toBe(refusedRecords.has(record) ? 'permanent' : 'ok');
          }
          const expected = new Map<string, number>();
          for (const option of held.values()) expected.set(option, (expected.get(option) ?? 0) + 1);
          const { Item } = await localDynamoDb().client.send(
            new GetItemCommand({
              TableName: pollResultsTable,
              Key: { pollId: { S: pollId } },
              ConsistentRead: true,
            }),
          );
          const stored = new Map(
            Object.entries(Item?.counts?.M ?? {})
              .map(([option, count]): [string, number] => [option, Number(count.N)])
              .filter(([, count]) => count !== 0),
          );
          expect(stored).toStrictEqual(expected);
          const sum = [...expected.values()].reduce((total, count) => total + count, 0);
          expect(Number(Item?.total?.N ?? '0')).toBe(sum);
        },
      ),
      { numRuns: 40 },
    );
  });
});
