import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SearchClient } from '../../lambdas/shared/search/opensearch-client-options.js';
import { OpenSearchIndex } from '../../lambdas/shared/search/opensearch-index.js';
import { ensureOrdersIndex } from '../../lambdas/shared/search/orders-index-bootstrap.js';
import type { BackfillChoices } from './backfill-options.js';
import { type BackfillSummary, runBackfill, runVerify, type VerifySummary } from './backfill-run.js';

/**
 * One backfill run over clients someone else built: `npm run backfill:search` (names and endpoints typed by hand) and
 * `npm run ops -- backfill search` (names from the stage's outputs, clients from OpsAws) both run this. The caller
 * owns the clients and closes them.
 */

export interface BackfillTarget {
  readonly dynamodb: DynamoDBClient;
  /** The Orders table's name. */
  readonly table: string;
  readonly search: SearchClient;
  /** Where `search` points, for the progress lines. */
  readonly endpoint: string;
}

export async function backfillSearch(
  target: BackfillTarget,
  choices: BackfillChoices,
  log: (line: string) => void,
): Promise<BackfillSummary | VerifySummary> {
  const { dynamodb, table, search, endpoint } = target;
  const { mode, segments } = choices;
  if (mode === 'verify') {
    log(`Verifying ${table} against ${endpoint} (${segments} segments)...`);
    return runVerify({ dynamodb, table, segments, search, log });
  }
  if (mode === 'write') {
    // Creates the index when absent (with --replicas), else checks its mappings; never touches its documents.
    await ensureOrdersIndex(search, { replicas: choices.replicas });
  }
  log(
    `${mode === 'write' ? 'Backfilling' : 'Dry run of'} ${table} into ${endpoint} (${segments} segments)...`,
  );
  return runBackfill({
    mode,
    dynamodb,
    table,
    segments,
    index: mode === 'write' ? new OpenSearchIndex(search) : undefined,
    log,
  });
}
