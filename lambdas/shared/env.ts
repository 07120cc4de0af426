/**
 * Names of the environment variables that CDK sets on functions and that Lambda code reads.
 * One constant per variable, imported by both sides, so a rename can never leave them out of step.
 */
export const ENV = {
  ORDERS_TABLE_NAME: 'ORDERS_TABLE_NAME',
  VOTES_TABLE_NAME: 'VOTES_TABLE_NAME',
  POLL_RESULTS_TABLE_NAME: 'POLL_RESULTS_TABLE_NAME',
  INVENTORY_TABLE_NAME: 'INVENTORY_TABLE_NAME',
  IDEMPOTENCY_TABLE_NAME: 'IDEMPOTENCY_TABLE_NAME',
  /** The SNS topic `order-events` the fan-out publishes to. */
  ORDER_EVENTS_TOPIC_ARN: 'ORDER_EVENTS_TOPIC_ARN',
  /** The OpenSearch domain's endpoint, `https://<host>` (the sandbox's local stand-in: `http://127.0.0.1:<port>`). */
  OPENSEARCH_ENDPOINT: 'OPENSEARCH_ENDPOINT',
  /** Replicas of the `orders` index when a writer creates it (0 on a single-node domain). */
  SEARCH_INDEX_REPLICAS: 'SEARCH_INDEX_REPLICAS',
  /** The S3 bucket the audit log writes its objects to. */
  AUDIT_BUCKET_NAME: 'AUDIT_BUCKET_NAME',
  /** The SQS FIFO queue the fan-out sends warehouse messages to. */
  WAREHOUSE_QUEUE_URL: 'WAREHOUSE_QUEUE_URL',
  /** The From address of the fan-out's e-mails (an address of the verified SES identity). */
  EMAIL_FROM_ADDRESS: 'EMAIL_FROM_ADDRESS',
  /** Names of the SES templates of the order e-mails. */
  EMAIL_TEMPLATE_PLACED: 'EMAIL_TEMPLATE_PLACED',
  EMAIL_TEMPLATE_SHIPPED: 'EMAIL_TEMPLATE_SHIPPED',
  EMAIL_TEMPLATE_CANCELLED: 'EMAIL_TEMPLATE_CANCELLED',
  /** The consumer's own SQS DLQ, used by the stream runtime for permanent failures. */
  DEAD_LETTER_QUEUE_URL: 'DEAD_LETTER_QUEUE_URL',
  /** A short stable name of the stream consumer, used in logs, metrics and DLQ messages. */
  CONSUMER_NAME: 'CONSUMER_NAME',
  POWERTOOLS_SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  POWERTOOLS_METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
  POWERTOOLS_LOG_LEVEL: 'POWERTOOLS_LOG_LEVEL',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** The CloudWatch namespace every function of the app writes its custom metrics to. */
export const METRICS_NAMESPACE = 'OrdersStreamPipelines';

/** Thrown at cold start when a required environment variable is missing: a deployment error, never a data error. */
export class MissingEnvironmentError extends Error {
  public constructor(name: string) {
    super(`Environment variable ${name} is required but not set`);
    this.name = 'MissingEnvironmentError';
  }
}

/** Reads a required environment variable, failing fast with the variable's name. */
export function requireEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new MissingEnvironmentError(name);
  }
  return value;
}
