import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FifoThroughputScope, Topic } from 'aws-cdk-lib/aws-sns';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** How long SQS keeps a message at most: the warehouse queue keeps its messages that long. */
const SQS_MAX_RETENTION = Duration.days(14);

export interface OrderMessagingProps {
  /**
   * Removal policy of the key, the topic and the queues. Subscriptions, the warehouse integration and messages not
   * yet consumed outlive a stack deletion by default, like the tables.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What the order fan-out sends to, in the stateful stack: the `order-events` SNS FIFO topic (construct id
 * `OrderEvents`) and the warehouse SQS FIFO queue, both encrypted with one customer-managed key and reachable over
 * TLS only.
 *
 * The warehouse queue has no dead-letter queue, on purpose. A DLQ breaks a FIFO queue's order (the SQS developer
 * guide says not to use one where order matters): after `maxReceiveCount` failed deliveries an order's
 * `OrderPlaced` would move aside while its `OrderCancelled` is delivered. Without one, a message the warehouse cannot
 * process holds back only its own order's later messages (each order is its own message group) and is retried until
 * the warehouse handles it; the fan-out's warehouse alarms (a message received again and again, messages waiting)
 * tell the operators long before the 14 days of retention run out.
 *
 * They live here rather than next to the function because other parties hold on to them: subscribers subscribe to
 * the topic, and the warehouse integration is configured with the queue and may have messages waiting in it. A
 * redeploy, or a destroy and re-create, of the pipelines stack must change none of that.
 *
 * The key policy is CDK's default (the account administers and, through IAM, uses the key) and needs nothing more:
 * the fan-out function's role gets kms:GenerateDataKey and kms:Decrypt through IAM, limited to calls SNS and SQS
 * make for it (kms:ViaService); the warehouse consumer gets kms:Decrypt the same way with
 * `warehouseQueue.grantConsumeMessages(role)`. Only an AWS service that publishes as itself (CloudWatch, S3
 * notifications) or an SNS subscription to an encrypted SQS queue would need a key policy statement for the
 * service principal; neither exists.
 */
export class OrderMessaging extends Construct {
  public readonly key: Key;
  /**
   * The `order-events` FIFO topic (named `<generated>.fifo` by CDK): one event per order change, with message
   * attributes for subscription filters; message group = order id, deduplication id = eventId.
   */
  public readonly orderEventsTopic: Topic;
  /** The warehouse's FIFO queue: one message group per order, so an order's messages arrive in order. */
  public readonly warehouseQueue: Queue;
  public constructor(scope: Construct, id: string, props: OrderMessagingProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.key = new Key(this, 'Key', {
      description: 'Encrypts the order events topic and the warehouse queue',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      removalPolicy,
    });

    // A FIFO topic: the fan-out publishes each event with its order as message group and its eventId as deduplication
    // id, so SNS drops a re-send within 5 minutes (a retried batch) and SQS FIFO subscribers get an order's events in
    // order. Subscribers are SQS queues: FIFO queues keep that order, standard queues get the events unordered
    // (SNS FIFO topics deliver to both; "Amazon SNS code examples for FIFO topics", SNS developer guide).
    this.orderEventsTopic = new Topic(this, 'OrderEvents', {
      displayName: 'Order events',
      fifo: true,
      // Deduplication by the explicit eventId only: two events with equal bodies are still two events.
      contentBasedDeduplication: false,
      // High throughput: quotas and deduplication per message group (order) rather than for the whole topic, which
      // would cap it at 3,000 messages per second. Nothing is lost: an eventId embeds its order id, the group.
      fifoThroughputScope: FifoThroughputScope.MESSAGE_GROUP,
      masterKey: this.key,
      enforceSSL: true,
    });
    this.orderEventsTopic.applyRemovalPolicy(removalPolicy);

    this.warehouseQueue = new Queue(this, 'WarehouseQueue', {
      fifo: true,
      // The fan-out sends an explicit deduplication id derived from the stream record, so a re-delivered record
      // cannot send a second message; content-based ids would treat two legitimately equal bodies as one.
      contentBasedDeduplication: false,
      // Deduplication and the throughput limit per message group turn on high-throughput FIFO: each order (group)
      // is its own lane, so the queue scales with the number of orders instead of being capped for the whole queue.
      // Deduplication per group loses nothing here: a deduplication id embeds the order id, which is the group.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      // The key's data keys are reused for 5 minutes (the default) rather than fetched per message: fewer KMS calls
      // at the same protection.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      // An order the warehouse has not picked up yet must survive a long outage of the warehouse side.
      retentionPeriod: SQS_MAX_RETENTION,
      removalPolicy,
    });
    for (const ruleId of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this.warehouseQueue).acknowledge({
        id: ruleId,
        reason:
          "A dead-letter queue would break the FIFO order of an order's warehouse messages (a cancellation " +
          'delivered while its placement sits aside). A message the warehouse cannot process holds back only its ' +
          "own order's group, and the fan-out's warehouse alarms report it.",
      });
    }
  }
}
