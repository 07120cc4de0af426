import { type App, Stack, type Stage, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { DataTables } from '../../lib/constructs/data-tables.js';
import { OpsAlerts } from '../../lib/constructs/ops-alerts.js';
import { StreamConsumer } from '../../lib/constructs/stream-consumer.js';
import { DUMMY_CONSUMER_ENTRY, testApp } from '../fixtures/cdk-app.js';

/**
 * cdk-nag 3 reports through CDK's policy validation (the validation report), not through annotations, and
 * suppressions are `Validations.of(construct).acknowledge(...)`. The packs are run here directly on the synthesized
 * construct tree (`validateScope`), which returns every unacknowledged finding, warnings included.
 */
function nagPacks(): NagPack[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()];
}

interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
}

function findings(scope: IConstruct): Finding[] {
  return nagPacks().flatMap((pack) =>
    pack.validateScope(scope).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        severity: String(violation.severity),
        path: resource.constructPath ?? resource.resourceLogicalId ?? '(unknown)',
      })),
    ),
  );
}

const CONTEXTS = [
  ['the dev stage', {}],
  [
    'the prod stage with an alarm e-mail and the account logging role',
    { stage: 'prod', alarmEmail: 'ops@example.com', manageApiGatewayLoggingRole: 'true' },
  ],
  [
    'the dev stage with a search master user of its own and two zones',
    {
      searchAdminRoleArn: 'arn:aws:iam::123456789012:role/search-admin',
      searchInstanceType: 'm6g.large.search',
      searchInstanceCount: '2',
      searchZoneAwareness: '2',
    },
  ],
] as const;

/**
 * The app as deployed, plus a consumer added to its stateless stack the way a pipeline adds one (on the Votes stream:
 * the Orders stream has its two readers), plus a stand-alone test stack with a dummy consumer (the construct on its
 * own, with its table in the same stack). Synthesized, so that the tree the packs walk is final.
 */
function synthesizedApp(context: Record<string, unknown>): { app: App; stacks: Stack[] } {
  const app = testApp({ context });
  const { config, stateful, stateless } = buildApp(app);
  stateless.addStreamConsumer('VoteReader', {
    table: stateful.tables.votes,
    entry: DUMMY_CONSUMER_ENTRY,
    consumerName: 'vote-reader',
  });
  const consumerStack = new Stack(app, 'NagConsumer');
  const tables = new DataTables(consumerStack, 'Tables');
  const ops = new OpsAlerts(consumerStack, 'Ops', { alarmEmail: config.alarmEmail });
  new StreamConsumer(consumerStack, 'Dummy', {
    table: tables.votes,
    entry: DUMMY_CONSUMER_ENTRY,
    consumerName: 'dummy',
    alarmTopic: ops.topic,
    dashboard: ops.dashboard,
  });
  app.synth();
  return { app, stacks: [stateful, stateless, consumerStack] };
}

/** Every acknowledgement recorded in the tree, as construct path and rule id. */
function acknowledgements(stage: Stage): Array<{ path: string; rule: string; reason: string }> {
  return stage.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          // aws-cdk-lib qualifies ids it does not know as annotation ids; cdk-nag strips that prefix the same way.
          rule: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag (AwsSolutions and Serverless packs)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(CONTEXTS)('finds nothing unacknowledged in %s', (_name, context) => {
    // Prepare
    const { app } = synthesizedApp(context);

    // Act
    const found = findings(app);

    // Assess
    expect(found).toEqual([]);
  });

  it.each(CONTEXTS)('leaves no warning or error annotation on any stack in %s', (_name, context) => {
    // Prepare
    const { stacks } = synthesizedApp(context);

    // Act
    const annotations = stacks.flatMap((stack) => [
      ...Annotations.fromStack(stack).findWarning('*', Match.anyValue()),
      ...Annotations.fromStack(stack).findError('*', Match.anyValue()),
    ]);

    // Assess
    expect(annotations.map((annotation) => `${annotation.id}: ${String(annotation.entry.data)}`)).toEqual([]);
  });

  it.each(CONTEXTS)(
    'acknowledges only findings that exist, on the resource that has them, in %s',
    (_name, context) => {
      // Prepare
      const { app } = synthesizedApp(context);
      const acknowledged = acknowledgements(app);
      vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
      const { app: unacknowledgedApp } = synthesizedApp(context);

      // Act
      const raw = findings(unacknowledgedApp);

      // Assess
      expect(acknowledged.length).toBeGreaterThan(0);
      for (const { path, rule, reason } of acknowledged) {
        const answered = raw.filter(
          (finding) => finding.rule === rule && `${finding.path}/`.startsWith(`${path}/`),
        );
        expect(answered, `${rule} acknowledged on ${path} answers no finding`).not.toEqual([]);
        expect(reason.length, `the reason for ${rule} on ${path} says why`).toBeGreaterThanOrEqual(60);
      }
    },
  );

  it('does report what it is meant to find (a plain queue has no TLS policy, no encryption and no DLQ)', () => {
    // Prepare
    const app = testApp();
    const stack = new Stack(app, 'Control');
    new Queue(stack, 'Plain');
    app.synth();

    // Act
    const rules = findings(app).map((finding) => finding.rule);

    // Assess
    expect(rules).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4', 'Serverless-SQSRedrivePolicy']),
    );
  });
});
