import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetterQueue } from '../../lambdas/shared/adapters/sqs-dead-letter-queue.js';
import { ENV, requireEnv } from '../../lambdas/shared/env.js';
import type { StreamFunction } from '../../sandbox/esm/types.js';
import { createProbeFunction, fileEffectSink } from './probe-consumer.js';

/**
 * The probe's Lambda entry, for the template the sandbox reads (the construct needs an existing entry file). It is
 * never deployed: `bin/app.ts` does not add the probe. Were it run in Lambda, its effects would go to /tmp.
 */
let fn: StreamFunction | undefined;

export const handler: StreamFunction = async (event, context) => {
  fn ??= createProbeFunction({
    consumerName: requireEnv(ENV.CONSUMER_NAME),
    deadLetterQueue: new SqsDeadLetterQueue(new SQSClient({}), requireEnv(ENV.DEAD_LETTER_QUEUE_URL)),
    effects: fileEffectSink('/tmp/chaos-probe-effects.jsonl'),
  });
  return fn(event, context);
};
