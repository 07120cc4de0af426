import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initFigures, measureInit } from '../../../verify/bench/cold-start-bench.js';
import {
  bundleHelloWorld,
  ColdStartChildError,
  runColdStart,
  writeColdStartLoader,
} from '../../../verify/bench/cold-start-child.js';

describe('the cold-start child', () => {
  let dir: string;
  let loader: string;
  let hello: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cold-start-child-'));
    loader = writeColdStartLoader(dir);
    hello = await bundleHelloWorld(join(dir, 'hello'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures a hello world once next to itself: every figure is a number above zero', async () => {
    // Prepare
    const env = { PATH: process.env.PATH ?? '' };

    // Act
    const { figures, firstResult } = await measureInit({
      loader,
      bundle: hello,
      helloBundle: hello,
      env,
      event: {},
      runs: 1,
    });

    // Assess
    expect(firstResult).toEqual({ statusCode: 200 });
    expect(figures.runs).toBe(1);
    for (const value of [
      figures.medianMs,
      figures.p90Ms,
      figures.importMedianMs,
      figures.firstInvokeMedianMs,
      figures.helloMedianMs,
      figures.helloP90Ms,
      figures.ratio,
    ]) {
      expect(value).toBeGreaterThan(0);
    }
  });

  it('fails with the child error when the bundle cannot be imported', async () => {
    // Act
    const failure = runColdStart({ loader, bundle: join(dir, 'missing.mjs'), env: {}, event: {} });

    // Assess
    await expect(failure).rejects.toThrow(ColdStartChildError);
    await expect(failure).rejects.toThrow(/The child failed: .*missing\.mjs/);
  });
});

describe('initFigures', () => {
  it('gives medians, p90s and the ratios of the medians to the hello world', () => {
    // Prepare
    const sample = (wallMs: number, importMs: number): Parameters<typeof initFigures>[0][number] => ({
      wallMs,
      bootMs: 1,
      importMs,
      firstInvokeMs: 2,
      result: undefined,
    });

    // Act
    const figures = initFigures(
      [sample(300, 200), sample(100, 100), sample(200, 150)],
      [sample(50, 10), sample(100, 20), sample(150, 30)],
    );

    // Assess
    expect(figures).toEqual({
      runs: 3,
      medianMs: 200,
      p90Ms: 300,
      importMedianMs: 150,
      importP90Ms: 200,
      firstInvokeMedianMs: 2,
      firstInvokeP90Ms: 2,
      helloMedianMs: 100,
      helloP90Ms: 150,
      helloImportMedianMs: 20,
      ratio: 2,
      importRatio: 7.5,
    });
  });
});
