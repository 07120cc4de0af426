import type { OpsConsumerName } from '../../lib/stage-outputs.js';
import type {
  AlarmsPort,
  DeadLetterQueuePort,
  EventSourceMappingPort,
  MetricQuery,
  MetricsPort,
} from '../aws/ports.js';
import type { ConsumerNames, StageNames } from '../stage.js';

/** The window of the metrics `status` reads. */
export const STATUS_WINDOW_MINUTES = 15;
const PERIOD_SECONDS = 60;

export interface StatusPorts {
  readonly mappings: EventSourceMappingPort;
  readonly metrics: MetricsPort;
  readonly alarms: AlarmsPort;
  readonly deadLetterQueues: DeadLetterQueuePort;
}

export interface ConsumerStatus {
  readonly consumer: OpsConsumerName;
  readonly mappingState: string;
  readonly lastProcessingResult: string | null;
  /** Maximum IteratorAge (ms) over the window; null without datapoints (no batch finished). */
  readonly iteratorAgeMaxMs: number | null;
  readonly dlqVisible: number;
  readonly dlqInFlight: number;
  /** Maximum ApproximateAgeOfOldestMessage (s) over the window; null without datapoints. */
  readonly dlqOldestAgeSeconds: number | null;
  /** Alarm state to how many of the consumer's alarms are in it. */
  readonly alarmCounts: ReadonlyMap<string, number>;
  readonly alarmsInAlarm: readonly string[];
  /** Why the consumer needs attention; empty when it does not. */
  readonly attention: readonly string[];
}

export interface StageStatus {
  readonly stage: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly consumers: readonly ConsumerStatus[];
  readonly ok: boolean;
}

function window(now: Date): { start: Date; end: Date } {
  return { start: new Date(now.getTime() - STATUS_WINDOW_MINUTES * 60_000), end: now };
}

/**
 * IteratorAge is emitted per function for stream mappings (dimension FunctionName; Resource and ExecutedVersion
 * slice versions and aliases, which these consumers do not use). The EventSourceMappingUUID dimension belongs to
 * the mapping's own optional metrics (EventCount and the like), not to IteratorAge.
 */
export function iteratorAgeQuery(names: ConsumerNames, now: Date): MetricQuery {
  return {
    namespace: 'AWS/Lambda',
    metricName: 'IteratorAge',
    dimensions: new Map([['FunctionName', names.functionName]]),
    statistic: 'Maximum',
    periodSeconds: PERIOD_SECONDS,
    ...window(now),
  };
}

export function oldestLetterAgeQuery(names: ConsumerNames, now: Date): MetricQuery {
  return {
    namespace: 'AWS/SQS',
    metricName: 'ApproximateAgeOfOldestMessage',
    dimensions: new Map([['QueueName', names.deadLetterQueueName]]),
    statistic: 'Maximum',
    periodSeconds: PERIOD_SECONDS,
    ...window(now),
  };
}

async function consumerStatus(ports: StatusPorts, names: ConsumerNames, now: Date): Promise<ConsumerStatus> {
  const [mapping, iteratorAgeMaxMs, depth, dlqOldestAgeSeconds, alarms] = await Promise.all([
    ports.mappings.mapping(names.mappingUuid),
    ports.metrics.maximum(iteratorAgeQuery(names, now)),
    ports.deadLetterQueues.depth(names.deadLetterQueueUrl),
    ports.metrics.maximum(oldestLetterAgeQuery(names, now)),
    ports.alarms.alarmsWithPrefix(names.alarmNamePrefix),
  ]);
  const alarmCounts = new Map<string, number>();
  for (const alarm of alarms) alarmCounts.set(alarm.state, (alarmCounts.get(alarm.state) ?? 0) + 1);
  const alarmsInAlarm = alarms.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name);
  const attention: string[] = [];
  if (mapping.state !== 'Enabled') attention.push(`mapping is ${mapping.state}`);
  if (depth.visible + depth.inFlight > 0) {
    attention.push(`DLQ holds ${depth.visible} letter(s) (+${depth.inFlight} in flight)`);
  }
  for (const name of alarmsInAlarm) attention.push(`alarm ${name} is in ALARM`);
  return {
    consumer: names.consumer,
    mappingState: mapping.state,
    lastProcessingResult: mapping.lastProcessingResult,
    iteratorAgeMaxMs,
    dlqVisible: depth.visible,
    dlqInFlight: depth.inFlight,
    dlqOldestAgeSeconds,
    alarmCounts,
    alarmsInAlarm,
    attention,
  };
}

/** Reads every consumer's mapping, lag, DLQ and alarms; `ok` is false when any consumer needs attention. */
export async function readStageStatus(
  ports: StatusPorts,
  names: StageNames,
  now: Date,
): Promise<StageStatus> {
  const consumers = await Promise.all(
    [...names.consumers.values()].map((c) => consumerStatus(ports, c, now)),
  );
  const { start, end } = window(now);
  return {
    stage: names.stage,
    windowStart: start,
    windowEnd: end,
    consumers,
    ok: consumers.every((c) => c.attention.length === 0),
  };
}

/** A duration for a table cell: `850ms`, `1.5s`, `42s`, `3m 5s`, `2h 10m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The status as a table, one row per consumer, then what needs attention. */
export function describeStatus(status: StageStatus): string {
  const header = ['CONSUMER', 'MAPPING', 'LAST RESULT', 'ITERATOR AGE', 'DLQ', 'OLDEST LETTER', 'ALARMS'];
  const rows = status.consumers.map((c) => [
    c.consumer,
    c.mappingState,
    c.lastProcessingResult ?? '-',
    c.iteratorAgeMaxMs === null ? '-' : formatDuration(c.iteratorAgeMaxMs),
    `${c.dlqVisible} (+${c.dlqInFlight})`,
    c.dlqOldestAgeSeconds === null ? '-' : formatDuration(c.dlqOldestAgeSeconds * 1000),
    [...c.alarmCounts].map(([state, n]) => `${state} ${n}`).join(', ') || 'none',
  ]);
  const lines = [
    `Stage ${status.stage}, maxima over ${status.windowStart.toISOString()} .. ${status.windowEnd.toISOString()}`,
    table([header, ...rows]),
  ];
  const attention = status.consumers.flatMap((c) => c.attention.map((why) => `  ${c.consumer}: ${why}`));
  lines.push(attention.length === 0 ? 'All consumers healthy.' : `Needs attention:\n${attention.join('\n')}`);
  return lines.join('\n');
}

/** The status as one JSON value (maps become objects keyed by alarm state, which AWS defines). */
export function statusJson(status: StageStatus): unknown {
  return {
    stage: status.stage,
    ok: status.ok,
    windowStart: status.windowStart.toISOString(),
    windowEnd: status.windowEnd.toISOString(),
    consumers: status.consumers.map((c) => ({
      consumer: c.consumer,
      mappingState: c.mappingState,
      lastProcessingResult: c.lastProcessingResult,
      iteratorAgeMaxMs: c.iteratorAgeMaxMs,
      dlq: { visible: c.dlqVisible, inFlight: c.dlqInFlight, oldestAgeSeconds: c.dlqOldestAgeSeconds },
      alarms: { byState: Object.fromEntries(c.alarmCounts), inAlarm: c.alarmsInAlarm },
      attention: c.attention,
    })),
  };
}
