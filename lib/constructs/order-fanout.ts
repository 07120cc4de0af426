import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  GraphWidget,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, FilterRule } from 'aws-cdk-lib/aws-lambda';
import { CfnTemplate } from 'aws-cdk-lib/aws-ses';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EMAIL_KINDS, type EmailKind, type EmailTemplateData } from '../../lambdas/order-fanout/messages.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../../lambdas/order-fanout/names.js';
import { ORDER_FANOUT_METRICS } from '../../lambdas/order-fanout/ports.js';
import { ENV, type EnvName, METRICS_NAMESPACE } from '../../lambdas/shared/env.js';
import { streamMetricDimensions } from '../../lambdas/shared/stream/metrics.js';
import type { DynamoDbItemAction } from './base-function.js';
import { type PipelineProps, pipelineConsumerProps, runbookBaseUrl } from './pipeline.js';
import { InvalidPropsError } from './props-validation.js';
import { RUNBOOK_ANCHORS, withRunbookLink } from './runbook.js';
import { StreamConsumer } from './stream-consumer.js';

/** The fan-out's handler, resolved from this file so that it holds whatever the working directory. */
export const ORDER_FANOUT_ENTRY = join(
  import.meta.dirname,
  '..',
  '..',
  'lambdas',
  'order-fanout',
  'handler.ts',
);

/**
 * The event source mapping settings of the fan-out that differ from the construct's defaults or matter to it, each
 * with its reason. Retries and maximum record age are the construct's defaults (10 retries, 1 hour): the sinks'
 * outages are short, and an hour keeps a failing record from blocking its shard for long.
 */
export const ORDER_FANOUT_MAPPING = {
  /** Lambda's default for streams: a batch fills SES bulk calls (50 destinations) and the 10-entry SNS/SQS batches. */
  batchSize: 100,
  /**
   * Gathers records for up to a second so that each PublishBatch, SendMessageBatch and SendBulkEmail call carries
   * more entries: fewer calls, less throttling. None of the sinks is latency-critical; a second of delay is not seen.
   */
  maxBatchingWindow: Duration.seconds(1),
  /**
   * One batch per shard at a time. The per-order work (stock, warehouse messages of one FIFO group) is ordered
   * anyway, and the Inventory table sees fewer competing transactions on the same SKUs.
   */
  parallelizationFactor: 1,
} as const;

/**
 * The event filter patterns of the fan-out (any one matching delivers the record). Lambda's filters compare a field
 * with constants, never two fields with each other, so "a MODIFY whose status changed" cannot be expressed: MODIFY
 * records are delivered when the new image has a string `status` at all, and the handler drops those whose status
 * is unchanged without any downstream call. `exists` only matches leaf values, so it must reach `status.S`.
 *
 * - every INSERT (a new order: confirmation e-mail, OrderPlaced, warehouse message, stock reservation) and every
 *   REMOVE (OrderDeleted, stock released, a cancellation to the warehouse);
 * - MODIFY records with a status in their new image.
 */
export const ORDER_FANOUT_FILTER_PATTERNS: ReadonlyArray<Readonly<Record<string, unknown>>> = [
  { eventName: FilterRule.or('INSERT', 'REMOVE') },
  { eventName: FilterRule.isEqual('MODIFY'), dynamodb: { NewImage: { status: { S: FilterRule.exists() } } } },
];

/** The IAM actions the fan-out gets on each table, each for what its code does there. */
export const ORDER_FANOUT_TABLE_ACTIONS = {
  /** Moves an order to BACKORDERED with one conditional UpdateItem; it never reads or writes orders otherwise. */
  orders: ['dynamodb:UpdateItem'],
  /**
   * Reads stock and reservation items with BatchGetItem and writes them in TransactWriteItems (Put and Update items),
   * which IAM authorises per item action: the transaction has no action of its own.
   */
  inventory: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  /** The ledger of effects done: read with BatchGetItem, written with TransactWriteItems Puts. */
  idempotency: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'],
} as const satisfies Record<string, readonly DynamoDbItemAction[]>;

