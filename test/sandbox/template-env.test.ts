import { describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/shared/env.js';
import { tableDefinitionsFromTemplate } from '../../sandbox/dynamodb-local/tables.js';
import { type CfnTemplate, type SynthesizedApp, synthesizeApp } from '../../sandbox/synth.js';
import {
  apiFunctionAddress,
  type LocalValue,
  localEndpoint,
  resolveFunctionEnvironment,
  TemplateWiringError,
} from '../../sandbox/template-env.js';

/** A two-stack app shaped like a synthesized one: a producer with outputs, a consumer function reading them. */
function twoStackApp(variables: Record<string, unknown>): SynthesizedApp {
  const producer: CfnTemplate = {
    Resources: {
      TableA: { Type: 'AWS::DynamoDB::Table' },
      Domain: { Type: 'AWS::OpenSearchService::Domain' },
    },
    Outputs: {
      ExportA: { Value: { Ref: 'TableA' }, Export: { Name: 'Producer:ExportA' } },
      PublishA: { Value: { Ref: 'TableA' } },
      PublishEndpoint: { Value: { 'Fn::GetAtt': ['Domain', 'DomainEndpoint'] } },
    },
  };
  const consumer: CfnTemplate = {
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: variables } } },
      Queue: { Type: 'AWS::SQS::Queue' },
    },
  };
  const stacks = [
    { stackName: 'Producer', template: producer },
    { stackName: 'Consumer', template: consumer },
  ];
  return {
    config: synthesizeApp().config,
    stacks,
    stack: (name) => stacks.find((s) => s.stackName === name)!,
    resourcesOfType: () => [],
  };
}

const localNames: Record<string, string> = {
  'Producer/TableA': 'local-table-a',
  'Consumer/Queue': 'local-queue',
};
const resolveRef = ({ stackName, logicalId }: { stackName: string; logicalId: string }): string | undefined =>
  localNames[`${stackName}/${logicalId}`];

const resolveAttribute = (
  { stackName, logicalId }: { stackName: string; logicalId: string },
  attribute: string,
): LocalValue | undefined =>
  `${stackName}/${logicalId}` === 'Producer/Domain' && attribute === 'DomainEndpoint'
    ? localEndpoint('http://127.0.0.1:9200/')
    : undefined;

describe('resolveFunctionEnvironment', () => {
  it.each([
    ['a plain string', 'plain', 'plain'],
    ['a Ref in the same stack', { Ref: 'Queue' }, 'local-queue'],
    ['an Fn::ImportValue of another stack', { 'Fn::ImportValue': 'Producer:ExportA' }, 'local-table-a'],
    [
      'a weak Fn::GetStackOutput of another stack',
      {
        'Fn::GetStackOutput': {
          StackName: 'Producer',
          Region: { Ref: 'AWS::Region' },
          OutputName: 'PublishA',
        },
      },
      'local-table-a',
    ],
  ])('resolves %s', (_name, value, expected) => {
    // Prepare
    const app = twoStackApp({ VALUE: value });

    // Act
    const env = resolveFunctionEnvironment(app, { stackName: 'Consumer', logicalId: 'Fn' }, resolveRef);

    // Assess
    expect(env).toEqual({ VALUE: expected });
  });

  const endpointOutput = {
    'Fn::GetStackOutput': {
      StackName: 'Producer',
      Region: { Ref: 'AWS::Region' },
      OutputName: 'PublishEndpoint',
    },
  };

  it.each([
    [
      '`https://` + a domain endpoint: the local URL, scheme and all',
      { 'Fn::Join': ['', ['https://', endpointOutput]] },
      'http://127.0.0.1:9200',
    ],
    [
      'a path after the endpoint',
      { 'Fn::Join': ['', ['https://', endpointOutput, '/orders']] },
      'http://127.0.0.1:9200/orders',
    ],
    ['the endpoint alone: its host, as the attribute is', endpointOutput, '127.0.0.1:9200'],
    [
      'the endpoint after other text: its host',
      { 'Fn::Join': ['=', ['host', endpointOutput]] },
      'host=127.0.0.1:9200',
    ],
    ['a Join of Refs', { 'Fn::Join': [',', [{ Ref: 'Queue' }, 'x']] }, 'local-queue,x'],
  ])('resolves %s', (_name, value, expected) => {
    // Prepare
    const app = twoStackApp({ VALUE: value });

    // Act
    const env = resolveFunctionEnvironment(
      app,
      { stackName: 'Consumer', logicalId: 'Fn' },
      resolveRef,
      resolveAttribute,
    );

    // Assess
    expect(env).toEqual({ VALUE: expected });
  });

  it.each([
    [
      'a Ref with no local counterpart',
      { Ref: 'Nowhere' },
      /VALUE: no local counterpart for Consumer\/Nowhere/,
    ],
    ['an import nobody exports', { 'Fn::ImportValue': 'Missing' }, /VALUE: no stack exports Missing/],
    [
      'an output the stack does not have',
      { 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'Nope' } },
      /VALUE: stack Producer has no output Nope/,
    ],
    ['an unsupported intrinsic', { 'Fn::Split': [',', 'a,b'] }, /VALUE: unsupported value/],
    [
      'an attribute with no local counterpart',
      { 'Fn::GetAtt': ['Queue', 'Arn'] },
      /VALUE: no local counterpart for Arn of Consumer\/Queue/,
    ],
    ['a malformed Fn::Join', { 'Fn::Join': ['', 'ab'] }, /VALUE: malformed Fn::Join/],
  ])('fails naming the variable for %s', (_name, value, message) => {
    // Prepare
    const app = twoStackApp({ VALUE: value });

    // Act / Assess
    expect(() =>
      resolveFunctionEnvironment(app, { stackName: 'Consumer', logicalId: 'Fn' }, resolveRef),
    ).toThrow(message);
    expect(() =>
      resolveFunctionEnvironment(app, { stackName: 'Consumer', logicalId: 'Fn' }, resolveRef),
    ).toThrow(TemplateWiringError);
  });

  it('wires the real orders-api function to every table it is bound to, and to the search domain, through the real template', () => {
    // Prepare
    const app = synthesizeApp();
    const definitions = app.stacks.flatMap((s) => tableDefinitionsFromTemplate(s.template));
    const byLogicalId = new Map(definitions.map((d) => [d.logicalId, `local-${d.constructId}`]));
    const domains = new Set(app.resourcesOfType('AWS::OpenSearchService::Domain').map((d) => d.logicalId));

    // Act
    const env = resolveFunctionEnvironment(
      app,
      apiFunctionAddress(app),
      ({ logicalId }) => byLogicalId.get(logicalId),
      ({ logicalId }, attribute) =>
        domains.has(logicalId) && attribute === 'DomainEndpoint'
          ? localEndpoint('http://127.0.0.1:9200')
          : undefined,
    );

    // Assess: the template's `https://` + DomainEndpoint becomes the local server's own URL.
    expect(env).toMatchObject({
      [ENV.ORDERS_TABLE_NAME]: 'local-Orders',
      [ENV.VOTES_TABLE_NAME]: 'local-Votes',
      [ENV.POLL_RESULTS_TABLE_NAME]: 'local-PollResults',
      [ENV.IDEMPOTENCY_TABLE_NAME]: 'local-Idempotency',
      [ENV.OPENSEARCH_ENDPOINT]: 'http://127.0.0.1:9200',
    });
  });
});
