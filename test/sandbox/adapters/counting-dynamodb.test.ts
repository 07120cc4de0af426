import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallCounter,
  CallLogDisabledError,
  createCountingDynamoDb,
} from '../../../sandbox/adapters/counting-dynamodb.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';

describe('CallCounter', () => {
  it('counts by operation and keeps no call log unless asked to', () => {
    // Prepare
    const counter = new CallCounter();

    // Act
    counter.count('GetItem', { TableName: 't' });
    counter.count('PutItem');
    counter.count('GetItem');

    // Assess
    expect(counter.snapshot()).toEqual({ byOperation: { GetItem: 2, PutItem: 1 }, total: 3 });
    expect(() => counter.calls()).toThrow(CallLogDisabledError);
  });

  it('keeps every call with its time, input and the tables it names, when asked to', () => {
    // Prepare
    let now = 100;
    const counter = new CallCounter({ keepCalls: true, clock: () => now });
    const transact = {
      TransactItems: [
        { Put: { TableName: 'a', Item: {} } },
        { Update: { TableName: 'b', Key: {} } },
        { ConditionCheck: { TableName: 'a', Key: {} } },
      ],
    };

    // Act
    counter.count('UpdateItem', { TableName: 'results', Key: { pollId: 'p-1' } });
    now = 250;
    counter.count('BatchWriteItem', { RequestItems: { x: [], y: [] } });
    counter.count('TransactWriteItems', transact);
    counter.count('ListTables', {});

    // Assess
    expect(counter.calls()).toEqual([
      {
        atMs: 100,
        operation: 'UpdateItem',
        tables: ['results'],
        input: { TableName: 'results', Key: { pollId: 'p-1' } },
      },
      {
        atMs: 250,
        operation: 'BatchWriteItem',
        tables: ['x', 'y'],
        input: { RequestItems: { x: [], y: [] } },
      },
      { atMs: 250, operation: 'TransactWriteItems', tables: ['a', 'b'], input: transact },
      { atMs: 250, operation: 'ListTables', tables: [], input: {} },
    ]);
    expect(counter.snapshot().total).toBe(4);
  });
});

describe('createCountingDynamoDb with a call log', () => {
  let tables: TestTables;
  beforeAll(async () => {
    tables = await createTestTables();
  });
  afterAll(async () => {
    await tables.drop();
  });

  it("logs the DocumentClient's calls with their table and key, and counts them as without a log", async () => {
    // Prepare
    const dynamo = createCountingDynamoDb(localDynamoDb().config, { keepCalls: true });

    // Act
    await dynamo.documentClient.send(
      new PutCommand({ TableName: tables.Inventory, Item: { sku: 'a', available: 1 } }),
    );
    await dynamo.documentClient.send(
      new UpdateCommand({
        TableName: tables.Inventory,
        Key: { sku: 'a' },
        UpdateExpression: 'SET available = :n',
        ExpressionAttributeValues: { ':n': 2 },
      }),
    );

    // Assess
    const calls = dynamo.counter.calls();
    expect(calls.map((call) => [call.operation, call.tables])).toEqual([
      ['PutItem', [tables.Inventory]],
      ['UpdateItem', [tables.Inventory]],
    ]);
    expect(JSON.stringify(calls[1]?.input.Key)).toContain('"a"');
    expect(dynamo.counter.snapshot()).toEqual({ byOperation: { PutItem: 1, UpdateItem: 1 }, total: 2 });
    dynamo.destroy();
  });
});
