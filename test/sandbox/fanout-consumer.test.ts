import { describe, expect, it } from 'vitest';
import { ORDER_FANOUT_CONSUMER_NAME } from '../../lambdas/order-fanout/names.js';
import { MissingEnvironmentError } from '../../lambdas/shared/env.js';
import { ConsumerWiringError } from '../../sandbox/consumer-factory.js';
import { CONSUMER_FACTORIES } from '../../sandbox/consumers.js';
import { orderFanoutConsumerFactory } from '../../sandbox/fanout-consumer.js';
import { recordingAdapters } from '../support/local-adapters.js';

const ENVIRONMENT = {
  CONSUMER_NAME: 'order-fanout',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.sandbox.localhost/000000000000/order-fanout-dlq',
  ORDERS_TABLE_NAME: 'o',
  INVENTORY_TABLE_NAME: 'i',
  IDEMPOTENCY_TABLE_NAME: 'x',
  ORDER_EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:000000000000:order-events.fifo',
  WAREHOUSE_QUEUE_URL: 'https://sqs.sandbox.localhost/000000000000/w.fifo',
  EMAIL_FROM_ADDRESS: 'orders@example.com',
  EMAIL_TEMPLATE_PLACED: 'p',
  EMAIL_TEMPLATE_SHIPPED: 's',
  EMAIL_TEMPLATE_CANCELLED: 'c',
};

describe('the order fan-out consumer factory', () => {
  it('is in the registry under the consumer name of the construct', () => {
    expect(CONSUMER_FACTORIES[ORDER_FANOUT_CONSUMER_NAME]).toBe(orderFanoutConsumerFactory);
  });

  it('builds the handler with a DynamoDB client of its own and the sandbox DLQ, logger and metrics', () => {
    // Prepare
    const asked: string[] = [];

    // Act
    const handler = orderFanoutConsumerFactory(ENVIRONMENT, recordingAdapters(asked));

    // Assess
    expect(handler).toBeTypeOf('function');
    expect(asked).toEqual([
      'dynamoDb(order-fanout)',
      `deadLetterQueue(${ENVIRONMENT.DEAD_LETTER_QUEUE_URL})`,
      'logger(order-fanout)',
      'metrics(order-fanout)',
    ]);
  });

  it.each(['CONSUMER_NAME', 'DEAD_LETTER_QUEUE_URL'])('names a missing %s', (name) => {
    // Prepare
    const { [name as keyof typeof ENVIRONMENT]: _left, ...env } = ENVIRONMENT;

    // Act & Assess
    expect(() => orderFanoutConsumerFactory(env, recordingAdapters([]))).toThrow(ConsumerWiringError);
    expect(() => orderFanoutConsumerFactory(env, recordingAdapters([]))).toThrow(name);
  });

  it('fails as the Lambda does on any other missing variable, naming it', () => {
    // Prepare
    const { WAREHOUSE_QUEUE_URL: _left, ...env } = ENVIRONMENT;

    // Act & Assess
    expect(() => orderFanoutConsumerFactory(env, recordingAdapters([]))).toThrow(MissingEnvironmentError);
    expect(() => orderFanoutConsumerFactory(env, recordingAdapters([]))).toThrow('WAREHOUSE_QUEUE_URL');
  });
});
