import { describe, expect, it } from 'vitest';
import type { EsmConfig } from '../../sandbox/esm/types.js';
import type { SynthesizedApp } from '../../sandbox/synth.js';
import {
  domainAttributeResolver,
  localDomainNames,
  localEmailTemplates,
  localQueueNames,
  localQueueSettings,
  localRefResolver,
  localResourceNames,
  localTopicNames,
  localTopicSettings,
  searchIndexReplicas,
} from '../../sandbox/template-names.js';
import { testEsmConfig } from '../support/esm-configs.js';

const PROBE = 'test-probe';

function esmConfig(overrides: Partial<EsmConfig> = {}): EsmConfig {
  return testEsmConfig({
    stackName: 'Pipelines',
    logicalId: 'ProbeMapping',
    consumerName: PROBE,
    ...overrides,
  });
}

describe('localQueueNames', () => {
  /** An app holding only these SQS queues; localQueueNames reads nothing else. */
  function appWithQueues(
    queues: Array<{ logicalId: string; path?: string; fifo?: boolean }>,
  ): SynthesizedApp {
    return {
      resourcesOfType: (type: string) =>
        type !== 'AWS::SQS::Queue'
          ? []
          : queues.map(({ logicalId, path, fifo }) => ({
              stackName: 'Pipelines',
              logicalId,
              resource: {
                Type: type,
                Properties: fifo === true ? { FifoQueue: true } : {},
                Metadata: path === undefined ? {} : { 'aws:cdk:path': path },
              },
            })),
    } as unknown as SynthesizedApp;
  }

  it('names an on-failure destination after its consumer, and other queues after their construct path', () => {
    // Prepare
    const app = appWithQueues([
      { logicalId: 'ProbeDlq1234', path: 'Pipelines/Probe/DeadLetterQueue/Resource' },
      { logicalId: 'Warehouse5678', path: 'Pipelines/OrderFanout/WarehouseQueue/Resource', fifo: true },
      { logicalId: 'NoPath9999' },
    ]);
    const configs = [
      esmConfig({ onFailureDestination: { stackName: 'Pipelines', logicalId: 'ProbeDlq1234' } }),
    ];

    // Act
    const names = localQueueNames(app, configs);

    // Assess
    expect(Object.fromEntries(names)).toEqual({
      'Pipelines/ProbeDlq1234': `${PROBE}-dlq`,
      'Pipelines/Warehouse5678': 'order-fanout-warehouse-queue.fifo',
      'Pipelines/NoPath9999': 'NoPath9999',
    });
  });

  it('falls back to the logical id when two queues would get one name', () => {
    // Prepare
    const app = appWithQueues([
      { logicalId: 'A1', path: 'Pipelines/Jobs/Resource' },
      { logicalId: 'B2', path: 'Pipelines/Jobs/Resource' },
    ]);

    // Act
    const names = localQueueNames(app, []);

    // Assess
    expect(Object.fromEntries(names)).toEqual({ 'Pipelines/A1': 'jobs', 'Pipelines/B2': 'B2' });
  });
});

/** An app holding only these resources (by type); the template helpers read nothing else. */
function appWith(
  resources: Array<{ type: string; logicalId: string; path?: string; properties?: Record<string, unknown> }>,
): SynthesizedApp {
  return {
    resourcesOfType: (type: string) =>
      resources
        .filter((resource) => resource.type === type)
        .map(({ logicalId, path, properties }) => ({
          stackName: 'Data',
          logicalId,
          resource: {
            Type: type,
            Properties: properties ?? {},
            Metadata: path === undefined ? {} : { 'aws:cdk:path': path },
          },
        })),
  } as unknown as SynthesizedApp;
}

