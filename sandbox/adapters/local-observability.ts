import { join } from 'node:path';
import type { MetricUnit } from '@aws-lambda-powertools/metrics/types';
import type { Context } from 'aws-lambda';
import { toLosslessJson } from '../../lambdas/shared/stream/lossless.js';
import type { StreamLogger, StreamMetrics } from '../../lambdas/shared/stream/stream-handler.js';
import { JsonLinesFile } from './json-lines-file.js';

/**
 * Logs and metrics of the functions the sandbox runs. In Lambda, Powertools writes both to stdout, where CloudWatch
 * picks them up; locally stdout belongs to the user (and, with `--json`, to the one summary line), so they go to
 * `<outputDir>/logs/<service>.jsonl` and `<outputDir>/metrics/<service>.jsonl` instead.
 */

export type LocalLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const LEVEL_RANK: Readonly<Record<LocalLogLevel, number>> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

/** One line of a local log file. */
export interface LocalLogLine {
  readonly time: string;
  readonly level: LocalLogLevel;
  readonly service: string;
  readonly message: string;
  readonly requestId?: string;
  readonly [attribute: string]: unknown;
}

export interface LocalLoggerOptions {
  /** Lines below this level are dropped. @default 'INFO' */
  readonly level?: LocalLogLevel;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Called with the rejection of a write that failed; a log line must never fail the code that logs. */
  readonly onWriteError?: (error: unknown) => void;
}

export function localLogFilePath(outputDir: string, service: string): string {
  return join(outputDir, 'logs', `${service}.jsonl`);
}

export function localMetricsFilePath(outputDir: string, service: string): string {
  return join(outputDir, 'metrics', `${service}.jsonl`);
}

/**
 * A logger with the methods the stream runtime (StreamLogger) and the orders API (ApiLogger) call, writing JSON lines
 * shaped like Powertools' (level, message, service, the attributes passed) to a file.
 */
export class LocalLogger implements StreamLogger {
  readonly #file: JsonLinesFile;
  readonly #service: string;
  readonly #minimum: number;
  readonly #clock: () => number;
  readonly #onWriteError: (error: unknown) => void;
  #requestId: string | undefined;

  public constructor(outputDir: string, service: string, options: LocalLoggerOptions = {}) {
    this.#file = new JsonLinesFile(localLogFilePath(outputDir, service), (value) => toLosslessJson(value));
    this.#service = service;
    this.#minimum = LEVEL_RANK[options.level ?? 'INFO'];
    this.#clock = options.clock ?? Date.now;
    this.#onWriteError = options.onWriteError ?? ((): void => {});
  }

  public get file(): JsonLinesFile {
    return this.#file;
  }

  public addContext(context: Context): void {
    this.#requestId = context.awsRequestId;
  }

  public debug(...input: unknown[]): void {
    this.#write('DEBUG', input);
  }

  public info(...input: unknown[]): void {
    this.#write('INFO', input);
  }

  public warn(...input: unknown[]): void {
    this.#write('WARN', input);
  }

  public error(...input: unknown[]): void {
    this.#write('ERROR', input);
  }

  #write(level: LocalLogLevel, input: readonly unknown[]): void {
    if (LEVEL_RANK[level] < this.#minimum) return;
    const [first, ...extra] = input;
    const message =
      typeof first === 'string' ? first : String((first as { message?: unknown })?.message ?? '');
    const attributes: Record<string, unknown> = {};
    if (typeof first === 'object' && first !== null) Object.assign(attributes, first);
    for (const item of extra) {
      if (item instanceof Error) attributes.error = item;
      else if (typeof item === 'object' && item !== null) Object.assign(attributes, item);
      else if (item !== undefined) attributes.extra = item;
    }
    const line = {
      time: new Date(this.#clock()).toISOString(),
      level,
      service: this.#service,
      message,
      ...(this.#requestId === undefined ? {} : { requestId: this.#requestId }),
      ...(loggable(attributes) as Record<string, unknown>),
    };
    this.#file.append(line).catch(this.#onWriteError);
  }
}

/** Errors become `{ name, message, stack, cause }` (JSON.stringify writes them as `{}`); nesting is bounded. */
function loggable(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[too deep]';
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      stack: value.stack,
      ...(value.cause === undefined ? {} : { cause: loggable(value.cause, depth + 1) }),
    };
  }
  if (Array.isArray(value)) return value.map((item) => loggable(item, depth + 1));
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, loggable(v, depth + 1)]));
  }
  // NumberValue, BigInt, Uint8Array and Set are left to the lossless serializer.
  return value;
}

/** One line of a local metrics file: the metrics one invocation published. */
export interface LocalMetricsLine {
  readonly time: string;
  readonly service: string;
  readonly metrics: Readonly<Record<string, { readonly unit: string; readonly values: readonly number[] }>>;
}

/**
 * The stream runtime's StreamMetrics port: what Powertools would emit as one EMF document per publish becomes one
 * line per publish, and running totals stay readable in memory.
 */
export class LocalMetrics implements StreamMetrics {
  readonly #file: JsonLinesFile;
  readonly #service: string;
  readonly #clock: () => number;
  readonly #onWriteError: (error: unknown) => void;
  #stored = new Map<string, { unit: string; values: number[] }>();
  readonly #totals = new Map<string, number>();

  public constructor(
    outputDir: string,
    service: string,
    options: { readonly clock?: () => number; readonly onWriteError?: (error: unknown) => void } = {},
  ) {
    this.#file = new JsonLinesFile(localMetricsFilePath(outputDir, service));
    this.#service = service;
    this.#clock = options.clock ?? Date.now;
    this.#onWriteError = options.onWriteError ?? ((): void => {});
  }

  public get file(): JsonLinesFile {
    return this.#file;
  }

  public addMetric(name: string, unit: MetricUnit, value: number): void {
    const stored = this.#stored.get(name) ?? { unit, values: [] };
    stored.values.push(value);
    this.#stored.set(name, stored);
    this.#totals.set(name, (this.#totals.get(name) ?? 0) + value);
  }

  public publishStoredMetrics(): void {
    if (this.#stored.size === 0) return;
    const line: LocalMetricsLine = {
      time: new Date(this.#clock()).toISOString(),
      service: this.#service,
      metrics: Object.fromEntries(this.#stored),
    };
    this.#stored = new Map();
    this.#file.append(line).catch(this.#onWriteError);
  }

  /** The sum of every value added per metric name since start (published or not). */
  public totals(): Record<string, number> {
    return Object.fromEntries(this.#totals);
  }
}
