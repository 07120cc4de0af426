import { existsSync } from 'node:fs';
import { type CfnResource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_SYNC_CONSUMER_NAME } from '../../../lambdas/search-sync/names.js';
import { ENV } from '../../../lambdas/shared/env.js';
import { buildApp } from '../../../lib/app.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import { OpsAlerts } from '../../../lib/constructs/ops-alerts.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import { SearchDomain } from '../../../lib/constructs/search-domain.js';
import {
  SEARCH_SYNC_ENTRY,
  SEARCH_SYNC_INDEX_ACCESS,
  SEARCH_SYNC_MAPPING,
  SearchSync,
  type SearchSyncProps,
} from '../../../lib/constructs/search-sync.js';
import { TOO_MANY_STREAM_READERS_WARNING } from '../../../lib/constructs/stream-consumer.js';
import {
  acknowledgedRuleIds,
  DUMMY_CONSUMER_ENTRY,
  esArn,
  testApp,
  testConfig,
  thrownBy,
  warningsWithId,
} from '../../fixtures/cdk-app.js';

/** Everything the sync needs in one stack, so that references are plain `Ref`s and `Fn::GetAtt`s. */
interface SyncStack {
  readonly stack: Stack;
  readonly tables: DataTables;
  readonly search: SearchDomain;
  readonly ops: OpsAlerts;
}

function syncStack(): SyncStack {
  const stack = new Stack(testApp(), 'Pipelines');
  return {
    stack,
    tables: new DataTables(stack, 'Tables'),
    search: new SearchDomain(stack, 'Search', { config: testConfig() }),
    ops: new OpsAlerts(stack, 'Ops'),
  };
}

function syncProps(at: SyncStack, overrides: Partial<SearchSyncProps> = {}): SearchSyncProps {
  return {
    config: testConfig(),
    table: at.tables.orders,
    search: at.search,
    alarmTopic: at.ops.topic,
    dashboard: at.ops.dashboard,
    entry: DUMMY_CONSUMER_ENTRY,
    ...overrides,
  };
}

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

/** The es: permissions of a role, one per action and resource, whichever policy holds them. */
function searchGrantsOf(
  template: Template,
  stack: Stack,
  role: CfnRole,
): Array<{ action: string; resource: unknown }> {
  const roleId = stack.getLogicalId(role);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    )
    .flatMap((statement) =>
      [statement.Action]
        .flat()
        .filter((action) => action.startsWith('es:'))
        .flatMap((action) => [statement.Resource].flat().map((resource) => ({ action, resource }))),
    );
}

