/**
 * The consumer name of the audit log: its CONSUMER_NAME, metric service, DLQ letters and dashboard titles. Kept in a
 * file of its own with no imports, so that the CDK app can name the consumer without pulling the consumer's runtime
 * dependencies (Powertools, the S3 client) into synth.
 */
export const AUDIT_LOG_CONSUMER_NAME = 'audit-log';
