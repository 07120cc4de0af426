import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as z from 'zod';
import type { AuditObjects } from '../ops/audit-history/audit-objects.js';
import type { OpsAws, PeekedMessage } from '../ops/aws/ports.js';
import {
  MAX_OPS_REQUEST_BYTES,
  OPS_ENDPOINT_FILE,
  OPS_METHODS,
  type OpsEndpoint,
  type OpsMethod,
} from '../ops/local/protocol.js';

/**
 * The running sandbox's side of `npm run ops -- --local` (ops/local/protocol.ts): an HTTP server on 127.0.0.1 that
 * answers each port method of the ops command's AWS side (system.opsAws()) as `POST /ops/<method>`, and the endpoint
 * file that tells the ops command where it is. Every call must carry the file's bearer token, so another local user
 * or a web page cannot reach the sandbox's queues and functions; arguments are checked before any port is called.
 */

const PEEK_OPTIONS = z.strictObject({
  limit: z.number().int().min(1).max(10),
  visibilityTimeoutSeconds: z.number().int().min(0).max(43_200),
});
const text = z.string().max(4096);

/** Each method: the schema of its argument list and the call, its result in JSON's terms. */
function methods(aws: OpsAws): ReadonlyMap<OpsMethod, (args: unknown) => Promise<unknown>> {
  const audit = new Map<string, AuditObjects>();
  const objectsOf = (bucket: string): AuditObjects => {
    let objects = audit.get(bucket);
    if (objects === undefined) {
      objects = aws.auditObjects(bucket);
      audit.set(bucket, objects);
    }
    return objects;
  };
  const peeked = (message: PeekedMessage): object => ({
    ...message,
    sentAt: message.sentAt === null ? null : message.sentAt.toISOString(),
  });
  const table: [OpsMethod, (args: unknown) => Promise<unknown>][] = [
    [
      'stackOutputs.outputsOf',
      async (args) => {
        const [stackName] = z.tuple([text]).parse(args);
        const outputs = await aws.stackOutputs.outputsOf(stackName);
        return outputs === undefined ? null : [...outputs];
      },
    ],
    ['mappings.mapping', (args) => aws.mappings.mapping(z.tuple([text]).parse(args)[0])],
    [
      'metrics.maximum',
      (args) => {
        const [query] = z
          .tuple([
            z.strictObject({
              namespace: text,
              metricName: text,
              dimensions: z.array(z.tuple([text, text])).max(30),
              statistic: z.literal('Maximum'),
              periodSeconds: z.number().int().positive(),
              start: z.iso.datetime(),
              end: z.iso.datetime(),
            }),
          ])
          .parse(args);
        return aws.metrics.maximum({
          ...query,
          dimensions: new Map(query.dimensions),
          start: new Date(query.start),
          end: new Date(query.end),
        });
      },
    ],
    ['alarms.alarmsWithPrefix', (args) => aws.alarms.alarmsWithPrefix(z.tuple([text]).parse(args)[0])],
    ['deadLetterQueues.depth', (args) => aws.deadLetterQueues.depth(z.tuple([text]).parse(args)[0])],
    [
      'deadLetterQueues.peek',
      async (args) => {
        const [queueUrl, options] = z.tuple([text, PEEK_OPTIONS]).parse(args);
        return (await aws.deadLetterQueues.peek(queueUrl, options)).map(peeked);
      },
    ],
    [
      'deadLetterQueues.receive',
      async (args) => {
        const [queueUrl, options] = z.tuple([text, PEEK_OPTIONS]).parse(args);
        return (await aws.deadLetterQueues.receive(queueUrl, options)).map(peeked);
      },
    ],
    [
      'deadLetterQueues.delete',
      async (args) => {
        const [queueUrl, receiptHandle] = z.tuple([text, text]).parse(args);
        await aws.deadLetterQueues.delete(queueUrl, receiptHandle);
        return null;
      },
    ],
    [
      'functions.invoke',
      (args) => {
        const [functionName, payload] = z.tuple([text, z.unknown()]).parse(args);
        return aws.functions.invoke(functionName, payload);
      },
    ],
    [
      'auditObjects.keys',
      async (args) => {
        const [bucket, prefix, startAfter] = z.tuple([text, text, text.nullable()]).parse(args);
        const keys: string[] = [];
        for await (const key of objectsOf(bucket).keys(prefix, startAfter === null ? {} : { startAfter })) {
          keys.push(key);
        }
        return keys;
      },
    ],
    [
      'auditObjects.commonPrefixes',
      (args) => {
        const [bucket, prefix, delimiter] = z.tuple([text, text, text]).parse(args);
        return objectsOf(bucket).commonPrefixes(prefix, delimiter);
      },
    ],
    [
      'auditObjects.read',
      async (args) => {
        const [bucket, key] = z.tuple([text, text]).parse(args);
        return (await objectsOf(bucket).read(key)).toString('base64');
      },
    ],
  ];
  return new Map(table);
}

