import { App, type CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EngineVersion } from 'aws-cdk-lib/aws-opensearchservice';
import { beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_SECURITY_ROLES as SHARED_SEARCH_SECURITY_ROLES } from '../../../lambdas/shared/search/security-roles.js';
import { loadStageConfig, type StageConfig } from '../../../lib/config.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import {
  ordersIndexReplicas,
  SEARCH_ENGINE_VERSION,
  SEARCH_SECURITY_ROLES,
  SearchDomain,
  type SearchDomainProps,
  searchDomainName,
} from '../../../lib/constructs/search-domain.js';
import {
  acknowledgedRuleIds,
  cdkJsonContext,
  esArn,
  testApp,
  testConfig,
  thrownBy,
} from '../../fixtures/cdk-app.js';

/** The stage preset of cdk.json, validated as the app validates it. */
function presetConfig(stage: string): StageConfig {
  return loadStageConfig(new App({ context: { ...cdkJsonContext(), stage } }).node);
}

interface DomainStack {
  readonly stack: Stack;
  readonly search: SearchDomain;
  readonly template: Template;
}

function synthesize(props: SearchDomainProps): DomainStack {
  const stack = new Stack(testApp(), 'Data');
  const search = new SearchDomain(stack, 'Search', props);
  return { stack, search, template: Template.fromStack(stack) };
}

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

const ACCOUNT_ROOT = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']],
};

const ES_HTTP = [
  'es:ESHttpDelete',
  'es:ESHttpGet',
  'es:ESHttpHead',
  'es:ESHttpPatch',
  'es:ESHttpPost',
  'es:ESHttpPut',
];

