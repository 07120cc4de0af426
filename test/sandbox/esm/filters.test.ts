import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { compileFilters, UnsupportedFilterError } from '../../../sandbox/esm/filters.js';
import type { FilterPattern } from '../../../sandbox/esm/types.js';
import {
  createStreamRecordFactory,
  DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
} from '../../support/stream-records.js';

const records = createStreamRecordFactory({ tableName: 'Orders', keyAttributes: ['orderId'] });

const placed = {
  orderId: 'order-1',
  status: 'PLACED',
  customerEmail: 'Ada@Example.com',
  totalCents: 1999,
  tags: ['gift', 'express'],
};

/** The records the matrix is run against, by name. */
const RECORDS: Readonly<Record<string, DynamoDBRecord>> = {
  insertPlaced: records.insert(placed),
  modifyToShipped: records.modify(placed, { ...placed, status: 'SHIPPED', trackingId: 'TRK-1' }),
  removeByUser: records.remove(placed),
  insertWithoutEmail: records.insert({ orderId: 'order-2', status: 'PLACED', totalCents: 5 }),
};

type RecordName = keyof typeof RECORDS;

const matching = (patterns: readonly FilterPattern[]): RecordName[] => {
  const filter = compileFilters(patterns);
  return Object.entries(RECORDS)
    .filter(([, record]) => filter(record))
    .map(([name]) => name);
};

describe('compileFilters', () => {
  it('lets every record through when there are no patterns', () => {
    // Prepare
    const patterns: FilterPattern[] = [];

    // Act
    const passed = matching(patterns);

    // Assess
    expect(passed).toEqual(Object.keys(RECORDS));
  });

  it.each<[string, FilterPattern, RecordName[]]>([
    ['an exact value', { eventName: ['INSERT'] }, ['insertPlaced', 'insertWithoutEmail']],
    ['a list of values (OR)', { eventName: ['MODIFY', 'REMOVE'] }, ['modifyToShipped', 'removeByUser']],
    [
      'nested keys down to the attribute type',
      { dynamodb: { NewImage: { status: { S: ['SHIPPED'] } } } },
      ['modifyToShipped'],
    ],
    [
      'several fields (AND)',
      { eventName: ['INSERT'], dynamodb: { NewImage: { customerEmail: { S: [{ exists: true }] } } } },
      ['insertPlaced'],
    ],
    [
      'exists: true on a leaf',
      { dynamodb: { NewImage: { trackingId: { S: [{ exists: true }] } } } },
      ['modifyToShipped'],
    ],
    [
      'exists: false on a leaf',
      { dynamodb: { NewImage: { customerEmail: { S: [{ exists: false }] } } } },
      ['removeByUser', 'insertWithoutEmail'],
    ],
    [
      'exists: true on an intermediate node, which Lambda documents as never matching',
      { dynamodb: { NewImage: { status: [{ exists: true }] } } },
      [],
    ],
    ['prefix', { dynamodb: { NewImage: { status: { S: [{ prefix: 'SHIP' }] } } } }, ['modifyToShipped']],
    [
      'anything-but with a list, which needs the field to be present',
      { dynamodb: { NewImage: { status: { S: [{ 'anything-but': ['PLACED', 'CANCELLED'] }] } } } },
      ['modifyToShipped'],
    ],
    [
      'anything-but with one value',
      { eventName: [{ 'anything-but': 'INSERT' }] },
      ['modifyToShipped', 'removeByUser'],
    ],
    [
      'numeric range on a JSON number',
      {
        dynamodb: {
          ApproximateCreationDateTime: [
            {
              numeric: [
                '>',
                DEFAULT_APPROXIMATE_CREATION_DATE_TIME - 1,
                '<=',
                DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
              ],
            },
          ],
        },
      },
      ['insertPlaced', 'modifyToShipped', 'removeByUser', 'insertWithoutEmail'],
    ],
    [
      'numeric on a DynamoDB number, a string in the record, which never matches',
      { dynamodb: { NewImage: { totalCents: { N: [{ numeric: ['>', 0] }] } } } },
      [],
    ],
    [
      'an exact value compared with its JSON type',
      { dynamodb: { NewImage: { totalCents: { N: [1999] } } } },
      [],
    ],
    [
      'equals-ignore-case',
      { dynamodb: { NewImage: { customerEmail: { S: [{ 'equals-ignore-case': 'ada@example.COM' }] } } } },
      ['insertPlaced', 'modifyToShipped'],
    ],
    [
      'a value inside a list attribute (arrays match by any element)',
      { dynamodb: { OldImage: { tags: { L: { S: ['express'] } } } } },
      ['modifyToShipped', 'removeByUser'],
    ],
    [
      '$or of alternatives at one level',
      {
        $or: [{ eventName: ['REMOVE'] }, { dynamodb: { NewImage: { status: { S: ['SHIPPED'] } } } }],
      },
      ['modifyToShipped', 'removeByUser'],
    ],
  ])('matches %s', (_name, pattern, expected) => {
    // Prepare
    const patterns = [pattern];

    // Act
    const passed = matching(patterns);

    // Assess
    expect(passed).toEqual(expected);
  });

  it('lets a record through when any of several patterns matches it (patterns are ORed)', () => {
    // Prepare
    const patterns: FilterPattern[] = [
      { eventName: ['REMOVE'] },
      { dynamodb: { Keys: { orderId: { S: ['order-2'] } } } },
    ];

    // Act
    const passed = matching(patterns);

    // Assess
    expect(passed).toEqual(['removeByUser', 'insertWithoutEmail']);
  });

  it.each<[string, unknown, string]>([
    ['suffix', { eventName: [{ suffix: 'ERT' }] }, 'eventName'],
    ['wildcard', { eventName: [{ wildcard: 'IN*' }] }, 'eventName'],
    ['cidr', { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] }, 'sourceIPAddress'],
    [
      'anything-but with a nested operator',
      { eventName: [{ 'anything-but': { prefix: 'IN' } }] },
      'eventName',
    ],
    ['a bare value instead of a list', { eventName: 'INSERT' }, 'eventName'],
    ['an empty list', { eventName: [] }, 'eventName'],
    ['an empty object', { dynamodb: {} }, 'dynamodb'],
    [
      'an unknown numeric operator',
      { dynamodb: { SizeBytes: [{ numeric: ['!=', 1] }] } },
      'dynamodb.SizeBytes',
    ],
    [
      'a numeric rule of odd length',
      { dynamodb: { SizeBytes: [{ numeric: ['>', 1, '<'] }] } },
      'dynamodb.SizeBytes',
    ],
    ['$or with a single alternative', { $or: [{ eventName: ['INSERT'] }] }, '$or'],
    ['two operators in one object', { eventName: [{ prefix: 'IN', exists: true }] }, 'eventName'],
    ['exists with a non-boolean', { eventName: [{ exists: 'yes' }] }, 'eventName'],
    ['a pattern that is not an object', ['INSERT'], '(root)'],
  ])('refuses %s at construction, naming the pattern and the field', (_name, pattern, path) => {
    // Prepare
    const patterns = [pattern as FilterPattern];

    // Act
    const compile = (): unknown => compileFilters(patterns);

    // Assess
    expect(compile).toThrow(UnsupportedFilterError);
    expect(compile).toThrow(`Unsupported filter pattern ${JSON.stringify(pattern)} at ${path}:`);
  });
});
