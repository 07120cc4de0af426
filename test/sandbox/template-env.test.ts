import { describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/shared/env.js';
import { tableDefinitionsFromTemplate } from '../../sandbox/dynamodb-local/tables.js';
import { type CfnTemplate, type SynthesizedApp, synthesizeApp } from '../../sandbox/synth.js';
import {
  apiFunctionAddress,
  resolveFunctionEnvironment,
  TemplateWiringError,
} from '../../sandbox/template-env.js';

/** A two-stack app shaped like a synthesized one: a producer with outputs, a consumer function reading them. */
function twoStackApp(variables: Record<string, unknown>): SynthesizedApp {
  const producer: CfnTemplate = {
    Resources: { TableA: { Type: 'AWS::DynamoDB::Table' } },
    Outputs: {
      ExportA: { Value: { Ref: 'TableA' }, Export: { Name: 'Producer:ExportA' } },
      PublishA: { Value: { Ref: 'TableA' } },
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
    ['an unsupported intrinsic', { 'Fn::Join': ['', ['a', 'b']] }, /VALUE: unsupported value/],
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

  it('wires the real orders-api function to every table it is bound to, through the real template', () => {
    // Prepare
    const app = synthesizeApp();
    const definitions = app.stacks.flatMap((s) => tableDefinitionsFromTemplate(s.template));
    const byLogicalId = new Map(definitions.map((d) => [d.logicalId, `local-${d.constructId}`]));

    // Act
    const env = resolveFunctionEnvironment(app, apiFunctionAddress(app), ({ logicalId }) =>
      byLogicalId.get(logicalId),
    );

    // Assess
    expect(env).toMatchObject({
      [ENV.ORDERS_TABLE_NAME]: 'local-Orders',
      [ENV.VOTES_TABLE_NAME]: 'local-Votes',
      [ENV.POLL_RESULTS_TABLE_NAME]: 'local-PollResults',
      [ENV.IDEMPOTENCY_TABLE_NAME]: 'local-Idempotency',
    });
  });
});