describe('SearchDomain', () => {
  describe.each([
    {
      stage: 'dev',
      cluster: {
        InstanceType: 't3.small.search',
        InstanceCount: 1,
        DedicatedMasterEnabled: false,
        MultiAZWithStandbyEnabled: false,
        ZoneAwarenessEnabled: false,
      },
      volumeGb: 10,
      retentionDays: 14,
      replicas: 0,
      acknowledged: ['AwsSolutions-OS1', 'AwsSolutions-OS3', 'AwsSolutions-OS4', 'AwsSolutions-OS7'],
    },
    {
      stage: 'prod',
      cluster: {
        InstanceType: 'r6g.large.search',
        InstanceCount: 3,
        DedicatedMasterEnabled: true,
        DedicatedMasterCount: 3,
        DedicatedMasterType: 'm6g.large.search',
        MultiAZWithStandbyEnabled: true,
        ZoneAwarenessEnabled: true,
        ZoneAwarenessConfig: { AvailabilityZoneCount: 3 },
      },
      volumeGb: 100,
      retentionDays: 365,
      replicas: 2,
      acknowledged: ['AwsSolutions-OS1', 'AwsSolutions-OS3'],
    },
  ])('with the $stage preset', ({ stage, cluster, volumeGb, retentionDays, replicas, acknowledged }) => {
    let at: DomainStack;
    let domainId: string;

    beforeAll(() => {
      at = synthesize({ config: presetConfig(stage) });
      domainId = logicalId(at.search.domain, at.stack);
    });

    it(`is the domain orders-${stage} on the pinned engine, retained and upgraded in place`, () => {
      // Assess
      at.template.resourceCountIs('AWS::OpenSearchService::Domain', 1);
      at.template.hasResource('AWS::OpenSearchService::Domain', {
        Properties: Match.objectLike({ DomainName: `orders-${stage}`, EngineVersion: 'OpenSearch_3.7' }),
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        UpdatePolicy: { EnableVersionUpgrade: true },
      });
      expect(at.search.domainName).toBe(`orders-${stage}`);
    });

    it('sizes the cluster from the stage: instance type and count, masters, zones, standby', () => {
      // Assess
      at.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
        ClusterConfig: cluster,
        EBSOptions: { EBSEnabled: true, VolumeSize: volumeGb, VolumeType: 'gp3' },
      });
    });

    it('encrypts at rest with its own rotated key and between nodes, and serves HTTPS with TLS 1.2+ (PFS) only', () => {
      // Assess
      at.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
        EncryptionAtRestOptions: { Enabled: true, KmsKeyId: { Ref: logicalId(at.search.key, at.stack) } },
        NodeToNodeEncryptionOptions: { Enabled: true },
        DomainEndpointOptions: { EnforceHTTPS: true, TLSSecurityPolicy: 'Policy-Min-TLS-1-2-PFS-2023-10' },
      });
      at.template.hasResource('AWS::KMS::Key', {
        Properties: Match.objectLike({ EnableKeyRotation: true }),
        DeletionPolicy: 'Retain',
      });
    });

    it('controls access finely with the admin role as IAM master user and no internal users', () => {
      // Assess
      at.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
        AdvancedSecurityOptions: {
          Enabled: true,
          InternalUserDatabaseEnabled: false,
          MasterUserOptions: {
            MasterUserARN: { 'Fn::GetAtt': [logicalId(at.search.adminRole!, at.stack), 'Arn'] },
          },
        },
      });
    });

    it("lets the account's principals call the domain through IAM, and nobody else", () => {
      // Assess
      at.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
        AccessPolicies: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AccountPrincipalsAllowedByIam',
              Effect: 'Allow',
              Principal: { AWS: ACCOUNT_ROOT },
              Action: ES_HTTP,
              Resource: esArn(`:domain/orders-${stage}/*`),
            },
          ],
        },
      });
    });

    it('refuses explicit indexes in multi-document bodies, so no body reaches past the URL path IAM checked', () => {
      // Assess
      at.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
        AdvancedOptions: { 'rest.action.multi.allow_explicit_index': 'false' },
      });
    });

    it.each([
      ['SEARCH_SLOW_LOGS', 'searchSlowLogs'],
      ['INDEX_SLOW_LOGS', 'indexSlowLogs'],
      ['ES_APPLICATION_LOGS', 'applicationLogs'],
    ] as const)('publishes %s to a log group of its own, kept for the stage retention', (type, group) => {
      // Prepare
      const groupId = logicalId(at.search[group], at.stack);

      // Assess
      at.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
        LogPublishingOptions: Match.objectLike({
          [type]: { Enabled: true, CloudWatchLogsLogGroupArn: { 'Fn::GetAtt': [groupId, 'Arn'] } },
        }),
      });
      expect(at.template.toJSON().Resources[groupId]).toMatchObject({
        Properties: { RetentionInDays: retentionDays },
        DeletionPolicy: 'Retain',
      });
    });

    it('lets only this domain of this account write its logs, with a native resource policy made first', () => {
      // Prepare
      const policyId = logicalId(at.search.logsResourcePolicy, at.stack);
      const groups = [at.search.searchSlowLogs, at.search.indexSlowLogs, at.search.applicationLogs];
      const policy = at.template.toJSON().Resources[policyId];

      // Act
      const document = JSON.parse(
        (policy.Properties.PolicyDocument['Fn::Join'][1] as unknown[])
          .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replaceAll('"', "'")}>`))
          .join(''),
      );

      // Assess
      expect(document.Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'es.amazonaws.com' },
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: groups.map((group) => `<{'Fn::GetAtt':['${logicalId(group, at.stack)}','Arn']}>`),
          Condition: {
            StringEquals: { 'aws:SourceAccount': "<{'Ref':'AWS::AccountId'}>" },
            ArnLike: {
              'aws:SourceArn': `arn:<{'Ref':'AWS::Partition'}>:es:<{'Ref':'AWS::Region'}>:<{'Ref':'AWS::AccountId'}>:domain/orders-${stage}`,
            },
          },
        },
      ]);
      at.template.hasResource('AWS::OpenSearchService::Domain', { DependsOn: Match.arrayWith([policyId]) });
    });

    it('runs no custom resource: no Lambda function, no SDK call at deploy time', () => {
      // Assess
      expect(Object.keys(at.template.findResources('AWS::Lambda::Function'))).toEqual([]);
      expect(
        Object.values(at.template.toJSON().Resources as Record<string, { Type: string }>).filter((resource) =>
          resource.Type.startsWith('Custom::'),
        ),
      ).toEqual([]);
    });

    it('creates an admin role the account can assume, allowed every HTTP method on this domain only', () => {
      // Assess
      at.template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: ACCOUNT_ROOT } }],
        },
        Policies: [
          {
            PolicyName: 'DomainHttpApi',
            PolicyDocument: {
              Statement: [{ Effect: 'Allow', Action: ES_HTTP, Resource: esArn(`:domain/orders-${stage}/*`) }],
            },
          },
        ],
      });
      expect(acknowledgedRuleIds(at.search.adminRole!)).toEqual([
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:es:<AWS::Region>:<AWS::AccountId>:domain/orders-${stage}/*]`,
      ]);
    });

    it(`creates the orders index with ${replicas} replica(s)`, () => {
      // Assess
      expect(at.search.ordersIndexReplicas).toBe(replicas);
    });

    it('acknowledges on the domain only the findings that apply to this stage', () => {
      // Assess
      expect(acknowledgedRuleIds(at.search.domain).sort()).toEqual(acknowledged);
    });

    it('outputs the https URL of the domain and the admin role, for the role mapping steps', () => {
      // Assess
      at.template.hasOutput('*', {
        Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [domainId, 'DomainEndpoint'] }]] },
      });
      at.template.hasOutput('*', {
        Value: { 'Fn::GetAtt': [logicalId(at.search.adminRole!, at.stack), 'Arn'] },
      });
    });
  });

  it('pins the newest OpenSearch version aws-cdk-lib knows', () => {
    // Prepare
    const versions = Object.keys(EngineVersion)
      .map((name) => /^OPENSEARCH_(\d+)_(\d+)$/.exec(name))
      .filter((match) => match !== null)
      .map((match) => [Number(match[1]), Number(match[2])] as const)
      .sort(([a, b], [c, d]) => a - c || b - d);

    // Act
    const [major, minor] = versions.at(-1)!;

    // Assess
    expect(SEARCH_ENGINE_VERSION.version).toBe(`OpenSearch_${major}.${minor}`);
  });

  it('takes the master user from the config when it names one, and creates no admin role', () => {
    // Prepare
    const searchAdminRoleArn = 'arn:aws:iam::123456789012:role/search-admin';

    // Act
    const { search, template } = synthesize({ config: testConfig({ searchAdminRoleArn }) });

    // Assess
    expect(search.adminRole).toBeUndefined();
    expect(search.masterUserArn).toBe(searchAdminRoleArn);
    template.resourceCountIs('AWS::IAM::Role', 0);
    template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      AdvancedSecurityOptions: Match.objectLike({ MasterUserOptions: { MasterUserARN: searchAdminRoleArn } }),
    });
  });

  it('retains the admin role it creates with the domain (issue 13)', () => {
    // Act
    const { search, stack, template } = synthesize({ config: testConfig() });

    // Assess: a retained domain whose master user is gone cannot be administered.
    const roleId = stack.getLogicalId(search.adminRole!.node.defaultChild as CfnResource);
    expect(template.toJSON().Resources[roleId]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('applies another removal policy to the domain, its key, its log groups and its admin role', () => {
    // Act
    const { template } = synthesize({ config: testConfig(), removalPolicy: RemovalPolicy.DESTROY });

    // Assess
    for (const type of [
      'AWS::OpenSearchService::Domain',
      'AWS::KMS::Key',
      'AWS::Logs::LogGroup',
      'AWS::IAM::Role',
    ]) {
      const policies = Object.values(template.findResources(type)).map((resource) => resource.DeletionPolicy);
      expect(policies.length).toBeGreaterThan(0);
      expect(new Set(policies)).toEqual(new Set(['Delete']));
    }
  });

  describe('ordersIndexReplicas', () => {
    it.each([
      [1, 1, 0],
      [2, 1, 1],
      [4, 1, 1],
      [2, 2, 1],
      [4, 2, 1],
      [3, 3, 2],
      [6, 3, 2],
    ])('gives %i node(s) over %i zone(s) %i replica(s)', (nodes, zones, replicas) => {
      // Act
      const result = ordersIndexReplicas({ searchInstanceCount: nodes, searchZoneAwareness: zones });

      // Assess
      expect(result).toBe(replicas);
      expect(result).toBeLessThan(nodes);
    });
  });

  it('re-exports the security plugin roles the deploy applies (their bodies are tested with the handler)', () => {
    // Assess
    expect(SEARCH_SECURITY_ROLES).toBe(SHARED_SEARCH_SECURITY_ROLES);
  });

  it.each(['dev', 'prod', 'a-stage-name-of-20ch'])(
    'names the domain of stage %s within 28 characters',
    (stage) => {
      // Act
      const name = searchDomainName(stage);

      // Assess
      expect(name).toBe(`orders-${stage}`);
      expect(name).toMatch(/^[a-z][a-z0-9-]{2,27}$/);
    },
  );

  describe('props validation', () => {
    it.each<[string, Partial<SearchDomainProps>, string]>([
      ['an upper-case domain name', { domainName: 'Orders' }, 'domainName'],
      ['a domain name of 29 characters', { domainName: `o${'x'.repeat(28)}` }, 'domainName'],
      [
        'an instance type without encryption at rest',
        { config: testConfig({ searchInstanceType: 't2.small.search' }) },
        'config.searchInstanceType',
      ],
      [
        'a node count that does not divide over the zones',
        { config: testConfig({ searchInstanceCount: 3, searchZoneAwareness: 2 }) },
        'config.searchInstanceCount',
      ],
      ['four zones', { config: testConfig({ searchZoneAwareness: 4 }) }, 'config.searchZoneAwareness'],
      ['a 5 GiB volume', { config: testConfig({ searchVolumeGb: 5 }) }, 'config.searchVolumeGb'],
      [
        'standby on a burstable single node',
        { config: testConfig({ searchMultiAzWithStandby: true }) },
        'config.searchMultiAzWithStandby',
      ],
    ])('rejects %s, naming the prop, before creating anything', (_case, overrides, prop) => {
      // Prepare
      const stack = new Stack(testApp(), 'Data');

      // Act
      const error = thrownBy(() => new SearchDomain(stack, 'Search', { config: testConfig(), ...overrides }));

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toMatch(`Data/Search: invalid "${prop}": `);
      expect(stack.node.findChild('Search').node.children).toHaveLength(0);
    });
  });
});
