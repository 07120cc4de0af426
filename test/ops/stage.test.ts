import { describe, expect, it } from 'vitest';
import { OPS_CONSUMERS, stackNames } from '../../lib/stage-outputs.js';
import { resolveStage, StageOutputMissingError, StageStackNotFoundError } from '../../ops/stage.js';
import {
  consumerOutput,
  createStageOutputs,
  fakeStackOutputs,
  outputValue,
  REGION,
  STAGE,
} from './ops-fixtures.js';

describe('resolveStage', () => {
  it('reads both stacks and every name of the contract', async () => {
    // Prepare
    const port = fakeStackOutputs(createStageOutputs());

    // Act
    const names = await resolveStage(port, STAGE, REGION);

    // Assess
    expect(port.asked).toEqual(['OrdersStreams-test-Data', 'OrdersStreams-test-Pipelines']);
    expect(names.ordersTableName).toBe(outputValue('OpsOrdersTableName'));
    expect(names.ordersStreamArn).toBe(outputValue('OpsOrdersStreamArn'));
    expect(names.searchEndpoint).toBe(outputValue('OpsSearchEndpoint'));
    expect(names.apiUrl).toBe(outputValue('OpsApiUrl'));
    expect(names.opsTopicArn).toBe(outputValue('OpsTopicArn'));
    expect([...names.consumers.keys()]).toEqual([...OPS_CONSUMERS]);
    expect(names.consumers.get('search-sync')).toEqual({
      consumer: 'search-sync',
      functionName: consumerOutput('search-sync', 'FunctionName'),
      mappingUuid: consumerOutput('search-sync', 'MappingUuid'),
      deadLetterQueueUrl: consumerOutput('search-sync', 'DeadLetterQueueUrl'),
      deadLetterQueueName: consumerOutput('search-sync', 'DeadLetterQueueName'),
      alarmNamePrefix: consumerOutput('search-sync', 'AlarmNamePrefix'),
    });
  });

  it('names the missing stack, the region and the deploy command', async () => {
    // Prepare
    const outputs = createStageOutputs();
    outputs.delete(stackNames(STAGE).stateless);

    // Act
    const resolving = resolveStage(fakeStackOutputs(outputs), STAGE, REGION);

    // Assess
    await expect(resolving).rejects.toThrow(StageStackNotFoundError);
    await expect(resolving).rejects.toThrow(
      'Stack OrdersStreams-test-Pipelines of stage "test" does not exist in eu-west-1: deploy the stage with ' +
        '`npx cdk deploy --all -c stage=test`',
    );
  });

  it('names every missing output with its stack, at once', async () => {
    // Prepare
    const port = fakeStackOutputs(createStageOutputs(['OpsVotesTableName', 'OpsAuditLogMappingUuid']));

    // Act
    const resolving = resolveStage(port, STAGE, REGION);

    // Assess
    await expect(resolving).rejects.toThrow(StageOutputMissingError);
    await expect(resolving).rejects.toThrow(
      /OrdersStreams-test-Data: OpsVotesTableName\n {2}OrdersStreams-test-Pipelines: OpsAuditLogMappingUuid\n.*redeploy them with `npx cdk deploy --all -c stage=test`/,
    );
  });
});
