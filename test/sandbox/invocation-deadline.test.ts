import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCountingDynamoDb } from '../../sandbox/adapters/counting-dynamodb.js';
import { LocalSnsClient, localTopicArn } from '../../sandbox/adapters/local-sns.js';
import {
  assertInvocationAlive,
  currentInvocation,
  DEADLINE_MARGIN_MS,
  InvocationDeadlinePassedError,
  withInvocationDeadline,
} from '../../sandbox/invocation-deadline.js';
import { createTestTables, localDynamoDb, type TestTables } from '../support/dynamodb.js';

const EVENT: DynamoDBStreamEvent = { Records: [] };

function context(remainingMs: number): Context {
  return { getRemainingTimeInMillis: () => remainingMs } as Context;
}

describe('withInvocationDeadline', () => {
  it('runs the function in a scope with its deadline, and nothing outside of one', async () => {
    // Prepare
    let now = 1_000;
    let seen: ReturnType<typeof currentInvocation>;
    const fn = withInvocationDeadline(
      'c',
      async () => {
        seen = currentInvocation();
        return { batchItemFailures: [] };
      },
      () => now,
    );

    // Act
    const response = await fn(EVENT, context(500));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen).toMatchObject({ consumerName: 'c', deadlineMs: 1_500 });
    expect(currentInvocation()).toBeUndefined();
    now = 0;
    expect(() => assertInvocationAlive('outside')).not.toThrow();
  });

  it('refuses a call made past the deadline or within its margin, and allows one before', async () => {
    // Prepare
    let now = 0;
    const results: Array<string> = [];
    const fn = withInvocationDeadline(
      'c',
      async () => {
        for (const at of [0, 1_000 - DEADLINE_MARGIN_MS, 1_000 - DEADLINE_MARGIN_MS + 1, 2_000]) {
          now = at;
          try {
            assertInvocationAlive('SNS Publish');
            results.push(`${at}: ok`);
          } catch (error) {
            results.push(`${at}: ${(error as Error).name}`);
          }
        }
        return undefined;
      },
      () => now,
    );

    // Act
    await fn(EVENT, context(1_000));

    // Assess
    expect(results).toEqual([
      '0: ok',
      `${1_000 - DEADLINE_MARGIN_MS}: ok`,
      `${1_000 - DEADLINE_MARGIN_MS + 1}: InvocationDeadlinePassedError`,
      '2000: InvocationDeadlinePassedError',
    ]);
  });
});

describe('the local clients past an invocation deadline', () => {
  let tables: TestTables;
  let outputDir: string;
  beforeAll(async () => {
    tables = await createTestTables();
    outputDir = mkdtempSync(join(tmpdir(), 'deadline-test-'));
  });
  afterAll(async () => {
    await tables.drop();
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('refuse to publish or to call DynamoDB, as Lambda would have frozen the function', async () => {
    // Prepare
    let now = 0;
    const dynamo = createCountingDynamoDb(localDynamoDb().config);
    const sns = new LocalSnsClient({ outputDir });
    const errors: unknown[] = [];
    const fn = withInvocationDeadline(
      'c',
      async () => {
        now = 5_000;
        await sns
          .send(new PublishCommand({ TopicArn: localTopicArn('t'), Message: 'x' }))
          .catch((e) => errors.push(e));
        await dynamo.documentClient
          .send(new GetCommand({ TableName: tables.Inventory, Key: { sku: 'x' } }))
          .catch((e) => errors.push(e));
        return undefined;
      },
      () => now,
    );

    // Act
    await fn(EVENT, context(1_000));

    // Assess
    expect(errors).toHaveLength(2);
    expect(errors.every((error) => error instanceof InvocationDeadlinePassedError)).toBe(true);
    expect(sns.stats().accepted).toBe(0);
    dynamo.destroy();
  });
});

describe('createCountingDynamoDb', () => {
  let tables: TestTables;
  beforeAll(async () => {
    tables = await createTestTables();
  });
  afterAll(async () => {
    await tables.drop();
  });

  it('counts the calls of the client and of its DocumentClient by API operation', async () => {
    // Prepare
    const dynamo = createCountingDynamoDb(localDynamoDb().config);

    // Act
    await dynamo.documentClient.send(
      new PutCommand({ TableName: tables.Inventory, Item: { sku: 'a', available: 1 } }),
    );
    await dynamo.documentClient.send(new GetCommand({ TableName: tables.Inventory, Key: { sku: 'a' } }));
    await dynamo.client.send(new GetItemCommand({ TableName: tables.Inventory, Key: { sku: { S: 'a' } } }));

    // Assess
    expect(dynamo.counter.snapshot()).toEqual({ byOperation: { GetItem: 2, PutItem: 1 }, total: 3 });
    dynamo.destroy();
  });
});
