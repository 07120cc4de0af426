/**
 * Attribute names of the tables that both the CDK app (key schemas, TTL settings) and Lambda code use. Here, with no
 * dependencies, so that Lambda bundles never pull in aws-cdk-lib to learn a name.
 */

/** The TTL attribute of the Idempotency table: the one Powertools idempotency writes, and the fan-out's ledger too. */
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';
