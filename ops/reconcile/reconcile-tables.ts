import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbReconcilePorts } from './dynamodb-ports.js';
import type { ReconcileChoices } from './reconcile-options.js';
import { type ReconcileSummary, runReconcile } from './reconcile-run.js';

/**
 * One reconcile run over a DynamoDB client someone else built: `npm run reconcile:votes` (table names typed by hand)
 * and `npm run ops -- reconcile votes` (names from the stage's outputs, the client from OpsAws) both run this. The
 * caller owns the client and destroys it.
 */

/** The two tables of a reconcile. */
export interface ReconcileTables {
  readonly votes: string;
  readonly results: string;
}

export async function reconcileTables(
  client: DynamoDBClient,
  tables: ReconcileTables,
  choices: ReconcileChoices,
  log: (line: string) => void,
): Promise<ReconcileSummary> {
  log(
    `Recounting ${choices.poll === undefined ? `every poll (${choices.segments} segments)` : `poll ${choices.poll}`} ` +
      `of ${tables.votes} against ${tables.results}${choices.fix ? ', fixing drift' : ''}...`,
  );
  return runReconcile({
    // A document client over the caller's: it shares its sockets, so destroying the caller's releases both.
    ports: dynamoDbReconcilePorts(DynamoDBDocumentClient.from(client), tables),
    poll: choices.poll,
    segments: choices.segments,
    fix: choices.fix ? { waitMs: choices.waitSeconds * 1000, attempts: choices.attempts } : undefined,
    log,
  });
}
