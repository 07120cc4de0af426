import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createOpenSearchClient } from '../../lambdas/shared/search/opensearch-client.js';
import { OpenSearchIndex } from '../../lambdas/shared/search/opensearch-index.js';
import { ensureOrdersIndex } from '../../lambdas/shared/search/orders-index-bootstrap.js';
import { emulatorClientConfig } from '../cli/emulator.js';
import { UsageError } from '../cli/flags.js';
import { BACKFILL_USAGE, type BackfillCliOptions, parseBackfillArgs } from './backfill-options.js';
import { describeBackfill, describeVerify } from './backfill-report.js';
import { type BackfillSummary, runBackfill, runVerify, type VerifySummary } from './backfill-run.js';

/**
 * `npm run backfill:search`: the Orders table into the `orders` index (see backfill-run.ts), its dry run, or the
 * drift report. Progress goes to stderr; a summary to stdout (`--json`: one JSON object). Exit code 0 when everything
 * was written (no drift, with --verify), 1 when something was not or there is drift (or the run failed), 2 for a bad
 * flag.
 */

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The DynamoDB client: DynamoDB Local's configuration for --dynamodb-endpoint, the SDK's chain otherwise. */
function dynamoDbClient(options: BackfillCliOptions): DynamoDBClient {
  if (options.dynamodbEndpoint !== undefined) {
    return new DynamoDBClient({
      ...emulatorClientConfig(options.dynamodbEndpoint),
      ...(options.region === undefined ? {} : { region: options.region }),
    });
  }
  return new DynamoDBClient(options.region === undefined ? {} : { region: options.region });
}

async function run(options: BackfillCliOptions): Promise<BackfillSummary | VerifySummary> {
  const dynamodb = dynamoDbClient(options);
  const search = createOpenSearchClient({
    endpoint: options.endpoint,
    sign: options.sign,
    region: options.region,
  });
  try {
    if (options.mode === 'verify') {
      log(`Verifying ${options.table} against ${options.endpoint} (${options.segments} segments)...`);
      return await runVerify({ dynamodb, table: options.table, segments: options.segments, search, log });
    }
    if (options.mode === 'write') {
      // Creates the index when absent (with --replicas), else checks its mappings; never touches its documents.
      await ensureOrdersIndex(search, { replicas: options.replicas });
    }
    log(
      `${options.mode === 'write' ? 'Backfilling' : 'Dry run of'} ${options.table} into ${options.endpoint} ` +
        `(${options.segments} segments)...`,
    );
    return await runBackfill({
      mode: options.mode,
      dynamodb,
      table: options.table,
      segments: options.segments,
      index: options.mode === 'write' ? new OpenSearchIndex(search) : undefined,
      log,
    });
  } finally {
    dynamodb.destroy();
    await search.close();
  }
}

async function main(): Promise<void> {
  let options: BackfillCliOptions | 'help';
  try {
    options = parseBackfillArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${BACKFILL_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${BACKFILL_USAGE}\n`);
    return;
  }
  try {
    const summary = await run(options);
    if (!options.json) {
      process.stdout.write(
        `${summary.mode === 'verify' ? describeVerify(summary) : describeBackfill(summary)}\n`,
      );
    } else {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    }
    process.exitCode = summary.ok ? 0 : 1;
  } catch (error) {
    log(`Backfill failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  }
}

await main();