describe('localTopicNames', () => {
  it('names a topic by the shortest tail of its path that is free and not just "topic"', () => {
    // Prepare
    const app = appWith([
      { type: 'AWS::SNS::Topic', logicalId: 'Events1', path: 'Data/Messaging/OrderEvents/Resource' },
      { type: 'AWS::SNS::Topic', logicalId: 'Ops2', path: 'Pipelines/OpsAlerts/Topic/Resource' },
      { type: 'AWS::SNS::Topic', logicalId: 'Other3', path: 'Pipelines/Other/OrderEvents/Resource' },
      { type: 'AWS::SNS::Topic', logicalId: 'Named4', properties: { TopicName: 'given.fifo' } },
    ]);

    // Act
    const names = localTopicNames(app);

    // Assess
    expect(Object.fromEntries(names)).toEqual({
      'Data/Events1': 'order-events',
      'Data/Ops2': 'ops-alerts-topic',
      'Data/Other3': 'other-order-events',
      'Data/Named4': 'given.fifo',
    });
  });
});

describe('localEmailTemplates', () => {
  it('names each template and keeps its parts for rendering', () => {
    // Prepare
    const app = appWith([
      {
        type: 'AWS::SES::Template',
        logicalId: 'Placed1',
        path: 'Pipelines/OrderFanout/PlacedEmailTemplate',
        properties: { Template: { SubjectPart: 'Hi {{orderId}}', TextPart: 'Total {{total}}' } },
      },
      {
        type: 'AWS::SES::Template',
        logicalId: 'Named2',
        properties: { Template: { TemplateName: 'given', HtmlPart: '<p/>' } },
      },
    ]);

    // Act
    const templates = localEmailTemplates(app);

    // Assess
    expect(Object.fromEntries(templates)).toEqual({
      'Data/Placed1': { name: 'placed-email-template', subject: 'Hi {{orderId}}', text: 'Total {{total}}' },
      'Data/Named2': { name: 'given', html: '<p/>' },
    });
  });
});

describe('localTopicSettings', () => {
  it('reads FIFO, content-based deduplication and the throughput scope by local topic name', () => {
    // Prepare
    const app = appWith([
      {
        type: 'AWS::SNS::Topic',
        logicalId: 'Events1',
        properties: {
          FifoTopic: true,
          ContentBasedDeduplication: false,
          FifoThroughputScope: 'MessageGroup',
        },
      },
      { type: 'AWS::SNS::Topic', logicalId: 'Plain2' },
    ]);
    const names = new Map([
      ['Data/Events1', 'events.fifo'],
      ['Data/Plain2', 'plain'],
    ]);

    // Act
    const settings = localTopicSettings(app, names);

    // Assess
    expect(Object.fromEntries(settings)).toEqual({
      'events.fifo': { fifo: true, contentBasedDeduplication: false, deduplicationScope: 'messageGroup' },
      plain: { fifo: false, contentBasedDeduplication: false, deduplicationScope: 'topic' },
    });
  });
});

describe('localQueueSettings', () => {
  it('reads FIFO, content-based deduplication and the deduplication scope by local queue name', () => {
    // Prepare
    const app = appWith([
      {
        type: 'AWS::SQS::Queue',
        logicalId: 'Warehouse1',
        properties: { FifoQueue: true, ContentBasedDeduplication: false, DeduplicationScope: 'messageGroup' },
      },
      { type: 'AWS::SQS::Queue', logicalId: 'Plain2' },
    ]);
    const names = new Map([
      ['Data/Warehouse1', 'warehouse.fifo'],
      ['Data/Plain2', 'plain'],
    ]);

    // Act
    const settings = localQueueSettings(app, names);

    // Assess
    expect(Object.fromEntries(settings)).toEqual({
      'warehouse.fifo': { fifo: true, contentBasedDeduplication: false, deduplicationScope: 'messageGroup' },
      plain: { fifo: false, contentBasedDeduplication: false, deduplicationScope: 'queue' },
    });
  });
});

