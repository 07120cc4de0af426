import 'aws-sdk-client-mock-vitest/extend';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { OPS_CONSUMERS } from '../../../lib/stage-outputs.js';
import { runOpsCli } from '../../../ops/ops-cli.js';
import { captureIo, consumerOutput, createFakeAws, createSqsClient, depsFor, NOW } from '../ops-fixtures.js';

/** An SQS client whose queues have the given depths (visible, in flight), 0 otherwise; `mock` records the calls. */
function sqsWithDepths(depths: ReadonlyMap<string, [number, number]>) {
  const client = createSqsClient();
  const mock = mockClient(client);
  mock.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
    const [visible, inFlight] = depths.get(input.QueueUrl) ?? [0, 0];
    return {
      Attributes: {
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: String(inFlight),
      },
    };
  });
  return { client, mock };
}

describe('npm run ops -- status', () => {
  it('asks each consumer mapping, metrics, DLQ and alarms exactly, and exits 0 when all is healthy', async () => {
    // Prepare
    const { client, mock: sqs } = sqsWithDepths(new Map());
    const fake = createFakeAws(client, { maxima: new Map([['IteratorAge', 1500]]) });
    const io = captureIo();

    // Act
    const code = await runOpsCli(['status', '--stage', 'test'], io, depsFor(fake));

    // Assess
    expect(code).toBe(0);
    expect(fake.mappingsAsked).toEqual(OPS_CONSUMERS.map((c) => consumerOutput(c, 'MappingUuid')));
    expect(fake.alarmPrefixesAsked).toEqual(OPS_CONSUMERS.map((c) => consumerOutput(c, 'AlarmNamePrefix')));
    const start = new Date(NOW.getTime() - 15 * 60_000);
    for (const consumer of OPS_CONSUMERS) {
      expect(sqs).toHaveReceivedCommandWith(GetQueueAttributesCommand, {
        QueueUrl: consumerOutput(consumer, 'DeadLetterQueueUrl'),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      });
      expect(fake.metricQueries).toContainEqual({
        namespace: 'AWS/Lambda',
        metricName: 'IteratorAge',
        dimensions: new Map([['FunctionName', consumerOutput(consumer, 'FunctionName')]]),
        statistic: 'Maximum',
        periodSeconds: 60,
        start,
        end: NOW,
      });
      expect(fake.metricQueries).toContainEqual({
        namespace: 'AWS/SQS',
        metricName: 'ApproximateAgeOfOldestMessage',
        dimensions: new Map([['QueueName', consumerOutput(consumer, 'DeadLetterQueueName')]]),
        statistic: 'Maximum',
        periodSeconds: 60,
        start,
        end: NOW,
      });
    }
    expect(sqs).toHaveReceivedCommandTimes(GetQueueAttributesCommand, 4);
    expect(fake.metricQueries).toHaveLength(8);
    expect(io.out()).toMatch(/^order-fanout\s+Enabled\s+OK\s+1\.5s\s+0 \(\+0\)\s+-\s+OK 1$/m);
    expect(io.out()).toContain('All consumers healthy.');
    expect(io.err()).toContain('Resolving stage test from its stacks...');
    expect(fake.closed).toBe(1);
  });

  it('exits 1 and says why for a disabled mapping, a DLQ with letters and an alarm in ALARM', async () => {
    // Prepare
    const { client } = sqsWithDepths(
      new Map([[consumerOutput('search-sync', 'DeadLetterQueueUrl'), [3, 1]]]),
    );
    const prefix = consumerOutput('audit-log', 'AlarmNamePrefix');
    const fake = createFakeAws(client, {
      mappings: new Map([
        [consumerOutput('vote-aggregator', 'MappingUuid'), { state: 'Disabled', lastProcessingResult: null }],
      ]),
      maxima: new Map([['ApproximateAgeOfOldestMessage', 3720]]),
      alarms: new Map([
        [
          prefix,
          [
            { name: `${prefix}-iterator-age`, state: 'ALARM' },
            { name: `${prefix}-errors`, state: 'OK' },
            { name: `${prefix}-dlq`, state: 'INSUFFICIENT_DATA' },
          ],
        ],
      ]),
    });
    const io = captureIo();

    // Act
    const code = await runOpsCli(['status', '--stage', 'test'], io, depsFor(fake));

    // Assess
    expect(code).toBe(1);
    expect(io.out()).toContain('search-sync: DLQ holds 3 letter(s) (+1 in flight)');
    expect(io.out()).toContain(`audit-log: alarm ${prefix}-iterator-age is in ALARM`);
    expect(io.out()).toContain('vote-aggregator: mapping is Disabled');
    expect(io.out()).toMatch(/^audit-log .* 1h 2m\s+ALARM 1, OK 1, INSUFFICIENT_DATA 1$/m);
  });

  it('prints one JSON object with --json', async () => {
    // Prepare
    const { client } = sqsWithDepths(
      new Map([[consumerOutput('order-fanout', 'DeadLetterQueueUrl'), [2, 0]]]),
    );
    const fake = createFakeAws(client);
    const io = captureIo();

    // Act
    const code = await runOpsCli(['status', '--stage', 'test', '--json'], io, depsFor(fake));

    // Assess
    expect(code).toBe(1);
    const json = JSON.parse(io.out()) as { ok: boolean; consumers: Array<Record<string, unknown>> };
    expect(json.ok).toBe(false);
    expect(json.consumers[0]).toEqual({
      consumer: 'order-fanout',
      mappingState: 'Enabled',
      lastProcessingResult: 'OK',
      iteratorAgeMaxMs: null,
      dlq: { visible: 2, inFlight: 0, oldestAgeSeconds: null },
      alarms: { byState: { OK: 1 }, inAlarm: [] },
      attention: ['DLQ holds 2 letter(s) (+0 in flight)'],
    });
  });

  it('exits 1 naming the stack and the deploy command when the stage is not deployed', async () => {
    // Prepare
    const fake = createFakeAws(createSqsClient(), { outputs: new Map() });
    const io = captureIo();

    // Act
    const code = await runOpsCli(['status', '--stage', 'test'], io, depsFor(fake));

    // Assess
    expect(code).toBe(1);
    expect(io.err()).toContain(
      'StageStackNotFoundError: Stack OrdersStreams-test-Data of stage "test" does not exist',
    );
    expect(io.err()).toContain('npx cdk deploy --all -c stage=test');
    expect(io.out()).toBe('');
  });
});
