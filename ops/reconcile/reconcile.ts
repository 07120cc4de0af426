import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { emulatorClientConfig } from '../cli/emulator.js';
import { UsageError } from '../cli/flags.js';
import { parseReconcileArgs, RECONCILE_USAGE, type ReconcileCliOptions } from './reconcile-options.js';
import { describeReconcile } from './reconcile-report.js';
import { reconcileTables } from './reconcile-tables.js';

/**
 * `npm run reconcile:votes`: the recount of the Votes table against PollResults, and with --fix the race-free fix
 * (fix-protocol.ts). Progress goes to stderr; the report to stdout (--json: one JSON object as the last line). Exit
 * code 0 when no drift is left, 1 when drift remains or a fix could not be made (or the run failed), 2 for a bad flag.
 */

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function dynamoDbClient(options: ReconcileCliOptions): DynamoDBClient {
  const region = options.region === undefined ? {} : { region: options.region };
  if (options.endpoint !== undefined) {
    return new DynamoDBClient({ ...emulatorClientConfig(options.endpoint), ...region });
  }
  return new DynamoDBClient(region);
}

async function main(): Promise<void> {
  let options: ReconcileCliOptions | 'help';
  try {
    options = parseReconcileArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${RECONCILE_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${RECONCILE_USAGE}\n`);
    return;
  }
  const client = dynamoDbClient(options);
  try {
    const tables = { votes: options.votesTable, results: options.resultsTable };
    const summary = await reconcileTables(client, tables, options, log);
    process.stdout.write(`${options.json ? JSON.stringify(summary) : describeReconcile(summary, tables)}\n`);
    process.exitCode = summary.ok ? 0 : 1;
  } catch (error) {
    log(`Reconcile failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  } finally {
    client.destroy();
  }
}

await main();
