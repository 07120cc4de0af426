import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { Connection } from '@opensearch-project/opensearch';
import { createOpenSearchClient } from '../../lambdas/shared/search/opensearch-client.js';
import { S3AuditObjects } from '../audit-history/audit-objects.js';
import { CloudFormationStackOutputs } from './cloudformation-stack-outputs.js';
import { CloudWatchAlarms, CloudWatchMetrics } from './cloudwatch.js';
import { DynamoDbStreamReader } from './dynamodb-stream-reader.js';
import { LambdaEventSourceMappings } from './lambda-event-source-mappings.js';
import { LambdaFunctionInvoker } from './lambda-function-invoker.js';
import type { OpsAws } from './ports.js';
import { SqsDeadLetterQueues } from './sqs-dead-letter-queues.js';

export interface DefaultOpsAwsOptions {
  /**
   * The class that sends the OpenSearch client's requests, for tests (a connection mock): the signing is layered on
   * top of it, so a test sees the signed request. @default the client's own http(s) Connection
   */
  readonly searchConnection?: typeof Connection;
}

/**
 * The production AWS side of `npm run ops`: SDK clients with the default credential chain, in `region` or the
 * chain's region, each behind the port it answers (ports.ts).
 */
export function defaultOpsAws(region: string | undefined, options: DefaultOpsAwsOptions = {}): OpsAws {
  const config = region === undefined ? {} : { region };
  const sqs = new SQSClient(config);
  const cloudFormation = new CloudFormationClient(config);
  const lambda = new LambdaClient(config);
  const cloudWatch = new CloudWatchClient(config);
  const streams = new DynamoDBStreamsClient(config);
  const dynamoDb = new DynamoDBClient(config);
  const s3 = new S3Client(config);
  // One chain for the run: it caches credentials and refreshes them before they expire, for the API's signing and
  // the search client's alike (SDK v3 credentials: the OpenSearch signer's own fallback is never used).
  const credentials = defaultProvider();
  return {
    stackOutputs: new CloudFormationStackOutputs(cloudFormation),
    mappings: new LambdaEventSourceMappings(lambda),
    metrics: new CloudWatchMetrics(cloudWatch),
    alarms: new CloudWatchAlarms(cloudWatch),
    deadLetterQueues: new SqsDeadLetterQueues(sqs),
    functions: new LambdaFunctionInvoker(lambda),
    streams: new DynamoDbStreamReader(streams),
    credentials,
    dynamoDb,
    searchClient: (endpoint, searchRegion) =>
      createOpenSearchClient({
        endpoint,
        sign: true,
        region: searchRegion,
        getCredentials: credentials,
        ...(options.searchConnection === undefined ? {} : { Connection: options.searchConnection }),
      }),
    auditObjects: (bucket) => new S3AuditObjects(s3, bucket),
    region: async () => {
      try {
        return await sqs.config.region();
      } catch {
        return undefined;
      }
    },
    close: () => {
      for (const client of [sqs, cloudFormation, lambda, cloudWatch, streams, dynamoDb, s3]) client.destroy();
    },
  };
}
