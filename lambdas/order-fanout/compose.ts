import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV, type EnvName, requireEnv } from '../shared/env.js';
import { DynamoDbOrdersRepository } from '../shared/orders/dynamodb-orders-repository.js';
import type { Clock } from '../shared/stream/stream-handler.js';
import { DynamoDbFanoutStore } from './adapters/dynamodb-fanout-store.js';
import { type SesBulkEmailClient, SesEmailSender } from './adapters/ses-email-sender.js';
import { SnsEventPublisher, type SnsPublishClient } from './adapters/sns-event-publisher.js';
import { type SqsSendBatchClient, SqsWarehouseQueue } from './adapters/sqs-warehouse-queue.js';
import type { OrderFanoutPorts } from './fanout.js';

/**
 * The clients the fan-out's adapters work through. The Lambda passes the AWS SDK clients; the local sandbox passes
 * stand-ins for SNS, SES and SQS (they need only `send` of the one command each adapter uses) and a DocumentClient of
 * DynamoDB Local.
 */
export interface FanoutClients {
  readonly sns: SnsPublishClient;
  readonly ses: SesBulkEmailClient;
  readonly sqs: SqsSendBatchClient;
  /** Should remove undefined values on marshalling (`marshallOptions: { removeUndefinedValues: true }`). */
  readonly documentClient: DynamoDBDocumentClient;
}

/**
 * The environment variables of the fan-out function, by name: `process.env` in the Lambda, the variables the
 * sandbox resolves from the synthesized template locally. A missing one throws MissingEnvironmentError.
 */
export type FanoutEnvironment = Readonly<Record<string, string | undefined>>;

export interface FanoutAdaptersOptions {
  /** For the ledger's expiry. @default Date.now */
  readonly clock?: Clock;
}

/**
 * The fan-out's five adapters wired to their clients and resources: the one composition shared by the Lambda
 * (`handler.ts`) and the local sandbox, so both run exactly the same adapters with the same settings.
 */
export function createFanoutAdapters(
  clients: FanoutClients,
  env: FanoutEnvironment,
  options: FanoutAdaptersOptions = {},
): OrderFanoutPorts {
  const read = (name: EnvName): string => requireEnv(name, env);
  return {
    events: new SnsEventPublisher(clients.sns, read(ENV.ORDER_EVENTS_TOPIC_ARN)),
    emails: new SesEmailSender(clients.ses, {
      fromAddress: read(ENV.EMAIL_FROM_ADDRESS),
      templates: {
        placed: read(ENV.EMAIL_TEMPLATE_PLACED),
        shipped: read(ENV.EMAIL_TEMPLATE_SHIPPED),
        cancelled: read(ENV.EMAIL_TEMPLATE_CANCELLED),
      },
    }),
    warehouse: new SqsWarehouseQueue(clients.sqs, read(ENV.WAREHOUSE_QUEUE_URL)),
    store: new DynamoDbFanoutStore(
      clients.documentClient,
      { inventory: read(ENV.INVENTORY_TABLE_NAME), idempotency: read(ENV.IDEMPOTENCY_TABLE_NAME) },
      { clock: options.clock },
    ),
    orders: new DynamoDbOrdersRepository(clients.documentClient, read(ENV.ORDERS_TABLE_NAME)),
  };
}
