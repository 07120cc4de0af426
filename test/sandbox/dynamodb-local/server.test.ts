import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished } from 'vitest';
import { ensureDynamoDbLocal } from '../../../sandbox/dynamodb-local/fetch.js';
import {
  type DynamoDbLocal,
  DynamoDbLocalStartError,
  localClientConfig,
  type StartDynamoDbLocalOptions,
  startDynamoDbLocal,
} from '../../../sandbox/dynamodb-local/server.js';

const execFileAsync = promisify(execFile);
const FIXTURE = new URL('./fixtures/start-then-die.ts', import.meta.url).pathname;

/** A client that fails at once instead of retrying, so "not answering" shows as a rejection. */
function clientFor(endpoint: string, overrides: Partial<DynamoDBClientConfig> = {}): DynamoDBClient {
  return new DynamoDBClient({ ...localClientConfig(endpoint), maxAttempts: 1, ...overrides });
}

/** Starts an emulator that is stopped when the test ends, even when the test fails half-way. */
async function started(options: StartDynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const dynamodb = await startDynamoDbLocal(options);
  onTestFinished(() => dynamodb.stop());
  return dynamodb;
}

async function createTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

async function tableNames(endpoint: string): Promise<string[]> {
  const client = clientFor(endpoint);
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

/**
 * Resolves once nothing answers at the endpoint any more. The parent's exit handler sends SIGKILL, which the kernel
 * completes shortly after the parent is gone; the test timeout bounds the wait.
 */
async function untilRefused(endpoint: string): Promise<void> {
  for (;;) {
    const answered = await tableNames(endpoint).then(
      () => true,
      () => false,
    );
    if (!answered) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('localClientConfig', () => {
  it('configures a client that reaches the run’s DynamoDB Local', async () => {
    // Prepare
    const endpoint = inject('dynamodbEndpoint');

    // Act
    const config = localClientConfig(endpoint);
    const names = await tableNames(config.endpoint);

    // Assess
    expect(config).toMatchObject({ endpoint, region: expect.any(String) });
    expect(Array.isArray(names)).toBe(true);
  });
});

describe('startDynamoDbLocal', () => {
  let scratch: string;
  let emulatorDir: string;

  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'server-test-'));
    emulatorDir = await ensureDynamoDbLocal();
  });

  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('serves one database to every credential and region, and stops for good', async () => {
    // Prepare
    const dynamodb = await started({ emulatorDir });
    const writer = clientFor(dynamodb.endpoint);
    const otherCaller = clientFor(dynamodb.endpoint, {
      region: 'us-east-1',
      credentials: { accessKeyId: 'someoneElse', secretAccessKey: 'x' },
    });

    // Act
    await createTable(writer, 'shared-table');
    const seenByOther = (await otherCaller.send(new ListTablesCommand({}))).TableNames;
    await dynamodb.stop();
    await dynamodb.stop();

    // Assess
    expect(dynamodb.endpoint).toBe(`http://127.0.0.1:${dynamodb.port}`);
    expect(seenByOther).toEqual(['shared-table']);
    await expect(tableNames(dynamodb.endpoint)).rejects.toThrow();
    writer.destroy();
    otherCaller.destroy();
  });

  it('keeps data across restarts with dbPath', async () => {
    // Prepare
    const first = await started({ emulatorDir, dbPath: scratch });
    const client = clientFor(first.endpoint);
    await createTable(client, 'persisted');
    client.destroy();
    await first.stop();

    // Act
    const second = await started({ emulatorDir, dbPath: scratch, port: first.port });
    const names = await tableNames(second.endpoint);
    await second.stop();

    // Assess
    expect(second.port).toBe(first.port);
    expect(names).toEqual(['persisted']);
  });

  it('reports an emulator that exits before it is ready, with its output', async () => {
    // Act
    const result = startDynamoDbLocal({ emulatorDir, dbPath: join(scratch, 'does-not-exist') });

    // Assess
    await expect(result).rejects.toThrow(DynamoDbLocalStartError);
    await expect(result).rejects.toThrow(
      /exited before it was ready[\s\S]*Invalid directory for database creation/,
    );
  });

  it('reports an emulator that does not answer in time, and kills it', async () => {
    // Act (no JVM answers within 1 ms of being spawned)
    const error = await startDynamoDbLocal({ emulatorDir, startTimeoutMs: 1 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(DynamoDbLocalStartError);
    const message = (error as Error).message;
    expect(message).toMatch(/did not answer ListTables at http:\/\/127\.0\.0\.1:\d+ within 1 ms/);
    const endpoint = /(http:\/\/127\.0\.0\.1:\d+)/.exec(message)![1]!;
    await expect(tableNames(endpoint)).rejects.toThrow();
  });

  it('says how to install Java when there is none', async () => {
    // Prepare
    const path = process.env.PATH;
    process.env.PATH = scratch;

    // Act
    const result = startDynamoDbLocal({ emulatorDir });

    // Assess
    try {
      await expect(result).rejects.toThrow(/java.*not on PATH.*apt-get install -y default-jre-headless/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('does not outlive the process that started it', async () => {
    // Act
    const outcome: { stdout: string; signal?: string | null } = await execFileAsync(process.execPath, [
      '--import',
      'tsx',
      FIXTURE,
      emulatorDir,
    ]).catch((error: unknown) => error as { stdout: string; signal: string | null });
    const endpoint = outcome.stdout.trim();

    // Assess
    expect(outcome.signal).toBe('SIGKILL');
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await untilRefused(endpoint);
  });
});
