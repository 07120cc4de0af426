import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createOpenSearchClient } from '../../lambdas/shared/search/opensearch-client.js';
import { emulatorClientConfig } from '../cli/emulator.js';
import { UsageError } from '../cli/flags.js';
import { BACKFILL_USAGE, type BackfillCliOptions, parseBackfillArgs } from './backfill-options.js';
import { describeBackfillRun } from './backfill-report.js';
import type { BackfillSummary, VerifySummary } from './backfill-run.js';
import { backfillSearch } from './backfill-search.js';

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
    return await backfillSearch(
      { dynamodb, table: options.table, search, endpoint: options.endpoint },
      options,
      log,
    );
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
    process.stdout.write(`${options.json ? JSON.stringify(summary) : describeBackfillRun(summary)}\n`);
    process.exitCode = summary.ok ? 0 : 1;
  } catch (error) {
    log(`Backfill failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  }
}

await main();