describe('SearchSync', () => {
  let at: SyncStack;
  let sync: SearchSync;
  let template: Template;

  beforeAll(() => {
    at = syncStack();
    sync = new SearchSync(at.stack, 'SearchSync', syncProps(at));
    template = Template.fromStack(at.stack);
  });

  it('reads the Orders stream in batches of 100 gathered for up to 1 s, one batch per shard at a time', () => {
    // Assess
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(at.tables.orders, at.stack), 'StreamArn'] },
      FunctionName: { Ref: logicalId(sync.consumer.function.lambdaFunction, at.stack) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      // The construct's defaults.
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 3600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // Every change of an order matters to the index: no filter.
      FilterCriteria: Match.absent(),
    });
    expect(SEARCH_SYNC_MAPPING.maxBatchingWindow.toSeconds()).toBe(1);
  });

  it('reserves no concurrency by default: a new account with a quota of 10 would refuse the deploy (issue 13)', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: Match.absent(),
      Environment: { Variables: Match.objectLike({ [ENV.CONSUMER_NAME]: 'search-sync' }) },
    });
  });

  it('reserves the concurrency a stage sets', () => {
    // Prepare
    const at = syncStack();

    // Act
    new SearchSync(
      at.stack,
      'Sync',
      syncProps(at, { config: testConfig({ searchSyncReservedConcurrency: 4 }) }),
    );

    // Assess
    Template.fromStack(at.stack).hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 4,
      Environment: { Variables: Match.objectLike({ [ENV.CONSUMER_NAME]: 'search-sync' }) },
    });
  });

  it('is told the https URL of the domain and the replicas of the orders index', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          [ENV.POWERTOOLS_SERVICE_NAME]: 'search-sync',
          [ENV.POWERTOOLS_METRICS_NAMESPACE]: Match.anyValue(),
          [ENV.CONSUMER_NAME]: 'search-sync',
          [ENV.DEAD_LETTER_QUEUE_URL]: { Ref: logicalId(sync.consumer.deadLetterQueue, at.stack) },
          [ENV.OPENSEARCH_ENDPOINT]: {
            'Fn::Join': [
              '',
              ['https://', { 'Fn::GetAtt': [logicalId(at.search.domain, at.stack), 'DomainEndpoint'] }],
            ],
          },
          [ENV.SEARCH_INDEX_REPLICAS]: '0',
        },
      },
    });
  });

  it('may GET, HEAD, POST and PUT the orders index and the APIs under it, and nothing else on the domain', () => {
    // Act
    const grants = searchGrantsOf(
      template,
      at.stack,
      sync.consumer.function.role.node.defaultChild as CfnRole,
    );

    // Assess
    expect(grants).toEqual(
      ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut'].flatMap((action) => [
        { action, resource: esArn(':domain/orders-test/orders') },
        { action, resource: esArn(':domain/orders-test/orders/*') },
      ]),
    );
    expect(SEARCH_SYNC_INDEX_ACCESS.paths).toEqual(['orders', 'orders/*']);
  });

  it('acknowledges the orders/* wildcard, and only it', () => {
    // Assess
    expect(
      acknowledgedRuleIds(sync.consumer.function.role.node.findChild('DefaultPolicy')).filter((id) =>
        id.startsWith('AwsSolutions-IAM5[Resource::arn'),
      ),
    ).toEqual([
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:es:<AWS::Region>:<AWS::AccountId>:domain/orders-test/orders/*]',
    ]);
  });

  it('outputs its role ARN, for the mapping to the orders_writer role', () => {
    // Assess
    template.hasOutput('*', {
      Value: { 'Fn::GetAtt': [logicalId(sync.consumer.function.role, at.stack), 'Arn'] },
    });
  });

  it('names the consumer as the sync code does, and bundles the sync handler', () => {
    // Assess
    expect(SEARCH_SYNC_CONSUMER_NAME).toBe('search-sync');
    expect(existsSync(SEARCH_SYNC_ENTRY)).toBe(true);
    expect(SEARCH_SYNC_ENTRY).toMatch(/lambdas\/search-sync\/handler\.ts$/);
  });

  describe.each([
    { stage: 'dev', reserved: undefined, replicas: '0' },
    { stage: 'prod', reserved: undefined, replicas: '2' },
  ])('in the $stage stage of the app', ({ stage, reserved, replicas }) => {
    it(`reserves ${reserved ?? 'no'} executions and creates the index with ${replicas} replica(s)`, () => {
      // Prepare
      const { stateless } = buildApp(testApp({ context: { stage } }));

      // Act
      const fn =
        Template.fromStack(stateless).toJSON().Resources[
          logicalId(stateless.searchSync.consumer.function.lambdaFunction, stateless)
        ];

      // Assess
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(reserved);
      expect(fn.Properties.Environment.Variables[ENV.SEARCH_INDEX_REPLICAS]).toBe(replicas);
      expect(JSON.stringify(fn.Properties.Environment.Variables[ENV.OPENSEARCH_ENDPOINT])).toMatch(
        new RegExp(
          `^\\{"Fn::Join":\\["",\\["https://",\\{"Fn::GetStackOutput":\\{"StackName":"OrdersStreams-${stage}-Data"`,
        ),
      );
    });

    it('is the second reader of the Orders stream, with no warning', () => {
      // Prepare
      const { stateless } = buildApp(testApp({ context: { stage } }));

      // Act
      const warnings = warningsWithId(stateless, TOO_MANY_STREAM_READERS_WARNING);

      // Assess
      expect(warnings).toEqual([]);
      expect(stateless.searchSync).toBeInstanceOf(SearchSync);
    });
  });

  describe('props validation', () => {
    it.each<[string, (s: SyncStack) => Partial<SearchSyncProps>, string]>([
      [
        'negative replicas',
        (s) => ({ search: { ...searchTarget(s), ordersIndexReplicas: -1 } }),
        'search.ordersIndexReplicas',
      ],
      [
        'fractional replicas',
        (s) => ({ search: { ...searchTarget(s), ordersIndexReplicas: 0.5 } }),
        'search.ordersIndexReplicas',
      ],
      [
        'a domain named by a token',
        (s) => ({ search: { ...searchTarget(s), domainName: s.search.domain.domainName } }),
        'domain.domainName',
      ],
      [
        'a reserved concurrency of 0',
        () => ({ config: testConfig({ searchSyncReservedConcurrency: 0 }) }),
        'reservedConcurrentExecutions',
      ],
      ['an entry that does not exist', () => ({ entry: '/nonexistent/handler.ts' }), 'entry'],
    ])('rejects %s, naming the prop, before creating anything', (_case, overrides, prop) => {
      // Prepare
      const s = syncStack();
      const props = syncProps(s, overrides(s));

      // Act
      const error = thrownBy(() => new SearchSync(s.stack, 'SearchSync', props));

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(
        new RegExp(`^Pipelines/SearchSync(/Consumer(/Consumer)?)?: invalid "${prop}": `),
      );
      expect(s.stack.node.findChild('SearchSync').node.children.flatMap((c) => c.node.children)).toHaveLength(
        0,
      );
    });
  });
});

function searchTarget(s: SyncStack): SearchSyncProps['search'] {
  return {
    domainName: s.search.domainName,
    domainEndpoint: s.search.domainEndpoint,
    ordersIndexReplicas: s.search.ordersIndexReplicas,
  };
}
