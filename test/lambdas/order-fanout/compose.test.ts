import type { SESv2Client, SendBulkEmailCommand, SendBulkEmailCommandOutput } from '@aws-sdk/client-sesv2';
import type { PublishBatchCommand, PublishBatchCommandOutput, SNSClient } from '@aws-sdk/client-sns';
import type { SendMessageBatchCommand, SendMessageBatchCommandOutput, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { DynamoDbFanoutStore } from '../../../lambdas/order-fanout/adapters/dynamodb-fanout-store.js';
import { SesEmailSender } from '../../../lambdas/order-fanout/adapters/ses-email-sender.js';
import { SnsEventPublisher } from '../../../lambdas/order-fanout/adapters/sns-event-publisher.js';
import { SqsWarehouseQueue } from '../../../lambdas/order-fanout/adapters/sqs-warehouse-queue.js';
import { createFanoutAdapters, type FanoutClients } from '../../../lambdas/order-fanout/compose.js';
import { ENV, type EnvName, MissingEnvironmentError } from '../../../lambdas/shared/env.js';
import { DynamoDbOrdersRepository } from '../../../lambdas/shared/orders/dynamodb-orders-repository.js';
import { createTestTables, localDynamoDb, type TestTables } from '../../support/dynamodb.js';
import { placedEmail, placedEvent, warehouseMessage } from './adapters/factories.js';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:order-events';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/warehouse.fifo';

let tables: TestTables;

beforeAll(async () => {
  tables = await createTestTables();
});

afterAll(async () => {
  await tables.drop();
});

/** The fan-out function's environment as CDK sets it, with the file's local tables. */
function environment(): Record<string, string> {
  return {
    [ENV.ORDERS_TABLE_NAME]: tables.Orders,
    [ENV.INVENTORY_TABLE_NAME]: tables.Inventory,
    [ENV.IDEMPOTENCY_TABLE_NAME]: tables.Idempotency,
    [ENV.ORDER_EVENTS_TOPIC_ARN]: TOPIC_ARN,
    [ENV.WAREHOUSE_QUEUE_URL]: QUEUE_URL,
    [ENV.EMAIL_FROM_ADDRESS]: 'orders@shop.example.com',
    [ENV.EMAIL_TEMPLATE_PLACED]: 'order-placed-v1',
    [ENV.EMAIL_TEMPLATE_SHIPPED]: 'order-shipped-v1',
    [ENV.EMAIL_TEMPLATE_CANCELLED]: 'order-cancelled-v1',
  };
}

/** Stand-ins of the SNS, SES and SQS clients, as the sandbox passes them: objects with `send`, recording the input. */
function standInClients(): FanoutClients & { readonly sent: Record<string, unknown>[] } {
  const sent: Record<string, unknown>[] = [];
  return {
    sent,
    sns: {
      send: async (command: PublishBatchCommand): Promise<PublishBatchCommandOutput> => {
        sent.push({ ...command.input });
        const ids = (command.input.PublishBatchRequestEntries ?? []).map((entry) => entry.Id);
        return { Successful: ids.map((Id) => ({ Id })), $metadata: {} };
      },
    },
    ses: {
      send: async (command: SendBulkEmailCommand): Promise<SendBulkEmailCommandOutput> => {
        sent.push({ ...command.input });
        const entries = command.input.BulkEmailEntries ?? [];
        return { BulkEmailEntryResults: entries.map(() => ({ Status: 'SUCCESS' })), $metadata: {} };
      },
    },
    sqs: {
      send: async (command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput> => {
        sent.push({ ...command.input });
        const ids = (command.input.Entries ?? []).map((entry) => entry.Id);
        return {
          Successful: ids.map((Id) => ({ Id, MessageId: 'q', MD5OfMessageBody: 'x' })),
          Failed: [],
          $metadata: {},
        };
      },
    },
    documentClient: localDynamoDb().documentClient,
  };
}

describe('createFanoutAdapters', () => {
  it('takes the real SDK clients (type-level check)', () => {
    expectTypeOf<SNSClient>().toExtend<FanoutClients['sns']>();
    expectTypeOf<SESv2Client>().toExtend<FanoutClients['ses']>();
    expectTypeOf<SQSClient>().toExtend<FanoutClients['sqs']>();
  });

  it('builds the five adapters', () => {
    // Act
    const ports = createFanoutAdapters(standInClients(), environment());

    // Assess
    expect(ports.events).toBeInstanceOf(SnsEventPublisher);
    expect(ports.emails).toBeInstanceOf(SesEmailSender);
    expect(ports.warehouse).toBeInstanceOf(SqsWarehouseQueue);
    expect(ports.store).toBeInstanceOf(DynamoDbFanoutStore);
    expect(ports.orders).toBeInstanceOf(DynamoDbOrdersRepository);
  });

  it('wires the topic, the queue, the sender and the templates from the environment', async () => {
    // Prepare
    const clients = standInClients();
    const ports = createFanoutAdapters(clients, environment());

    // Act
    await ports.events.publishBatch([placedEvent(1)]);
    await ports.warehouse.sendBatch([warehouseMessage(1)]);
    await ports.emails.sendBulk('shipped', [placedEmail(1, { kind: 'shipped' })]);

    // Assess
    expect(clients.sent).toMatchObject([
      { TopicArn: TOPIC_ARN },
      { QueueUrl: QUEUE_URL },
      {
        FromEmailAddress: 'orders@shop.example.com',
        DefaultContent: { Template: { TemplateName: 'order-shipped-v1' } },
      },
    ]);
  });

  it('wires the store and the orders repository to the tables of the environment', async () => {
    // Prepare
    const ports = createFanoutAdapters(standInClients(), environment(), {
      clock: () => Date.UTC(2030, 0, 1),
    });

    // Act
    await ports.store.applyStock({ reservations: [], deltas: [{ sku: 'COMPOSE-1', delta: 3 }] });
    await ports.store.recordDone([{ changeKey: 'compose-change', effects: ['event'] }]);
    const state = await ports.store.read({
      changeKeys: ['compose-change'],
      orderIds: [],
      skus: ['COMPOSE-1'],
    });
    const order = await ports.orders.get('no-such-order');

    // Assess
    expect(state.stock.get('COMPOSE-1')).toBe(3);
    expect(state.doneEffects.get('compose-change')).toEqual(new Set(['event']));
    expect(order).toBeUndefined();
  });

  it.each<EnvName>([
    ENV.ORDERS_TABLE_NAME,
    ENV.INVENTORY_TABLE_NAME,
    ENV.IDEMPOTENCY_TABLE_NAME,
    ENV.ORDER_EVENTS_TOPIC_ARN,
    ENV.WAREHOUSE_QUEUE_URL,
    ENV.EMAIL_FROM_ADDRESS,
    ENV.EMAIL_TEMPLATE_PLACED,
    ENV.EMAIL_TEMPLATE_SHIPPED,
    ENV.EMAIL_TEMPLATE_CANCELLED,
  ])('fails with MissingEnvironmentError naming %s when it is not set', (name) => {
    // Prepare
    const env = { ...environment(), [name]: undefined };

    // Act
    const composing = (): unknown => createFanoutAdapters(standInClients(), env);

    // Assess
    expect(composing).toThrow(MissingEnvironmentError);
    expect(composing).toThrow(name);
  });
});

describe('handler (the composition root)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  function stubFunctionEnvironment(): void {
    for (const [name, value] of Object.entries(environment())) {
      vi.stubEnv(name, value);
    }
    vi.stubEnv(ENV.CONSUMER_NAME, 'order-fanout');
    vi.stubEnv(
      ENV.DEAD_LETTER_QUEUE_URL,
      'https://sqs.eu-west-1.amazonaws.com/123456789012/order-fanout-dlq',
    );
  }

  it('loads with the function environment and answers an empty batch without calling AWS', async () => {
    // Prepare
    stubFunctionEnvironment();
    const { handler } = await import('../../../lambdas/order-fanout/handler.js');

    // Act
    const response = await handler({ Records: [] }, {} as Context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it.each<EnvName>([ENV.CONSUMER_NAME, ENV.DEAD_LETTER_QUEUE_URL, ENV.ORDER_EVENTS_TOPIC_ARN])(
    'fails the cold start when %s is missing',
    async (name) => {
      // Prepare
      stubFunctionEnvironment();
      vi.stubEnv(name, '');

      // Act
      const loading = import('../../../lambdas/order-fanout/handler.js');

      // Assess
      await expect(loading).rejects.toThrow(`Environment variable ${name} is required but not set`);
    },
  );
});