/** `{{name}}` for a field of the template data; typed, so a renamed field fails to compile here. */
function field(name: keyof EmailTemplateData): string {
  return `{{${name}}}`;
}

/** The content of one order e-mail template. */
export interface OrderEmailContent {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

function orderEmail(headline: string, body: string): OrderEmailContent {
  const summary = `Order ${field('orderId')} (customer ${field('customerId')}): ${field('lineCount')} line(s), total ${field('total')}.`;
  return {
    subject: `${headline}: order ${field('orderId')}`,
    html:
      `<html><body><h1>${headline}</h1><p>${body}</p><p>${summary}</p>` +
      '<p>This message was sent automatically; please do not reply.</p></body></html>',
    text: `${headline}\n\n${body}\n\n${summary}\n\nThis message was sent automatically; please do not reply.\n`,
  };
}

/** The order e-mails, by kind. SES substitutes `{{orderId}}`, `{{customerId}}`, `{{total}}` and `{{lineCount}}`. */
export const ORDER_EMAIL_CONTENT: Readonly<Record<EmailKind, OrderEmailContent>> = {
  placed: orderEmail('Thank you for your order', 'We have received your order and are preparing it.'),
  shipped: orderEmail('Your order is on its way', 'Your order has left our warehouse.'),
  cancelled: orderEmail('Your order was cancelled', 'Your order was cancelled and will not be shipped.'),
};

/** The environment variable that carries each template's name. */
export const EMAIL_TEMPLATE_ENV: Readonly<Record<EmailKind, EnvName>> = {
  placed: ENV.EMAIL_TEMPLATE_PLACED,
  shipped: ENV.EMAIL_TEMPLATE_SHIPPED,
  cancelled: ENV.EMAIL_TEMPLATE_CANCELLED,
};

/** The tables the fan-out touches; `DataTables` has them all. */
export interface OrderFanoutTables {
  /** The Orders table: its stream feeds the fan-out, and it moves orders to BACKORDERED. */
  readonly orders: ITable;
  /** Stock and reservations. */
  readonly inventory: ITable;
  /** The ledger of effects already done per stream record. */
  readonly idempotency: ITable;
}

/** Where the fan-out sends; `OrderMessaging` has them all. */
export interface OrderFanoutMessaging {
  /** Must be a FIFO topic: events are published with a message group (the order) and a deduplication id. */
  readonly orderEventsTopic: ITopic;
  /**
   * Must be a FIFO queue: warehouse messages carry a message group (the order) and a deduplication id. Its health is
   * alarmed on here (see `warehouseStuckAlarm`, `warehouseBacklogAlarm`).
   */
  readonly warehouseQueue: IQueue;
}

export interface OrderFanoutProps extends PipelineProps {
  /** The tables of the stateful stack. */
  readonly tables: OrderFanoutTables;
  /** The topic and queues of the stateful stack. */
  readonly messaging: OrderFanoutMessaging;
  /**
   * The consumer's DLQ, from the stateful stack (StatefulStack.deadLetterQueues), so that failed records outlive a
   * destroy of the pipelines stack.
   * @default - a queue of the consumer's own, in this construct's stack (StreamConsumerProps.deadLetterQueue)
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * Absolute path of the handler's TypeScript file; it must export `handler`.
   * @default ORDER_FANOUT_ENTRY
   */
  readonly entry?: string;
}

/**
 * The order fan-out pipeline: the `order-fanout` stream consumer on the Orders table, its three SES e-mail templates,
 * and exactly the permissions its code uses, each granted together with the environment variable that names the
 * resource. Also alarms when warehouse messages land in the warehouse DLQ.
 *
 * The templates are `AWS::SES::Template` resources with names CloudFormation generates. SES keeps one set of
 * e-mail templates per account and Region, whichever API created them: the SES developer guide ("Managing email
 * templates", https://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-personalized-email-manage-templates.html)
 * lists, reads, updates and deletes the existing templates with the SESv2 operations, and SESv2 SendBulkEmail names
 * one in `DefaultContent.Template.TemplateName` (or `TemplateArn`). `Ref` of the resource returns its ID, the name,
 * which the function gets; the grant (BaseFunction.bindBulkEmailSending) names its ARN, `...:template/<name>`.
 */
export class OrderFanout extends Construct {
  public readonly consumer: StreamConsumer;
  /** The e-mail templates by kind. */
  public readonly templates: Readonly<Record<EmailKind, CfnTemplate>>;
  /** Fires when a warehouse message has exhausted its deliveries and sits in the warehouse DLQ. */
  /**
   * A warehouse message is received again and again without being deleted (12 periods of 5 minutes in a row): the
   * warehouse cannot process it, and its order's later messages wait behind it. The queue has no DLQ (it would break
   * the order), so this is where such a message shows.
   */
  public readonly warehouseStuckAlarm: Alarm;
  /** The oldest warehouse message is older than an hour: the warehouse is not consuming. */
  public readonly warehouseBacklogAlarm: Alarm;

