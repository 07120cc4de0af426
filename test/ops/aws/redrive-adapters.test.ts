import 'aws-sdk-client-mock-vitest/extend';
import {
  type _Record,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { DynamoDbStreamReader } from '../../../ops/aws/dynamodb-stream-reader.js';
import { LambdaFunctionInvoker } from '../../../ops/aws/lambda-function-invoker.js';

const CONFIG = { region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 's' } };
const STREAM = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000';
const SHARD = 'shardId-1';

describe('LambdaFunctionInvoker', () => {
  it('sends Invoke RequestResponse with the JSON payload and returns status, error and payload text', async () => {
    // Prepare
    const client = new LambdaClient(CONFIG);
    const mock = mockClient(client);
    mock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode('{"errorMessage":"boom"}') as never,
    });

    // Act
    const result = await new LambdaFunctionInvoker(client).invoke('fn-1', { Records: [{ eventID: 'e-1' }] });

    // Assess
    expect(mock).toHaveReceivedCommandTimes(InvokeCommand, 1);
    const input = mock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe('fn-1');
    expect(input?.InvocationType).toBe('RequestResponse');
    expect(new TextDecoder().decode(input?.Payload as Uint8Array)).toBe('{"Records":[{"eventID":"e-1"}]}');
    expect(result).toEqual({
      statusCode: 200,
      functionError: 'Unhandled',
      payload: '{"errorMessage":"boom"}',
    });
  });
});

function sdkRecord(sequenceNumber: string, extra: Partial<NonNullable<_Record['dynamodb']>> = {}): _Record {
  return {
    eventID: `e-${sequenceNumber}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      ApproximateCreationDateTime: new Date('2024-05-01T12:00:00.000Z'),
      Keys: { orderId: { S: `o-${sequenceNumber}` } },
      SequenceNumber: sequenceNumber,
      SizeBytes: 10,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...extra,
    },
  };
}

describe('DynamoDbStreamReader', () => {
  it('reads AT_SEQUENCE_NUMBER and GetRecords until the end record, in the shape of a Lambda event', async () => {
    // Prepare
    const client = new DynamoDBStreamsClient(CONFIG);
    const mock = mockClient(client);
    mock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    mock.on(GetRecordsCommand, { ShardIterator: 'it-1' }).resolves({
      Records: [
        sdkRecord('400000000000000000001', {
          NewImage: { blob: { B: new Uint8Array([1, 2]) }, ['__proto__']: { S: 'x' } },
        }),
      ],
      NextShardIterator: 'it-2',
    });
    mock
      .on(GetRecordsCommand, { ShardIterator: 'it-2' })
      .resolves({ Records: [], NextShardIterator: 'it-3' });
    mock.on(GetRecordsCommand, { ShardIterator: 'it-3' }).resolves({
      Records: [sdkRecord('400000000000000000002'), sdkRecord('400000000000000000003')],
      NextShardIterator: 'it-4',
    });

    // Act
    const range = await new DynamoDbStreamReader(client).readRange(
      STREAM,
      SHARD,
      '400000000000000000001',
      '400000000000000000002',
    );

    // Assess
    expect(mock).toHaveReceivedCommandWith(GetShardIteratorCommand, {
      StreamArn: STREAM,
      ShardId: SHARD,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: '400000000000000000001',
    });
    expect(mock).toHaveReceivedCommandTimes(GetRecordsCommand, 3);
    expect(mock).toHaveReceivedCommandWith(GetRecordsCommand, { ShardIterator: 'it-1', Limit: 1000 });
    expect(range.kind).toBe('records');
    if (range.kind !== 'records') return;
    expect(range.records.map((r) => r.dynamodb?.SequenceNumber)).toEqual([
      '400000000000000000001',
      '400000000000000000002',
    ]);
    const first = range.records[0];
    expect(first?.eventSourceARN).toBe(STREAM);
    expect(first?.dynamodb?.ApproximateCreationDateTime).toBe(1_714_564_800);
    expect(first?.dynamodb?.NewImage?.blob).toEqual({ B: 'AQI=' });
    expect(Object.hasOwn(first?.dynamodb?.NewImage ?? {}, '__proto__')).toBe(true);
  });

  it('stops at the end of a closed shard (no next iterator)', async () => {
    // Prepare
    const client = new DynamoDBStreamsClient(CONFIG);
    const mock = mockClient(client);
    mock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    mock.on(GetRecordsCommand).resolves({ Records: [sdkRecord('400000000000000000001')] });

    // Act
    const range = await new DynamoDbStreamReader(client).readRange(
      STREAM,
      SHARD,
      '400000000000000000001',
      '400000000000000000009',
    );

    // Assess
    expect(mock).toHaveReceivedCommandTimes(GetRecordsCommand, 1);
    expect(range).toMatchObject({ kind: 'records', records: [expect.anything()] });
  });

  it.each(['TrimmedDataAccessException', 'ExpiredIteratorException', 'ResourceNotFoundException'])(
    "answers 'trimmed' for %s",
    async (name) => {
      // Prepare
      const client = new DynamoDBStreamsClient(CONFIG);
      mockClient(client)
        .on(GetShardIteratorCommand)
        .rejects(Object.assign(new Error('gone'), { name }));

      // Act
      const range = await new DynamoDbStreamReader(client).readRange(STREAM, SHARD, '1', '2');

      // Assess
      expect(range).toEqual({ kind: 'trimmed', reason: `${name}: gone` });
    },
  );

  it('rethrows other errors', async () => {
    // Prepare
    const client = new DynamoDBStreamsClient(CONFIG);
    mockClient(client)
      .on(GetShardIteratorCommand)
      .rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));

    // Act / Assess
    await expect(new DynamoDbStreamReader(client).readRange(STREAM, SHARD, '1', '2')).rejects.toThrow('no');
  });
});
