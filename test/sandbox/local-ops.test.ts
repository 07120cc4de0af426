import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPS_CONSUMERS } from '../../lib/stage-outputs.js';
import { bufferedOpsIo, type OpsDeps } from '../../ops/cli/command.js';
import { openLocalStage } from '../../ops/local/local-aws.js';
import { OPS_ENDPOINT_FILE } from '../../ops/local/protocol.js';
import { runOpsCli } from '../../ops/ops-cli.js';
import { type OpsEndpointServer, startOpsEndpoint } from '../../sandbox/ops-endpoint.js';
import { type SandboxSystem, startSandboxSystem } from '../../sandbox/system.js';
import { HANG_TIMEOUT_MS } from '../support/hang.js';

/** `npm run ops` as a user runs it with --local: no AWS side at all, the sandbox found through its endpoint file. */
const LOCAL_ONLY: OpsDeps = {
  aws: () => {
    throw new Error('--local must not build an AWS side');
  },
  local: openLocalStage,
  now: () => new Date(),
};

async function ops(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = bufferedOpsIo();
  const code = await runOpsCli(argv, io, LOCAL_ONLY);
  return { code, out: io.out(), err: io.err() };
}

describe('npm run ops -- --local against a running sandbox', () => {
  let system: SandboxSystem;
  let endpoint: OpsEndpointServer;
  let outputDir: string;

  beforeAll(async () => {
    outputDir = mkdtempSync(join(tmpdir(), 'local-ops-'));
    system = await startSandboxSystem({ outputDir, port: 0, maxBatchingWindowMs: 200, log: () => {} });
    endpoint = await startOpsEndpoint({
      aws: system.opsAws(),
      outputDir,
      stage: system.stageName,
      region: 'eu-west-1',
      dynamodbEndpoint: system.dynamodbEndpoint,
      searchUrl: system.search.url,
    });
  }, HANG_TIMEOUT_MS);

  afterAll(async () => {
    await endpoint?.close();
    await system?.stop();
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('writes the endpoint file for its owner only', async () => {
    // Act
    const file = join(outputDir, OPS_ENDPOINT_FILE);
    const content = JSON.parse(await readFile(file, 'utf8'));

    // Assess
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(content).toMatchObject({ url: endpoint.endpoint.url, stage: system.stageName });
  });

  it('status resolves every name of the stage from the template outputs, resolved locally', async () => {
    // Act
    const { code, out, err } = await ops(['status', '--local', '--sandbox-dir', outputDir, '--json']);

    // Assess
    expect(err).toContain(`Operating on the sandbox of ${outputDir}`);
    expect(code).toBe(0);
    const status = JSON.parse(out);
    expect(status.consumers.map((c: { consumer: string }) => c.consumer)).toEqual([...OPS_CONSUMERS]);
  });

  it('dlq list and redrive run unchanged on the local queues (empty here)', async () => {
    // Act
    const list = await ops(['dlq', 'list', 'order-fanout', '--local', '--sandbox-dir', outputDir, '--json']);
    const redrive = await ops(['redrive', 'search-sync', '--local', '--sandbox-dir', outputDir, '--json']);

    // Assess
    expect(list.code).toBe(0);
    expect(JSON.parse(list.out).letters).toEqual([]);
    expect(redrive.code).toBe(0);
    expect(JSON.parse(redrive.out)).toMatchObject({ lettersRead: 0, ok: true });
  });

  it('api sends a signed request to the local API, as to the deployed one', async () => {
    // Act
    const { code, out } = await ops([
      'api',
      'GET',
      '/orders/00000000-0000-4000-8000-000000000000',
      '--local',
      '--sandbox-dir',
      outputDir,
    ]);

    // Assess: the local API answers as API Gateway and the function would
    expect(code).toBe(1);
    expect(out).toMatch(/^404 /);
  });

  it('refuses a call without the bearer token', async () => {
    // Act
    const response = await fetch(`${endpoint.endpoint.url}/ops/functions.invoke`, {
      method: 'POST',
      body: JSON.stringify(['order-fanout', { Records: [] }]),
    });

    // Assess
    expect(response.status).toBe(401);
  });

  it.each([
    [['status', '--local', '--sandbox-dir', '/nonexistent/sandbox'], 1, 'No running sandbox found'],
    [['status', '--local', '--region', 'eu-west-1'], 2, '--region does not apply with --local'],
    [['status', '--stage', 'prod', '--sandbox-dir', '/tmp'], 2, '--sandbox-dir applies with --local only'],
  ])('%j exits %i naming what is wrong', async (argv, exitCode, message) => {
    // Act
    const { code, err } = await ops(argv);

    // Assess
    expect(code).toBe(exitCode);
    expect(err).toContain(message);
  });

  it('refuses a --stage that is not the sandbox stage', async () => {
    // Act
    const { code, err } = await ops(['status', '--local', '--sandbox-dir', outputDir, '--stage', 'prod']);

    // Assess
    expect(code).toBe(2);
    expect(err).toContain(`--stage prod is not the running sandbox's stage (${system.stageName})`);
  });
});
