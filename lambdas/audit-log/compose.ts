import { ENV, requireEnv } from '../shared/env.js';
import { S3AuditStore, type S3PutClient } from './adapters/s3-audit-store.js';
import type { AuditHandlerOptions } from './audit.js';

/**
 * The environment variables of the audit log, by name: `process.env` in the Lambda, the variables the sandbox
 * resolves from the synthesized template locally. A missing required one throws MissingEnvironmentError.
 */
export type AuditEnvironment = Readonly<Record<string, string | undefined>>;

/** What the audit log's handler needs besides its name and DLQ. */
export type AuditPorts = Pick<AuditHandlerOptions, 'store' | 'tableName'>;

/**
 * The audit log's adapters on an S3 client: the one composition shared by the Lambda (`handler.ts`), the local
 * sandbox (its audit-log consumer factory) and the audit benchmark. AUDIT_BUCKET_NAME is required; ORDERS_TABLE_NAME, when set, names the table of records that carry no
 * stream ARN (see AuditBatchHandlerOptions.tableName).
 */
export function createAuditAdapters(client: S3PutClient, env: AuditEnvironment): AuditPorts {
  const store = new S3AuditStore(client, requireEnv(ENV.AUDIT_BUCKET_NAME, env));
  const tableName = env[ENV.ORDERS_TABLE_NAME];
  return tableName === undefined || tableName === '' ? { store } : { store, tableName };
}
