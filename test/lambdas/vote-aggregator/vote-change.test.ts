import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { classifyError, PermanentError } from '../../../lambdas/shared/errors.js';
import { toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import { RECONCILE_MARKER_VOTER_ID } from '../../../lambdas/vote-aggregator/ports.js';
import { toVoteChange } from '../../../lambdas/vote-aggregator/vote-change.js';
import { FIRST_SEQUENCE_NUMBER, VOTED_AT, voteRecords } from './records.js';

const FIRST = String(FIRST_SEQUENCE_NUMBER);
const PADDED_FIRST = FIRST.padStart(40, '0');
const TIME = 1_714_564_800_000;

/** A copy of `record` with `patch` applied to its `dynamodb` part. */
function patched(record: DynamoDBRecord, patch: Record<string, unknown>): DynamoDBRecord {
  return { ...record, dynamodb: { ...record.dynamodb, ...patch } };
}

describe('toVoteChange', () => {
  const records = (): ReturnType<typeof voteRecords> => voteRecords();

  it.each([
    {
      name: 'an INSERT casts the new option',
      build: () => records().cast('p-1', 'v-1', 'red'),
      after: 'red',
    },
    {
      name: 'a MODIFY moves from the old option to the new one',
      build: () => records().change('p-1', 'v-1', 'red', 'blue'),
      before: 'red',
      after: 'blue',
    },
    {
      name: 'a MODIFY of votedAt only keeps the option on both sides',
      build: () => records().change('p-1', 'v-1', 'red', 'red'),
      before: 'red',
      after: 'red',
    },
    {
      name: 'a REMOVE retracts the old option',
      build: () => records().retract('p-1', 'v-1', 'red'),
      before: 'red',
    },
  ])('$name', ({ build, before, after }) => {
    // Prepare
    const record = toChangeRecord(build());

    // Act
    const change = toVoteChange(record);

    // Assess
    expect(change).toStrictEqual({
      pollId: 'p-1',
      voterId: 'v-1',
      sequence: PADDED_FIRST,
      sequenceNumber: FIRST,
      time: TIME,
      ...(before === undefined ? {} : { before }),
      ...(after === undefined ? {} : { after }),
    });
  });

  it.each([
    { name: 'an INSERT', build: () => records().marker('p-1', 'tok-1') },
    { name: 'a MODIFY', build: () => records().marker('p-1', 'tok-1', 'tok-0') },
  ])('reads a reconcile marker ($name) as its token, counting nothing', ({ build }) => {
    // Prepare
    const record = toChangeRecord(build());

    // Act
    const change = toVoteChange(record);

    // Assess
    expect(change).toStrictEqual({
      pollId: 'p-1',
      voterId: RECONCILE_MARKER_VOTER_ID,
      sequence: PADDED_FIRST,
      sequenceNumber: FIRST,
      time: TIME,
      markerToken: 'tok-1',
    });
  });

  it('reads the REMOVE of a marker as a record that counts nothing and carries no token', () => {
    // Prepare
    const factory = voteRecords();
    const marker = factory.marker('p-1', 'tok-1');
    const removed = { ...marker, eventName: 'REMOVE' as const };
    const record = toChangeRecord(
      patched(removed, { NewImage: undefined, OldImage: marker.dynamodb?.NewImage }),
    );

    // Act
    const change = toVoteChange(record);

    // Assess
    expect(change.before).toBeUndefined();
    expect(change.after).toBeUndefined();
    expect(change.markerToken).toBeUndefined();
  });

  it.each([
    {
      name: 'an INSERT without option',
      build: () => patched(records().cast('p-1', 'v-1', 'red'), { NewImage: { pollId: { S: 'p-1' } } }),
      field: '"option"',
    },
    {
      name: 'an INSERT with a numeric option',
      build: () =>
        patched(records().cast('p-1', 'v-1', 'red'), {
          NewImage: { option: { N: '1' }, votedAt: { S: VOTED_AT } },
        }),
      field: '"option"',
    },
    {
      name: 'a MODIFY without old image',
      build: () => patched(records().change('p-1', 'v-1', 'red', 'blue'), { OldImage: undefined }),
      field: 'old image',
    },
    {
      name: 'a REMOVE without old image',
      build: () => patched(records().retract('p-1', 'v-1', 'red'), { OldImage: undefined }),
      field: 'old image',
    },
    {
      name: 'a record without voterId key',
      build: () => patched(records().cast('p-1', 'v-1', 'red'), { Keys: { pollId: { S: 'p-1' } } }),
      field: '"voterId"',
    },
    {
      name: 'a record without pollId key',
      build: () => patched(records().cast('p-1', 'v-1', 'red'), { Keys: { voterId: { S: 'v-1' } } }),
      field: '"pollId"',
    },
    {
      name: 'a marker without token',
      build: () =>
        patched(records().marker('p-1', 'tok'), {
          NewImage: { pollId: { S: 'p-1' }, voterId: { S: RECONCILE_MARKER_VOTER_ID } },
        }),
      field: '"token"',
    },
    {
      name: 'a record whose sequence number is not digits',
      build: () => patched(records().cast('p-1', 'v-1', 'red'), { SequenceNumber: 'abc' }),
      field: 'sequenceNumber',
    },
  ])('fails $name permanently, naming the field', ({ build, field }) => {
    // Prepare
    const record = toChangeRecord(build());

    // Act
    const act = (): unknown => toVoteChange(record);

    // Assess
    expect(act).toThrow(PermanentError);
    expect(act).toThrow(field);
    let thrown: unknown;
    try {
      act();
    } catch (err) {
      thrown = err;
    }
    expect(classifyError(thrown)).toBe('permanent');
  });
});

describe('toVoteChange, option names', () => {
  it.each(['__proto__', '_x', '.', '..', 'a b', 'ü', 'a'.repeat(129), 'red\u200b', '-x'])(
    'refuses the option %j as the API does: a permanent failure of that record',
    (option) => {
      // Prepare: a vote written to the table by something other than the API.
      const v = voteRecords();
      const records = [v.cast('p-1', 'v-1', option), v.retract('p-1', 'v-2', option)];

      // Act
      const errors = records.map((record) => {
        try {
          toVoteChange(toChangeRecord(record));
          return undefined;
        } catch (error) {
          return error;
        }
      });

      // Assess
      for (const error of errors) {
        expect(error).toBeInstanceOf(PermanentError);
        expect(classifyError(error)).toBe('permanent');
        expect((error as PermanentError).reason).toContain('invalid "option"');
      }
    },
  );

  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'a.b', 'A-1_z', 'a'.repeat(128)])(
    'accepts the option %j',
    (option) => {
      // Act
      const change = toVoteChange(toChangeRecord(voteRecords().cast('p-1', 'v-1', option)));

      // Assess
      expect(change.after).toBe(option);
    },
  );
});
