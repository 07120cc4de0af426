import { createAuditHandler } from '../lambdas/audit-log/audit.js';
import { createAuditAdapters } from '../lambdas/audit-log/compose.js';
import { AUDIT_LOG_CONSUMER_NAME } from '../lambdas/audit-log/names.js';
import { ENV } from '../lambdas/shared/env.js';
import { type ConsumerFactory, requireTemplateVariable } from './consumer-factory.js';

/**
 * The local twin of `lambdas/audit-log/handler.ts`: the same composition (createAuditAdapters, then
 * createAuditHandler) from the function's environment in the template, with the sandbox's S3 stand-in where the
 * Lambda has an S3 client (AUDIT_BUCKET_NAME resolves to the audit bucket's local name), and the sandbox's DLQ,
 * logger, metrics and clock. Tracing (X-Ray) is the one part of its wiring left out.
 */

/** The audit log's consumer factory; `npm start`, chaos and bench get it from CONSUMER_FACTORIES. */
export const auditLogConsumerFactory: ConsumerFactory = (env, adapters) => {
  const required = (name: string): string => requireTemplateVariable(env, AUDIT_LOG_CONSUMER_NAME, name);
  const consumerName = required(ENV.CONSUMER_NAME);
  const queueUrl = required(ENV.DEAD_LETTER_QUEUE_URL);
  required(ENV.AUDIT_BUCKET_NAME);
  return createAuditHandler({
    consumerName,
    deadLetterQueue: adapters.deadLetterQueue(queueUrl),
    logger: adapters.logger(consumerName),
    metrics: adapters.metrics(consumerName),
    clock: adapters.clock,
    ...createAuditAdapters(adapters.s3, env),
  });
};
