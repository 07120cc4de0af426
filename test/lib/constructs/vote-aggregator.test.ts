import { type CfnResource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../../lambdas/shared/env.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../../lambdas/vote-aggregator/names.js';
import { buildApp } from '../../../lib/app.js';
import { DataTables } from '../../../lib/constructs/data-tables.js';
import { OpsAlerts } from '../../../lib/constructs/ops-alerts.js';
import { TOO_MANY_STREAM_READERS_WARNING } from '../../../lib/constructs/stream-consumer.js';
import {
  VOTE_AGGREGATOR_ENTRY,
  VOTE_AGGREGATOR_MAPPING,
  VoteAggregator,
} from '../../../lib/constructs/vote-aggregator.js';
import { DUMMY_CONSUMER_ENTRY, testApp, testConfig, warningsWithId } from '../../fixtures/cdk-app.js';

/** Everything the aggregator needs in one stack, so that references are plain `Ref`s and `Fn::GetAtt`s. */
interface AggregatorStack {
  readonly stack: Stack;
  readonly tables: DataTables;
  readonly aggregator: VoteAggregator;
  readonly template: Template;
}

function aggregatorStack(): AggregatorStack {
  const stack = new Stack(testApp(), 'Pipelines');
  const tables = new DataTables(stack, 'Tables');
  const ops = new OpsAlerts(stack, 'Ops');
  const aggregator = new VoteAggregator(stack, 'VoteAggregator', {
    config: testConfig(),
    votesTable: tables.votes,
    pollResultsTable: tables.pollResults,
    alarmTopic: ops.topic,
    dashboard: ops.dashboard,
    entry: DUMMY_CONSUMER_ENTRY,
  });
  return { stack, tables, aggregator, template: Template.fromStack(stack) };
}

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}

interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
}

describe('VoteAggregator', () => {
  let at: AggregatorStack;

  beforeAll(() => {
    at = aggregatorStack();
  });

  it('reads the Votes stream in batches of up to 1,000 gathered for up to 1 s, one batch per shard at a time', () => {
    // Assess
    at.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    at.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(at.tables.votes, at.stack), 'StreamArn'] },
      FunctionName: { Ref: logicalId(at.aggregator.consumer.function.lambdaFunction, at.stack) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      MaximumRetryAttempts: 10000,
      MaximumRecordAgeInSeconds: 7200,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // Every vote change counts: no filter.
      FilterCriteria: Match.absent(),
    });
    // The per-poll watermark needs per-poll order: never above 1.
    expect(VOTE_AGGREGATOR_MAPPING.parallelizationFactor).toBe(1);
  });

  it('may only update PollResults items, named in POLL_RESULTS_TABLE_NAME, as vote-aggregator', () => {
    // Prepare
    const roleId = at.stack.getLogicalId(
      at.aggregator.consumer.function.role.node.defaultChild as CfnResource,
    );
    const resultsArn = { 'Fn::GetAtt': [logicalId(at.tables.pollResults, at.stack), 'Arn'] };

    // Act
    const statements = Object.values(at.template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
    const onResults = statements.filter(
      (statement) => JSON.stringify(statement.Resource) === JSON.stringify(resultsArn),
    );

    // Assess
    expect(onResults.map((statement) => statement.Action)).toEqual(['dynamodb:UpdateItem']);
    at.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.POLL_RESULTS_TABLE_NAME]: { Ref: logicalId(at.tables.pollResults, at.stack) },
          [ENV.CONSUMER_NAME]: VOTE_AGGREGATOR_CONSUMER_NAME,
        }),
      },
    });
  });

  it('defaults to the vote-aggregator handler', () => {
    // Assess
    expect(VOTE_AGGREGATOR_ENTRY).toMatch(/lambdas\/vote-aggregator\/handler\.ts$/);
  });

  it('is the one reader of the Votes stream in the app, with no warning', () => {
    // Prepare
    const { stateless } = buildApp(testApp());

    // Act
    const warnings = warningsWithId(stateless, TOO_MANY_STREAM_READERS_WARNING);

    // Assess
    expect(warnings).toEqual([]);
    expect(stateless.voteAggregator).toBeInstanceOf(VoteAggregator);
  });
});
