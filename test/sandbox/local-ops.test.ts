import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPS_CONSUMERS } from '../../lib/stage-outputs.js';
import { runOpsCli } from '../../ops/ops-cli.js';
import { type SandboxSystem, startSandboxSystem } from '../../sandbox/system.js';
import { HANG_TIMEOUT_MS } from '../support/hang.js';

function captureIo(): { stdout(t: string): void; stderr(t: string): void; out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    out: () => out,
    err: () => err,
  };
}

describe('npm run ops against a running sandbox (the same commands, local adapters)', () => {
  let system: SandboxSystem;
  let outputDir: string;

  beforeAll(async () => {
    outputDir = mkdtempSync(join(tmpdir(), 'local-ops-'));
    system = await startSandboxSystem({ outputDir, port: 0, maxBatchingWindowMs: 200, log: () => {} });
  }, HANG_TIMEOUT_MS);

  afterAll(async () => {
    await system?.stop();
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('resolves every name of the stage from the template outputs, resolved locally', async () => {
    // Prepare
    const io = captureIo();

    // Act
    const code = await runOpsCli(['status', '--stage', system.stageName, '--json'], io, {
      aws: () => system.opsAws(),
      now: () => new Date(),
    });

    // Assess
    expect(io.err()).not.toContain('lacks outputs');
    expect(code).toBe(0);
    const status = JSON.parse(io.out());
    expect(status.consumers.map((c: { consumer: string }) => c.consumer)).toEqual([...OPS_CONSUMERS]);
  });
});
