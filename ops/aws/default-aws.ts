import { SQSClient } from '@aws-sdk/client-sqs';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { OpsAws } from './ports.js';
import { SqsDeadLetterQueues } from './sqs-dead-letter-queues.js';
import {
  UNAVAILABLE_ALARMS,
  UNAVAILABLE_MAPPINGS,
  UNAVAILABLE_METRICS,
  UNAVAILABLE_STACK_OUTPUTS,
} from './unavailable.js';

/**
 * The production AWS side of `npm run ops`: SDK clients with the default credential chain, in `region` or the
 * chain's region. CloudFormation, Lambda and CloudWatch are stand-ins until their clients are installed
 * (unavailable.ts): each becomes one adapter implementing its port.
 */
export function defaultOpsAws(region: string | undefined): OpsAws {
  const sqs = new SQSClient(region === undefined ? {} : { region });
  return {
    stackOutputs: UNAVAILABLE_STACK_OUTPUTS,
    mappings: UNAVAILABLE_MAPPINGS,
    metrics: UNAVAILABLE_METRICS,
    alarms: UNAVAILABLE_ALARMS,
    deadLetterQueues: new SqsDeadLetterQueues(sqs),
    credentials: defaultProvider(),
    region: async () => {
      try {
        return await sqs.config.region();
      } catch {
        return undefined;
      }
    },
    close: () => sqs.destroy(),
  };
}