/** A body past the limit: answered 413 without reading on. */
class RequestTooLargeError extends Error {
  public constructor() {
    super(`The request body exceeds ${MAX_OPS_REQUEST_BYTES} bytes`);
    this.name = 'RequestTooLargeError';
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_OPS_REQUEST_BYTES) throw new RequestTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function answer(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function failure(response: ServerResponse, status: number, name: string, message: string): void {
  answer(response, status, { error: { name, message } });
}

export interface OpsEndpointServer {
  readonly endpoint: OpsEndpoint;
  /** Where the endpoint file was written. */
  readonly file: string;
  /** Stops serving and removes the endpoint file. */
  close(): Promise<void>;
}

export interface OpsEndpointOptions {
  /** The ops command's AWS side the calls are answered with (system.opsAws()); closed with the server. */
  readonly aws: OpsAws;
  /** The sandbox's output directory: the endpoint file is written there. */
  readonly outputDir: string;
  readonly stage: string;
  readonly region: string;
  readonly dynamodbEndpoint: string;
  readonly searchUrl: string;
}

/** Serves the ops endpoint on a free port of 127.0.0.1 and writes the endpoint file (mode 0600). */
export async function startOpsEndpoint(options: OpsEndpointOptions): Promise<OpsEndpointServer> {
  const token = randomBytes(32).toString('hex');
  const expected = Buffer.from(`Bearer ${token}`);
  const handlers = methods(options.aws);
  const server = createServer((request, response) => {
    void (async (): Promise<void> => {
      const authorization = Buffer.from(request.headers.authorization ?? '');
      if (authorization.length !== expected.length || !timingSafeEqual(authorization, expected)) {
        failure(response, 401, 'UnauthorizedError', 'missing or wrong bearer token (see the endpoint file)');
        return;
      }
      const method = (request.url ?? '').startsWith('/ops/') ? (request.url ?? '').slice('/ops/'.length) : '';
      const handler = (OPS_METHODS as readonly string[]).includes(method)
        ? handlers.get(method as OpsMethod)
        : undefined;
      if (request.method !== 'POST' || handler === undefined) {
        failure(response, 404, 'UnknownMethodError', `no ops method ${request.method} ${request.url}`);
        return;
      }
      let args: unknown;
      try {
        args = JSON.parse(await readBody(request));
      } catch (error) {
        const tooLarge = error instanceof RequestTooLargeError;
        failure(response, tooLarge ? 413 : 400, (error as Error).name, (error as Error).message);
        return;
      }
      try {
        answer(response, 200, { result: (await handler(args)) ?? null });
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        failure(response, err instanceof z.ZodError ? 400 : 500, err.name, err.message);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint: OpsEndpoint = {
    url: `http://127.0.0.1:${port}`,
    token,
    stage: options.stage,
    region: options.region,
    dynamodbEndpoint: options.dynamodbEndpoint,
    searchUrl: options.searchUrl,
    pid: process.pid,
  };
  const file = join(options.outputDir, OPS_ENDPOINT_FILE);
  await writeFile(file, `${JSON.stringify(endpoint, null, 2)}\n`, { mode: 0o600 });
  return {
    endpoint,
    file,
    close: async () => {
      await rm(file, { force: true });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // fetch keeps its connections alive: close them, or the server waits for them to time out.
      server.closeAllConnections();
      await closed;
      options.aws.close();
    },
  };
}
