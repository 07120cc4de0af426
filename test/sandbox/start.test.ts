import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves with the API URL once `npm start` prints it; rejects if the process exits first. */
function waitForUrl(child: ChildProcess, output: { stdout: string; stderr: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output.stdout += chunk.toString();
      const match = /Orders API: (http:\/\/\S+)/.exec(output.stdout);
      if (match) resolve(match[1]!);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output.stderr += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.stderr}`)));
  });
}

describe('npm start', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  it('serves the real API on DynamoDB Local and stops cleanly on Ctrl-C', async () => {
    // Prepare: the same entry point as `npm start`, on a free port.
    const port = await freePort();
    const output = { stdout: '', stderr: '' };
    child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/start.ts', '--port', String(port)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await waitForUrl(child, output);

    // Act: an order's life through the API, the way the printed curl lines do it.
    const created = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'smoke-1' },
      body: JSON.stringify({
        customerId: 'c-1',
        customerEmail: 'ada@example.com',
        currency: 'EUR',
        // A SKU the sandbox stocks: the fan-out reserves it instead of back-ordering the order under the PATCH.
        lines: [{ sku: 'SKU-0001', qty: 3, unitPriceCents: 250 }],
      }),
    });
    const order = (await created.json()) as { orderId: string; totalCents: number };
    const paid = await fetch(`${url}/orders/${order.orderId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'if-match': '1' },
      body: JSON.stringify({ status: 'PAID' }),
    });
    const read = await fetch(`${url}/orders/${order.orderId}`);
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = await exited;

    // Assess
    expect(created.status).toBe(201);
    expect(order.totalCents).toBe(750);
    expect(paid.status).toBe(200);
    expect(await read.json()).toMatchObject({ orderId: order.orderId, status: 'PAID', version: 2 });
    expect(output.stdout).toContain(`curl -s -X POST ${url}/orders`);
    expect(code).toBe(0);
    expect(output.stderr).toContain('Stopped.');
  });

  it('refuses a bad flag with a message naming it and exit code 2', async () => {
    // Prepare
    const output = { stdout: '', stderr: '' };
    child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/start.ts', '--rate', 'fast'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output.stderr += chunk.toString();
    });

    // Act
    const [code] = await once(child, 'exit');

    // Assess
    expect(code).toBe(2);
    expect(output.stderr).toContain('--rate must be a number of writes per second');
    expect(output.stderr).toContain('Usage: npm start');
  });

  it('with --duration and --json runs demo traffic headless and ends with a JSON summary on stdout', async () => {
    // Prepare
    const port = await freePort();
    const output = { stdout: '', stderr: '' };
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'sandbox/start.ts', '--duration', '5', '--json', '--port', String(port)],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output.stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output.stderr += chunk.toString();
    });

    // Act
    const [code] = await once(child, 'exit');

    // Assess: stdout is the summary alone; the URL and progress went to stderr.
    expect(code, output.stderr).toBe(0);
    const lines = output.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines.at(-1)!) as {
      durationS: number;
      api: { url: string; requests: number };
      traffic: { operations: number; ok: number; byStatus: Record<string, number> };
      consumers: Record<string, unknown>;
      services: { sns: { totalCalls: number } };
    };
    expect(summary.durationS).toBeGreaterThanOrEqual(5);
    expect(summary.api.url).toBe(`http://127.0.0.1:${port}`);
    expect(summary.traffic.ok).toBeGreaterThan(0);
    expect(Object.keys(summary.traffic.byStatus).some((status) => /^2\d\d$/.test(status))).toBe(true);
    // At least: a write refused with 412 (an order the fan-out back-ordered) is followed by a read of the order.
    expect(summary.api.requests).toBeGreaterThanOrEqual(summary.traffic.operations);
    expect(Object.keys(summary.consumers)).toContain('order-fanout');
    expect(typeof summary.services.sns.totalCalls).toBe('number');
    expect(output.stderr).toContain(`Orders API: http://127.0.0.1:${port}`);
    expect(output.stderr).toContain('Stopped.');
  });
});
