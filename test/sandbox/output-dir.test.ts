import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutputDirError, prepareOutputDir } from '../../sandbox/output-dir.js';

describe('prepareOutputDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-out-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a missing directory', async () => {
    // Act
    await prepareOutputDir(join(dir, 'out'));

    // Assess
    expect(readdirSync(join(dir, 'out'))).toEqual(['.orders-sandbox-output']);
  });

  it('clears what an earlier run wrote', async () => {
    // Prepare
    await prepareOutputDir(dir);
    mkdirSync(join(dir, 'sqs'));
    writeFileSync(join(dir, 'sqs', 'old-dlq.jsonl'), '{}\n');

    // Act
    await prepareOutputDir(dir);

    // Assess
    expect(readdirSync(dir)).toEqual(['.orders-sandbox-output']);
  });

  it('refuses to clear a directory the sandbox did not create', async () => {
    // Prepare
    writeFileSync(join(dir, 'thesis.tex'), 'years of work');

    // Act
    const prepared = prepareOutputDir(dir);

    // Assess
    await expect(prepared).rejects.toThrow(OutputDirError);
    expect(existsSync(join(dir, 'thesis.tex'))).toBe(true);
  });
});
