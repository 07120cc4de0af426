import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NumberValue } from '../../../lambdas/shared/stream/lossless.js';
import { readJsonLines } from '../../../sandbox/adapters/json-lines-file.js';
import {
  LocalLogger,
  type LocalLogLine,
  LocalMetrics,
  type LocalMetricsLine,
  localLogFilePath,
  localMetricsFilePath,
} from '../../../sandbox/adapters/local-observability.js';

const FIXED_NOW = Date.parse('2024-05-01T12:00:00.000Z');

describe('LocalLogger', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'local-log-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes Powertools-shaped lines with attributes, errors and the request id, dropping lines below its level', async () => {
    // Prepare
    const logger = new LocalLogger(dir, 'probe', { level: 'INFO', clock: () => FIXED_NOW });
    logger.addContext({ awsRequestId: 'req-1' } as Context);

    // Act
    logger.debug('not written');
    logger.info('Stream batch processed', { records: 3, total: new NumberValue('12345678901234567890') });
    logger.error('failed', { error: new Error('boom', { cause: new TypeError('inner') }) });
    await logger.file.flush();

    // Assess
    const lines = await readJsonLines<LocalLogLine>(localLogFilePath(dir, 'probe'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      time: '2024-05-01T12:00:00.000Z',
      level: 'INFO',
      service: 'probe',
      message: 'Stream batch processed',
      requestId: 'req-1',
      records: 3,
      total: 12345678901234567000,
    });
    expect(lines[1]).toMatchObject({
      level: 'ERROR',
      message: 'failed',
      error: { name: 'Error', message: 'boom', cause: { name: 'TypeError', message: 'inner' } },
    });
  });

  it.each([
    ['WARN', ['WARN', 'ERROR']],
    ['DEBUG', ['DEBUG', 'INFO', 'WARN', 'ERROR']],
  ] as const)('at level %s writes %j', async (level, expected) => {
    // Prepare
    const logger = new LocalLogger(dir, `svc-${level}`, { level });

    // Act
    logger.debug('d');
    logger.info('i');
    logger.warn('w', {});
    logger.error('e', {});
    await logger.file.flush();

    // Assess
    const lines = await readJsonLines<LocalLogLine>(localLogFilePath(dir, `svc-${level}`));
    expect(lines.map((line) => line.level)).toEqual(expected);
  });
});

describe('LocalMetrics', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'local-metrics-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes one line per publish with the stored values, and keeps totals', async () => {
    // Prepare
    const metrics = new LocalMetrics(dir, 'probe', { clock: () => FIXED_NOW });

    // Act
    metrics.addMetric('RecordsProcessed', 'Count', 2);
    metrics.addMetric('EndToEndLag', 'Milliseconds', 40);
    metrics.addMetric('EndToEndLag', 'Milliseconds', 60);
    metrics.publishStoredMetrics();
    metrics.publishStoredMetrics();
    metrics.addMetric('RecordsProcessed', 'Count', 1);
    metrics.publishStoredMetrics();
    await metrics.file.flush();

    // Assess
    const lines = await readJsonLines<LocalMetricsLine>(localMetricsFilePath(dir, 'probe'));
    expect(lines).toEqual([
      {
        time: '2024-05-01T12:00:00.000Z',
        service: 'probe',
        metrics: {
          RecordsProcessed: { unit: 'Count', values: [2] },
          EndToEndLag: { unit: 'Milliseconds', values: [40, 60] },
        },
      },
      {
        time: '2024-05-01T12:00:00.000Z',
        service: 'probe',
        metrics: { RecordsProcessed: { unit: 'Count', values: [1] } },
      },
    ]);
    expect(metrics.totals()).toEqual({ RecordsProcessed: 3, EndToEndLag: 100 });
  });
});
