import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { InvalidPropsError } from './props-validation.js';

export interface OpsAlertsProps {
  /**
   * Where alarm notifications are e-mailed (the stage config's `alarmEmail`). The address must confirm the
   * subscription before it receives anything.
   * @default - no subscription: alarms still change state and show on the dashboard
   */
  readonly alarmEmail?: string;
}

/**
 * Where operators look and get told: one SNS topic every alarm of the app notifies, and one CloudWatch dashboard
 * every stream consumer adds its row to.
 *
 * The topic is encrypted with a customer-managed key because CloudWatch alarms cannot publish to a topic under the
 * AWS managed key (alias/aws/sns), whose key policy cannot be changed to let CloudWatch use it. That key lives here,
 * in the stateless stack, unlike the data keys: it protects only notifications in flight, nothing at rest that
 * would outlive the topic.
 */
export class OpsAlerts extends Construct {
  public readonly topic: Topic;
  public readonly topicKey: Key;
  public readonly dashboard: Dashboard;

  public constructor(scope: Construct, id: string, props: OpsAlertsProps = {}) {
    super(scope, id);
    // The stage config validates the address properly; this catches hand-built props that could never subscribe.
    if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(props.alarmEmail)) {
      throw new InvalidPropsError(
        this.node.path,
        'alarmEmail',
        `must be an e-mail address, got "${props.alarmEmail}"`,
      );
    }

    this.topicKey = new Key(this, 'TopicKey', {
      description: 'Encrypts the operations alarm topic',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      // Nothing stays encrypted under this key once the topic is gone, so it goes with the stack (after the
      // pending window, during which a mistaken deletion can still be cancelled).
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
    // CloudWatch publishes alarm notifications as itself, not as a principal of the account; only for the alarms of
    // this account and region (the conditions keep another account's alarms from using the key: confused deputy).
    const stack = Stack.of(this);
    const alarmsOfThisAccount = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*`,
      },
    };
    this.topicKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: alarmsOfThisAccount,
      }),
    );

    this.topic = new Topic(this, 'Topic', {
      displayName: 'Order pipelines operations alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // enforceSSL creates the topic's policy, and a topic policy replaces SNS's default one (which let the account's
    // principals publish): without this statement every ALARM and OK notification would be refused.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: alarmsOfThisAccount,
      }),
    );

    if (props.alarmEmail !== undefined) {
      const subscription = this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An alarm e-mail that cannot be delivered has nobody to redrive it to; the alarm state itself stays ' +
          'visible in CloudWatch and on the dashboard, which is where a missed notification is noticed.',
      });
    }

    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
  }
}

/**
 * An alarm on messages visible in a dead-letter queue: any message there is a record or an order that needs a look,
 * so the threshold is zero. Missing data keeps the alarm where it is (IGNORE): SQS stops reporting a queue that has
 * seen no API call for about six hours, and a DLQ that nobody touches is exactly such a queue. Treated as not
 * breaching, the alarm would go back to OK with the messages still queued; kept, it stays in ALARM until a period
 * reports the queue empty (a redrive or a purge), and an empty quiet queue stays OK the same way.
 */
export function deadLetterQueueAlarm(
  scope: Construct,
  id: string,
  queue: IQueue,
  naming: { readonly alarmDescription: string; readonly alarmName?: string },
): Alarm {
  return new Alarm(scope, id, {
    alarmDescription: naming.alarmDescription,
    alarmName: naming.alarmName,
    metric: queue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: Duration.minutes(1),
    }),
    threshold: 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.IGNORE,
  });
}