  public constructor(scope: Construct, id: string, props: OrderFanoutProps) {
    super(scope, id);
    validateOrderFanoutProps(this.node.path, props);

    // Created first: it validates its own props (and the function's) before creating anything.
    this.consumer = new StreamConsumer(this, 'Consumer', {
      ...pipelineConsumerProps(props),
      table: props.tables.orders,
      entry: props.entry ?? ORDER_FANOUT_ENTRY,
      consumerName: ORDER_FANOUT_CONSUMER_NAME,
      deadLetterQueue: props.deadLetterQueue,
      batchSize: ORDER_FANOUT_MAPPING.batchSize,
      maxBatchingWindow: ORDER_FANOUT_MAPPING.maxBatchingWindow,
      parallelizationFactor: ORDER_FANOUT_MAPPING.parallelizationFactor,
      filters: ORDER_FANOUT_FILTER_PATTERNS.map((pattern) => FilterCriteria.filter({ ...pattern })),
    });

    const templates = {} as Record<EmailKind, CfnTemplate>;
    for (const kind of EMAIL_KINDS) {
      const content = ORDER_EMAIL_CONTENT[kind];
      // No TemplateName: CloudFormation generates one, so two stages can live in one account and Region.
      templates[kind] = new CfnTemplate(this, `${capitalize(kind)}EmailTemplate`, {
        template: { subjectPart: content.subject, htmlPart: content.html, textPart: content.text },
      });
    }
    this.templates = templates;

    this.consumer.function
      .bindTable(ENV.ORDERS_TABLE_NAME, props.tables.orders, ORDER_FANOUT_TABLE_ACTIONS.orders)
      .bindTable(ENV.INVENTORY_TABLE_NAME, props.tables.inventory, ORDER_FANOUT_TABLE_ACTIONS.inventory)
      .bindTable(ENV.IDEMPOTENCY_TABLE_NAME, props.tables.idempotency, ORDER_FANOUT_TABLE_ACTIONS.idempotency)
      // sns:Publish authorises PublishBatch too (SNS API permissions reference); KMS via SNS for the topic's key.
      .bindTopic(ENV.ORDER_EVENTS_TOPIC_ARN, props.messaging.orderEventsTopic)
      // sqs:SendMessage authorises SendMessageBatch too; KMS via SQS for the queue's key.
      .bindQueue(ENV.WAREHOUSE_QUEUE_URL, props.messaging.warehouseQueue)
      .bindBulkEmailSending(ENV.EMAIL_FROM_ADDRESS, {
        fromAddress: props.config.emailFromAddress,
        identity: props.config.emailIdentity,
        templates: EMAIL_KINDS.map((kind) => ({
          envName: EMAIL_TEMPLATE_ENV[kind],
          templateName: templates[kind].ref,
        })),
      });

    const queue = props.messaging.warehouseQueue;
    const fiveMinutes = Duration.minutes(5);
    const runbook = runbookBaseUrl(props.config);
    this.warehouseStuckAlarm = new Alarm(this, 'WarehouseStuckAlarm', {
      // Named under the consumer's prefix: `ops status` lists them with the fan-out's other alarms.
      alarmName: `${this.consumer.alarmNamePrefix}WarehouseStuck`,
      alarmDescription: withRunbookLink(
        'The warehouse keeps receiving messages it does not delete (an hour in a row): it cannot process one, and ' +
          "that order's later messages wait behind it (the FIFO queue has no DLQ, which would break their order). " +
          'Find the message in the warehouse logs and fix the warehouse; messages expire after 14 days.',
        runbook,
        RUNBOOK_ANCHORS.warehouseStuck,
      ),
      metric: new MathExpression({
        expression: 'IF(FILL(received, 0) > FILL(deleted, 0), 1, 0)',
        usingMetrics: {
          received: queue.metricNumberOfMessagesReceived({ statistic: Stats.SUM, period: fiveMinutes }),
          deleted: queue.metricNumberOfMessagesDeleted({ statistic: Stats.SUM, period: fiveMinutes }),
        },
        period: fiveMinutes,
        label: 'Received more than deleted',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 12,
      datapointsToAlarm: 12,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.warehouseBacklogAlarm = new Alarm(this, 'WarehouseBacklogAlarm', {
      alarmName: `${this.consumer.alarmNamePrefix}WarehouseBacklog`,
      alarmDescription: withRunbookLink(
        'The oldest warehouse message waits for more than an hour: the warehouse is not consuming. Messages ' +
          'expire after 14 days.',
        runbook,
        RUNBOOK_ANCHORS.warehouseBacklog,
      ),
      metric: queue.metricApproximateAgeOfOldestMessage({ statistic: Stats.MAXIMUM, period: fiveMinutes }),
      threshold: Duration.hours(1).toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // SQS stops reporting a queue nobody touches: keep the state rather than report a waiting message as gone.
      treatMissingData: TreatMissingData.IGNORE,
    });
    for (const alarm of [this.warehouseStuckAlarm, this.warehouseBacklogAlarm]) {
      alarm.addAlarmAction(new SnsAction(props.alarmTopic));
      alarm.addOkAction(new SnsAction(props.alarmTopic));
    }

    // Charted, not alarmed: a re-send after a timeout or crash is expected now and then, and SNS and SQS drop it
    // within 5 minutes; the chart shows how often subscribers may see a marked repeat (e-mails above all).
    props.dashboard.addWidgets(
      new GraphWidget({
        title: `${ORDER_FANOUT_CONSUMER_NAME}: possible duplicate effects (marked re-sends)`,
        left: [
          new Metric({
            namespace: METRICS_NAMESPACE,
            metricName: ORDER_FANOUT_METRICS.possibleDuplicates,
            dimensionsMap: streamMetricDimensions(ORDER_FANOUT_CONSUMER_NAME),
            statistic: Stats.SUM,
            period: Duration.minutes(5),
            label: 'Re-sent, marked possibleDuplicate',
          }),
        ],
        width: 24,
      }),
    );
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** What the fan-out needs beyond what StreamConsumer and BaseFunction check themselves. */
function validateOrderFanoutProps(path: string, props: OrderFanoutProps): void {
  if (props.messaging.orderEventsTopic.fifo !== true) {
    throw new InvalidPropsError(
      path,
      'messaging.orderEventsTopic',
      'must be a FIFO topic: events are published with a message group (the order) and a deduplication id (eventId)',
    );
  }
  if (props.messaging.warehouseQueue.fifo !== true) {
    throw new InvalidPropsError(
      path,
      'messaging.warehouseQueue',
      'must be a FIFO queue: warehouse messages are sent with a message group (the order) and a deduplication id',
    );
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.config.emailFromAddress)) {
    throw new InvalidPropsError(
      path,
      'config.emailFromAddress',
      `must be an e-mail address, got "${props.config.emailFromAddress}"`,
    );
  }
  if (props.config.emailIdentity.trim() === '') {
    throw new InvalidPropsError(
      path,
      'config.emailIdentity',
      'must name the verified SES identity (a domain or an address)',
    );
  }
}