describe('the search domain of the template', () => {
  const app = {
    resourcesOfType: (type: string) =>
      type === 'AWS::OpenSearchService::Domain'
        ? [
            {
              stackName: 'Data',
              logicalId: 'SearchDomain1',
              resource: { Type: type, Properties: { DomainName: 'orders-dev' } },
            },
            { stackName: 'Data', logicalId: 'OtherDomain', resource: { Type: type, Properties: {} } },
          ]
        : type === 'AWS::Lambda::Function'
          ? [
              {
                stackName: 'P',
                logicalId: 'Api',
                resource: { Type: type, Properties: { Environment: { Variables: {} } } },
              },
              {
                stackName: 'P',
                logicalId: 'Sync',
                resource: {
                  Type: type,
                  Properties: { Environment: { Variables: { SEARCH_INDEX_REPLICAS: '2' } } },
                },
              },
            ]
          : [],
  } as unknown as SynthesizedApp;

  it('names domains by DomainName, else by logical id', () => {
    // Act
    const names = localDomainNames(app);

    // Assess
    expect([...names]).toEqual([
      ['Data/SearchDomain1', 'orders-dev'],
      ['Data/OtherDomain', 'otherdomain'],
    ]);
  });

  it("resolves a domain's endpoint to the local server and its ARN to a local one, nothing else", () => {
    // Prepare
    const resolve = domainAttributeResolver(localDomainNames(app), 'http://127.0.0.1:9200');

    // Act
    const values = [
      resolve({ stackName: 'Data', logicalId: 'SearchDomain1' }, 'DomainEndpoint'),
      resolve({ stackName: 'Data', logicalId: 'SearchDomain1' }, 'Arn'),
      resolve({ stackName: 'Data', logicalId: 'SearchDomain1' }, 'DomainEndpoints'),
      resolve({ stackName: 'Data', logicalId: 'Table' }, 'DomainEndpoint'),
    ];

    // Assess
    expect(values).toEqual([
      { kind: 'endpoint', url: 'http://127.0.0.1:9200' },
      'arn:aws:es:eu-west-1:000000000000:domain/orders-dev',
      undefined,
      undefined,
    ]);
  });

  it("takes the index replicas from the writers' SEARCH_INDEX_REPLICAS, 0 without one", () => {
    // Act
    const replicas = searchIndexReplicas(app);
    const none = searchIndexReplicas({ resourcesOfType: () => [] } as unknown as SynthesizedApp);

    // Assess
    expect([replicas, none]).toEqual([2, 0]);
  });
});

describe('localRefResolver', () => {
  it("resolves each kind of resource's Ref to its local value, and nothing else", () => {
    // Prepare
    const app = appWith([
      { type: 'AWS::SQS::Queue', logicalId: 'Dlq1', path: 'Data/Probe/DeadLetterQueue/Resource' },
      { type: 'AWS::SNS::Topic', logicalId: 'Events2', path: 'Data/Messaging/OrderEvents/Resource' },
      { type: 'AWS::S3::Bucket', logicalId: 'Audit3', path: 'Data/Audit/Bucket/Resource' },
      {
        type: 'AWS::SES::Template',
        logicalId: 'Mail4',
        properties: { Template: { TemplateName: 'placed' } },
      },
      {
        type: 'AWS::OpenSearchService::Domain',
        logicalId: 'Search5',
        properties: { DomainName: 'orders-dev' },
      },
    ]);
    const names = localResourceNames(app, [
      esmConfig({ onFailureDestination: { stackName: 'Data', logicalId: 'Dlq1' } }),
    ]);

    // Act
    const resolve = localRefResolver(names, {
      tables: [[{ stackName: 'Data', logicalId: 'Orders6' }, 'sandbox-Orders']],
      queueUrl: (name) => `http://queues.local/${name}`,
    });
    const values = ['Dlq1', 'Events2', 'Audit3', 'Mail4', 'Search5', 'Orders6', 'Unknown7'].map((logicalId) =>
      resolve({ stackName: 'Data', logicalId }),
    );

    // Assess
    expect(values).toEqual([
      `http://queues.local/${PROBE}-dlq`,
      'arn:aws:sns:eu-west-1:000000000000:order-events',
      'audit-bucket',
      'placed',
      'orders-dev',
      'sandbox-Orders',
      undefined,
    ]);
  });
});
