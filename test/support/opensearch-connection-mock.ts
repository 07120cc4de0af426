import type { ClientRequest, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { Connection, errors } from '@opensearch-project/opensearch';

/**
 * A connection mock for @opensearch-project/opensearch: a `Connection` subclass (the client's `Connection` option)
 * that records every request the client sends and answers from a script, without a socket. Everything above the
 * connection runs for real: the Transport's serialisation, retries and error mapping, and the SigV4 signer when the
 * client signs (the mock records the request as `buildRequestObject` built it, signed headers included).
 *
 * Usage: `const mock = new OpenSearchConnectionMock(); mock.reply({ status: 200, body: {...} });` then build the client
 * with `Connection: mock.Connection`. Each request takes the next scripted answer; a request beyond the script gets
 * a 500 `unscripted_request` and is counted in `unscripted`, so a test that does not expect it fails on its result.
 */

/** A request as the mock received it. */
export interface RecordedRequest {
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  /** The serialised query string ('' when none). */
  readonly querystring: string;
  /** Lower-cased header names, as sent (after signing, when the client signs). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as sent ('' when none). */
  readonly body: string;
}

/** A scripted answer: a response, a connection-level failure, or a function of the request. */
export type ScriptedAnswer =
  | {
      readonly status: number;
      /** A string is sent as is; anything else as JSON. Omitted: no body. */
      readonly body?: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** `network`: the connection fails (ECONNRESET); `timeout`: the request times out. */
  | { readonly fail: 'network' | 'timeout' }
  | ((request: RecordedRequest) => Exclude<ScriptedAnswer, (request: RecordedRequest) => unknown>);

export class OpenSearchConnectionMock {
  public readonly requests: RecordedRequest[] = [];
  /** Requests that found the script empty. */
  public unscripted = 0;
  readonly #script: ScriptedAnswer[] = [];
  #connectionClass: typeof Connection | undefined;

  /** Queues answers, used in order, one per request. */
  public reply(...answers: ScriptedAnswer[]): this {
    this.#script.push(...answers);
    return this;
  }

  /** Answers still queued. */
  public get pending(): number {
    return this.#script.length;
  }

  /** The request bodies parsed as JSON (NDJSON bodies as arrays of lines), for assertions. */
  public jsonBodies(): unknown[] {
    return this.requests.map(({ body }) => parseBody(body));
  }

  /** The class to pass as the client's `Connection` option. */
  public get Connection(): typeof Connection {
    if (this.#connectionClass === undefined) {
      const mock = this;
      class MockConnection extends Connection {
        public override request(
          params: Parameters<Connection['request']>[0],
          callback: Parameters<Connection['request']>[1],
        ): ClientRequest {
          const built = this.buildRequestObject(params) as {
            method?: string;
            pathname?: string;
            headers?: Record<string, unknown>;
          };
          const rawBody: unknown = params.body;
          const request: RecordedRequest = {
            method: String(built.method ?? params.method ?? 'GET'),
            path: String(built.pathname ?? params.path ?? ''),
            querystring: params.querystring ?? '',
            headers: Object.fromEntries(
              Object.entries(built.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
            ),
            body: Buffer.isBuffer(rawBody)
              ? rawBody.toString('utf8')
              : typeof rawBody === 'string'
                ? rawBody
                : '',
          };
          mock.requests.push(request);
          const answer = mock.#next(request);
          // Asynchronously, as a socket would: the Transport must not see the answer before request() returns.
          setImmediate(() => {
            if ('fail' in answer) {
              callback(
                answer.fail === 'network'
                  ? new errors.ConnectionError('read ECONNRESET')
                  : new errors.TimeoutError('Request timed out', params as never),
                null,
              );
              return;
            }
            callback(null, toResponse(answer.status, answer.body, answer.headers));
          });
          return { abort: () => undefined } as unknown as ClientRequest;
        }
      }
      this.#connectionClass = MockConnection;
    }
    return this.#connectionClass;
  }

  #next(request: RecordedRequest): Exclude<ScriptedAnswer, (request: RecordedRequest) => unknown> {
    const answer = this.#script.shift();
    if (answer === undefined) {
      this.unscripted += 1;
      return {
        status: 500,
        body: { error: { type: 'unscripted_request', reason: `${request.method} ${request.path}` } },
      };
    }
    return typeof answer === 'function' ? answer(request) : answer;
  }
}

function toResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): IncomingMessage {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const stream = new Readable({ read: () => undefined });
  stream.push(Buffer.from(text, 'utf8'));
  stream.push(null);
  return Object.assign(stream, {
    statusCode: status,
    headers: {
      ...(typeof body === 'string' || body === undefined
        ? {}
        : { 'content-type': 'application/json; charset=UTF-8' }),
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    },
  }) as unknown as IncomingMessage;
}

function parseBody(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    // NDJSON: one JSON value per line, each line terminated by \n.
    return body
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);
  }
}

/** An OpenSearch error body, as the REST layer answers it. */
export function errorBody(status: number, type: string, reason: string): Record<string, unknown> {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}
