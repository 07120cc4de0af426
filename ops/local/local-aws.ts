import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createOpenSearchClient } from '../../lambdas/shared/search/opensearch-client.js';
import type { SearchClient as OpenSearchClient } from '../../lambdas/shared/search/opensearch-client-options.js';
import type { AuditObjects } from '../audit-history/audit-objects.js';
import { DynamoDbStreamReader } from '../aws/dynamodb-stream-reader.js';
import type {
  AlarmSummary,
  InvokeResult,
  MappingStatus,
  OpsAws,
  PeekedMessage,
  QueueDepth,
  ReceivedMessage,
} from '../aws/ports.js';
import type { LocalStage } from '../cli/command.js';
import { emulatorClientConfig } from '../cli/emulator.js';
import {
  DEFAULT_SANDBOX_DIR,
  type OpsEndpoint,
  type OpsMethod,
  opsErrorSchema,
  readOpsEndpoint,
  SandboxCallError,
} from './protocol.js';

/**
 * The ops command's AWS side for `--local`: every port method a call to the running sandbox's ops endpoint
 * (protocol.ts), except what is a real local server already: DynamoDB Local (tables and streams) and the local
 * OpenSearch, reached directly. Values that JSON does not carry travel as text: dates as ISO-8601, maps as entry
 * lists, object bytes as base64.
 */

type Fetch = typeof fetch;

async function call<T>(
  endpoint: OpsEndpoint,
  fetchImpl: Fetch,
  method: OpsMethod,
  args: unknown[],
): Promise<T> {
  let response: Response;
  try {
    response = await fetchImpl(`${endpoint.url}/ops/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${endpoint.token}` },
      body: JSON.stringify(args),
    });
  } catch (error) {
    throw new SandboxCallError(
      method,
      `no answer from ${endpoint.url} (${(error as Error).message}): is the sandbox (pid ${endpoint.pid}) still running?`,
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SandboxCallError(method, `HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    const parsed = opsErrorSchema.safeParse(json);
    throw new SandboxCallError(
      method,
      parsed.success ? `${parsed.data.error.name}: ${parsed.data.error.message}` : `HTTP ${response.status}`,
    );
  }
  return (json as { result: T }).result;
}

interface WirePeeked {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: string | null;
  readonly receiveCount: number | null;
}

function peekedFromWire(message: WirePeeked): PeekedMessage {
  return { ...message, sentAt: message.sentAt === null ? null : new Date(message.sentAt) };
}

/** The audit objects of one bucket of the sandbox's local S3 store, through the endpoint. */
function localAuditObjects(endpoint: OpsEndpoint, fetchImpl: Fetch, bucket: string): AuditObjects {
  return {
    location: `sandbox s3://${bucket}`,
    keys: async function* (prefix, options = {}) {
      const keys = await call<string[]>(endpoint, fetchImpl, 'auditObjects.keys', [
        bucket,
        prefix,
        options.startAfter ?? null,
      ]);
      yield* keys;
    },
    commonPrefixes: (prefix, delimiter) =>
      call<string[]>(endpoint, fetchImpl, 'auditObjects.commonPrefixes', [bucket, prefix, delimiter]),
    read: async (key) =>
      Buffer.from(await call<string>(endpoint, fetchImpl, 'auditObjects.read', [bucket, key]), 'base64'),
  };
}

/** The ops command's AWS side over a running sandbox's endpoint. `fetchImpl` is for tests. */
export function localOpsAwsClient(endpoint: OpsEndpoint, fetchImpl: Fetch = fetch): OpsAws {
  const config = emulatorClientConfig(endpoint.dynamodbEndpoint);
  const dynamoDb = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  const rpc = <T>(method: OpsMethod, ...args: unknown[]): Promise<T> =>
    call<T>(endpoint, fetchImpl, method, args);
  return {
    stackOutputs: {
      outputsOf: async (stackName) => {
        const entries = await rpc<[string, string][] | null>('stackOutputs.outputsOf', stackName);
        return entries === null ? undefined : new Map(entries);
      },
    },
    mappings: { mapping: (uuid) => rpc<MappingStatus>('mappings.mapping', uuid) },
    metrics: {
      maximum: (query) =>
        rpc<number | null>('metrics.maximum', {
          ...query,
          dimensions: [...query.dimensions],
          start: query.start.toISOString(),
          end: query.end.toISOString(),
        }),
    },
    alarms: { alarmsWithPrefix: (prefix) => rpc<AlarmSummary[]>('alarms.alarmsWithPrefix', prefix) },
    deadLetterQueues: {
      depth: (queueUrl) => rpc<QueueDepth>('deadLetterQueues.depth', queueUrl),
      peek: async (queueUrl, options) =>
        (await rpc<WirePeeked[]>('deadLetterQueues.peek', queueUrl, options)).map(peekedFromWire),
      receive: async (queueUrl, options) =>
        (
          await rpc<(WirePeeked & { receiptHandle: string })[]>('deadLetterQueues.receive', queueUrl, options)
        ).map(
          (message): ReceivedMessage => ({
            ...peekedFromWire(message),
            receiptHandle: message.receiptHandle,
          }),
        ),
      delete: (queueUrl, receiptHandle) => rpc<void>('deadLetterQueues.delete', queueUrl, receiptHandle),
    },
    functions: {
      invoke: (functionName, payload) => rpc<InvokeResult>('functions.invoke', functionName, payload),
    },
    streams: new DynamoDbStreamReader(streams),
    credentials: async () => ({ ...config.credentials }),
    dynamoDb,
    searchClient: (searchEndpoint): OpenSearchClient => {
      // The stage's search endpoint is the local OpenSearch: plain HTTP, unsigned.
      if (new URL(searchEndpoint).origin !== new URL(endpoint.searchUrl).origin) {
        throw new SandboxCallError(
          'search',
          `the sandbox's search endpoint is ${endpoint.searchUrl}, not ${searchEndpoint}`,
        );
      }
      return createOpenSearchClient({ endpoint: endpoint.searchUrl, sign: false });
    },
    auditObjects: (bucket) => localAuditObjects(endpoint, fetchImpl, bucket),
    region: async () => endpoint.region,
    close: () => {
      dynamoDb.destroy();
      streams.destroy();
    },
  };
}

/** The running sandbox whose output directory is `sandboxDir` (default: the repository's `.sandbox`), as a stage. */
export async function openLocalStage(sandboxDir: string | undefined): Promise<LocalStage> {
  const dir = resolve(sandboxDir ?? DEFAULT_SANDBOX_DIR);
  const endpoint = await readOpsEndpoint(dir);
  return {
    aws: localOpsAwsClient(endpoint),
    stage: endpoint.stage,
    description: `the sandbox of ${dir} (pid ${endpoint.pid}, stage ${endpoint.stage})`,
  };
}
