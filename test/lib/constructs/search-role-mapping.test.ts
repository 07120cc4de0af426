import { existsSync } from 'node:fs';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { SEARCH_ROLE_MAPPING_TIMEOUT_SECONDS } from '../../../lambdas/search-role-mapping/names.js';
import { buildApp } from '../../../lib/app.js';
import { InvalidPropsError } from '../../../lib/constructs/props-validation.js';
import { SearchDomain } from '../../../lib/constructs/search-domain.js';
import {
  SEARCH_ROLE_MAPPING_ENTRY,
  SEARCH_SECURITY_ROLES_HASH,
  SearchRoleMapping,
  type SearchRoleMappingProps,
} from '../../../lib/constructs/search-role-mapping.js';
import { testApp, testConfig, thrownBy } from '../../fixtures/cdk-app.js';

const EXTERNAL_MASTER_USER = 'arn:aws:iam::123456789012:role/search-admin';

/** The mapping with its domain and both function roles in one stack, so that references are plain. */
function mappingStack(overrides: Partial<SearchRoleMappingProps> = {}): {
  stack: Stack;
  mapping: SearchRoleMapping;
  search: SearchDomain;
} {
  const stack = new Stack(testApp(), 'Pipelines');
  const search = new SearchDomain(stack, 'Search', { config: testConfig() });
  const lambda = new ServicePrincipal('lambda.amazonaws.com');
  const mapping = new SearchRoleMapping(stack, 'SearchRoleMapping', {
    config: testConfig(),
    search,
    writerRole: new Role(stack, 'WriterRole', { assumedBy: lambda }),
    readerRole: new Role(stack, 'ReaderRole', { assumedBy: lambda }),
    ...overrides,
  });
  return { stack, mapping, search };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

describe('SearchRoleMapping', () => {
  it('has a handler entry that exists', () => {
    // Assess
    expect(existsSync(SEARCH_ROLE_MAPPING_ENTRY)).toBe(true);
  });

  it('creates the custom resource with the domain, the master user, both role ARNs and the roles hash', () => {
    // Prepare
    const { stack, mapping, search } = mappingStack();

    // Act
    const template = Template.fromStack(stack);

    // Assess
    template.resourceCountIs('Custom::SearchRoleMapping', 1);
    template.hasResourceProperties('Custom::SearchRoleMapping', {
      ServiceToken: {
        'Fn::GetAtt': [Match.stringLikeRegexp('^SearchRoleMappingProviderframeworkonEvent'), 'Arn'],
      },
      DomainName: 'orders-test',
      DomainEndpoint: {
        'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(stack, search.domain), 'DomainEndpoint'] }]],
      },
      MasterUserRoleArn: { 'Fn::GetAtt': [logicalId(stack, search.adminRole!), 'Arn'] },
      WriterRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WriterRole'), 'Arn'] },
      ReaderRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReaderRole'), 'Arn'] },
      RolesHash: SEARCH_SECURITY_ROLES_HASH,
    });
    expect(SEARCH_SECURITY_ROLES_HASH).toMatch(/^[0-9a-f]{64}$/);
    expect(mapping.resource).toBeDefined();
  });

  it("lets the handler's role assume the master user role and do nothing else", () => {
    // Prepare
    const { stack, mapping, search } = mappingStack();

    // Act
    const template = Template.fromStack(stack);

    // Assess
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: logicalId(stack, mapping.function.role) }] },
    });
    const statements = Object.values(policies).flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
          .Statement,
    );
    expect(statements).toEqual([
      // Added by Lambda active tracing (BaseFunction).
      {
        Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
        Effect: 'Allow',
        Resource: '*',
      },
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(stack, search.adminRole!), 'Arn'] },
      },
    ]);
  });

  it('assumes a master user configured with searchAdminRoleArn by its literal ARN', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Pipelines');
    const lambda = new ServicePrincipal('lambda.amazonaws.com');
    const search = new SearchDomain(stack, 'Search', {
      config: testConfig({ searchAdminRoleArn: EXTERNAL_MASTER_USER }),
    });
    new SearchRoleMapping(stack, 'SearchRoleMapping', {
      config: testConfig(),
      search,
      writerRole: new Role(stack, 'WriterRole', { assumedBy: lambda }),
      readerRole: new Role(stack, 'ReaderRole', { assumedBy: lambda }),
    });

    // Act
    const template = Template.fromStack(stack);

    // Assess
    template.hasResourceProperties('Custom::SearchRoleMapping', { MasterUserRoleArn: EXTERNAL_MASTER_USER });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Action: 'sts:AssumeRole', Effect: 'Allow', Resource: EXTERNAL_MASTER_USER },
        ]),
      },
    });
  });

  it('gives the handler a timeout above its retry budget', () => {
    // Prepare
    const { stack } = mappingStack();

    // Act
    const template = Template.fromStack(stack);

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Maps the functions'),
      Timeout: SEARCH_ROLE_MAPPING_TIMEOUT_SECONDS,
    });
    expect(SEARCH_ROLE_MAPPING_TIMEOUT_SECONDS).toBeLessThanOrEqual(900);
  });

  it.each([
    ['search.domainName', { domainName: 'Orders' }],
    ['search.domainEndpoint', { domainEndpoint: 'https://search.example' }],
    ['search.masterUserArn', { masterUserArn: 'arn:aws:iam::123456789012:user/admin' }],
  ])('refuses an invalid %s', (property, searchOverride) => {
    // Prepare
    const stack = new Stack(testApp(), 'Pipelines');
    const lambda = new ServicePrincipal('lambda.amazonaws.com');
    const search = {
      domainName: 'orders-test',
      domainEndpoint: 'search-orders-test.eu-west-1.es.amazonaws.com',
      masterUserArn: EXTERNAL_MASTER_USER,
      ...searchOverride,
    };

    // Act
    const error = thrownBy(
      () =>
        new SearchRoleMapping(stack, 'SearchRoleMapping', {
          config: testConfig(),
          search,
          writerRole: new Role(stack, 'WriterRole', { assumedBy: lambda }),
          readerRole: new Role(stack, 'ReaderRole', { assumedBy: lambda }),
        }),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidPropsError);
    expect(error.message).toContain(property);
  });

  it('maps the search sync role as writer and the orders API role as reader in the app', () => {
    // Prepare
    const { stateless } = buildApp(testApp());

    // Act
    const template = Template.fromStack(stateless);

    // Assess
    template.resourceCountIs('Custom::SearchRoleMapping', 1);
    template.hasResourceProperties('Custom::SearchRoleMapping', {
      WriterRoleArn: {
        'Fn::GetAtt': [logicalId(stateless, stateless.searchSync.consumer.function.role), 'Arn'],
      },
      ReaderRoleArn: { 'Fn::GetAtt': [logicalId(stateless, stateless.ordersApi.handler.role), 'Arn'] },
      // The Data stack's AdminRole, through a cross-stack reference.
      MasterUserRoleArn: Match.objectLike({ 'Fn::GetStackOutput': Match.anyValue() }),
    });
  });
});
