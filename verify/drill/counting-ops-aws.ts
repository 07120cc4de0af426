import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDbStreamReader } from '../../ops/aws/dynamodb-stream-reader.js';
import type { OpsAws } from '../../ops/aws/ports.js';
import { localClientConfig } from '../../sandbox/dynamodb-local/server.js';

/**
 * The ops command's AWS side with its calls counted, for the outage drill's calls per record: the redrive's and the
 * replay's own calls (SQS ReceiveMessage and DeleteMessage on the DLQ, Lambda Invoke, DynamoDB Streams
 * GetShardIterator and GetRecords), as the ops command would make them against AWS. The stream is read by the ops
 * command's own reader (DynamoDbStreamReader) over a client of DynamoDB Local whose requests are counted by command.
 */

/** The ops command's calls, by API operation. */
export interface OpsCallCounts {
  receiveMessage: number;
  deleteMessage: number;
  invoke: number;
  getShardIterator: number;
  getRecords: number;
}

export function emptyOpsCallCounts(): OpsCallCounts {
  return { receiveMessage: 0, deleteMessage: 0, invoke: 0, getShardIterator: 0, getRecords: 0 };
}

/** `after - before`, per operation. */
export function opsCallsBetween(before: OpsCallCounts, after: OpsCallCounts): OpsCallCounts {
  return {
    receiveMessage: after.receiveMessage - before.receiveMessage,
    deleteMessage: after.deleteMessage - before.deleteMessage,
    invoke: after.invoke - before.invoke,
    getShardIterator: after.getShardIterator - before.getShardIterator,
    getRecords: after.getRecords - before.getRecords,
  };
}

/**
 * Wraps `aws` so that every call of the DLQ and function ports, and every Streams request, adds to `counts`. The
 * streams client is the wrapper's own and `close` releases it with the wrapped one's.
 */
export function countingOpsAws(aws: OpsAws, dynamodbEndpoint: string, counts: OpsCallCounts): OpsAws {
  const streamsClient = new DynamoDBStreamsClient(localClientConfig(dynamodbEndpoint));
  streamsClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetShardIteratorCommand') counts.getShardIterator += 1;
      if (context.commandName === 'GetRecordsCommand') counts.getRecords += 1;
      return next(args);
    },
    { step: 'initialize', name: 'drillStreamCallCounter' },
  );
  const queues = aws.deadLetterQueues;
  return {
    ...aws,
    deadLetterQueues: {
      depth: (queueUrl) => queues.depth(queueUrl),
      peek: (queueUrl, options) => {
        counts.receiveMessage += 1;
        return queues.peek(queueUrl, options);
      },
      receive: (queueUrl, options) => {
        counts.receiveMessage += 1;
        return queues.receive(queueUrl, options);
      },
      delete: (queueUrl, receiptHandle) => {
        counts.deleteMessage += 1;
        return queues.delete(queueUrl, receiptHandle);
      },
    },
    functions: {
      invoke: (functionName, payload) => {
        counts.invoke += 1;
        return aws.functions.invoke(functionName, payload);
      },
    },
    streams: new DynamoDbStreamReader(streamsClient),
    close: () => {
      streamsClient.destroy();
      aws.close();
    },
  };
}
