import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackNames } from '../../../lib/stage-outputs.js';
import { apiRequestUrl, regionOfApiUrl } from '../../../ops/api/signed-request.js';
import { runOpsCli } from '../../../ops/ops-cli.js';
import {
  captureIo,
  createFakeAws,
  createSqsClient,
  createStageOutputs,
  depsFor,
  STAGE,
} from '../ops-fixtures.js';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

describe('npm run ops -- api', () => {
  let server: Server;
  let apiUrl: string;
  const received: Received[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        received.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body,
        });
        response.writeHead(request.url?.includes('missing') ? 404 : 201, {
          'content-type': 'application/json',
        });
        response.end('{"orderId":"o-1"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod/`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function fakeWithApi() {
    const outputs = createStageOutputs();
    outputs.get(stackNames(STAGE).stateless)?.set('OpsApiUrl', apiUrl);
    return createFakeAws(createSqsClient(), {
      outputs,
      credentials: {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      },
    });
  }

  it('signs the request with SigV4 for execute-api at the fixed time and forwards the body', async () => {
    // Prepare
    received.length = 0;
    const io = captureIo();
    const body = '{"customerId":"c-1","items":[{"sku":"s-1","quantity":2}]}';
    const args = ['api', 'POST', '/orders?dryRun=true', '--stage', 'test', '--body', body];

    // Act
    const code = await runOpsCli(args, io, depsFor(fakeWithApi(), new Date('2024-05-01T12:00:00.000Z')));

    // Assess
    expect(code).toBe(0);
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/prod/orders?dryRun=true');
    expect(request?.body).toBe(body);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-amz-date']).toBe('20240501T120000Z');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20240501\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*\bhost\b[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(request?.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-date/);
    expect(io.out()).toBe('201 Created\n{"orderId":"o-1"}\n');
  });

  it('signs the same request the same way at the same time (the signature depends on nothing else)', async () => {
    // Prepare
    received.length = 0;
    const at = new Date('2024-05-01T12:00:00.000Z');

    // Act
    await runOpsCli(
      ['api', 'GET', '/orders/o-1', '--stage', 'test'],
      captureIo(),
      depsFor(fakeWithApi(), at),
    );
    await runOpsCli(
      ['api', 'GET', '/orders/o-1', '--stage', 'test'],
      captureIo(),
      depsFor(fakeWithApi(), at),
    );

    // Assess
    expect(received).toHaveLength(2);
    expect(received[0]?.headers.authorization).toBe(received[1]?.headers.authorization);
    expect(received[0]?.body).toBe('');
  });

  it('exits 1 for a status of 400 or more, printing status and body as JSON with --json', async () => {
    // Prepare
    const io = captureIo();

    // Act
    const code = await runOpsCli(
      ['api', 'get', '/orders/missing', '--stage', 'test', '--json'],
      io,
      depsFor(fakeWithApi()),
    );

    // Assess
    expect(code).toBe(1);
    expect(JSON.parse(io.out())).toEqual({ status: 404, body: '{"orderId":"o-1"}' });
  });
});

describe('the API URL helpers', () => {
  it('appends the path to the API stage and reads the region of an execute-api host', () => {
    // Act
    const url = apiRequestUrl('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/', '/orders/o-1?x=1');

    // Assess
    expect(url.toString()).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/orders/o-1?x=1');
    expect(regionOfApiUrl(url.toString())).toBe('eu-west-1');
    expect(regionOfApiUrl('http://127.0.0.1:3000/prod/')).toBeUndefined();
  });
});
