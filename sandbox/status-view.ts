import type { ApiStats, ConsumerStatus, ServiceStats } from './system.js';

/**
 * The live status of `npm start`: one row per consumer (records processed, batches, failed batches, DLQ messages,
 * iterator age, end-to-end lag p50/p99), redrawn in place on a terminal and printed as plain blocks every few seconds
 * when the output is a file or a pipe (where cursor moves would only garble the log). Rendering is pure; only
 * startStatusView touches a stream.
 */

/** Traffic counters shown in the header. */
export interface TrafficCounters {
  readonly operations: number;
  readonly ok: number;
  readonly rejected: number;
  readonly errors: number;
}

export interface StatusSnapshot {
  readonly elapsedMs: number;
  readonly consumers: Readonly<Record<string, ConsumerStatus>>;
  readonly api?: ApiStats;
  /** Absent when no demo traffic runs. */
  readonly traffic?: TrafficCounters;
  /** What the consumers sent to the local services; absent: no line for it. */
  readonly services?: Pick<ServiceStats, 'sns' | 'ses' | 'sqs'>;
  /** The search index of the local OpenSearch; absent: no line for it. */
  readonly search?: SearchIndexCounters;
}

/** A search index's documents, for the status line. */
export interface SearchIndexCounters {
  readonly index: string;
  /** Live order documents. */
  readonly documents: number;
  /** Tombstones of deleted orders (excluded from searches). */
  readonly tombstones: number;
  /** Requests the local OpenSearch received. */
  readonly requests: number;
}

const COLUMNS = [
  'consumer',
  'processed',
  'batches',
  'failed',
  'DLQ',
  'iter age',
  'lag p50',
  'lag p99',
] as const;

/** `850 ms`, `4.2 s`, `3m 07s`; `-` when there is no value yet. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** The status as lines of text, without any terminal control sequence. */
export function renderStatus(snapshot: StatusSnapshot): string[] {
  const header = [`sandbox up ${formatDuration(snapshot.elapsedMs)}`];
  if (snapshot.traffic !== undefined) {
    const t = snapshot.traffic;
    header.push(
      `demo traffic ${t.operations} writes (${t.ok} 2xx, ${t.rejected} other, ${t.errors} no answer)`,
    );
  }
  if (snapshot.api !== undefined) header.push(`API ${snapshot.api.requests} requests`);

  const names = Object.keys(snapshot.consumers).sort();
  if (names.length === 0) {
    return [header.join(' | '), 'No stream consumers in the template yet: the pipelines add them.'];
  }
  const outputs = [
    ...(snapshot.services === undefined ? [] : [renderServices(snapshot.services)]),
    ...(snapshot.search === undefined ? [] : [renderSearch(snapshot.search)]),
  ];
  const rows = names.map((name) => {
    const s = snapshot.consumers[name]!;
    return [
      name,
      String(s.recordsProcessed),
      String(s.invocations),
      String(s.failedInvocations),
      String(s.dlqCount),
      formatDuration(s.iteratorAgeMs),
      formatDuration(s.lagP50Ms),
      formatDuration(s.lagP99Ms),
    ];
  });
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  // The name column is left-aligned, the numbers right-aligned so that digits line up.
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [header.join(' | '), ...outputs, format(COLUMNS), ...rows.map(format)];
}

/** One line of what went out: events published, e-mails accepted, messages enqueued (and dropped duplicates). */
export function renderServices(services: Pick<ServiceStats, 'sns' | 'ses' | 'sqs'>): string {
  const published = Object.values(services.sns.publishedByTopic).reduce((sum, n) => sum + n, 0);
  const emails = Object.values(services.ses.sentByTemplate).reduce((sum, n) => sum + n, 0);
  const dropped = services.sqs.deduplicated === 0 ? '' : ` (${services.sqs.deduplicated} duplicates dropped)`;
  return `sent: ${published} SNS events, ${emails} e-mails, ${services.sqs.enqueued} SQS messages${dropped}`;
}

/** One line of the search index: its documents and tombstones, and the requests of the local OpenSearch. */
export function renderSearch(search: SearchIndexCounters): string {
  return (
    `search index ${search.index}: ${search.documents} orders, ${search.tombstones} tombstones ` +
    `(${search.requests} OpenSearch requests)`
  );
}

/**
 * What to write to a terminal to replace the previous frame (of `previousLineCount` lines) with `lines`: the cursor
 * goes up to the frame's first line, the screen below it is cleared, and the new lines are written.
 */
export function terminalFrame(lines: readonly string[], previousLineCount: number): string {
  const up = previousLineCount > 0 ? `\u001b[${previousLineCount}F` : '';
  return `${up}\u001b[0J${lines.join('\n')}\n`;
}

/**
 * Cuts lines to the terminal's width: a line that wraps takes two rows, and the next redraw, which moves up one row
 * per line, would leave the top of the old frame behind.
 */
export function fitToWidth(lines: readonly string[], columns: number | undefined): string[] {
  if (columns === undefined || columns < 2) return [...lines];
  return lines.map((line) => (line.length < columns ? line : `${line.slice(0, columns - 2)}…`));
}

/** A plain block for logs: the lines under a time stamp, separated from the previous block by a blank line. */
export function plainBlock(lines: readonly string[], at: Date): string {
  return `\n[${at.toISOString()}]\n${lines.join('\n')}\n`;
}

/** The output the view writes to: a stream, told apart as a terminal by `isTTY`. */
export interface StatusOutput {
  readonly isTTY?: boolean;
  /** The terminal's width, when known. */
  readonly columns?: number;
  write(text: string): unknown;
}

export interface StatusViewOptions {
  readonly output: StatusOutput;
  readonly snapshot: () => StatusSnapshot;
  /** Redraw interval on a terminal. @default 1,000 ms */
  readonly refreshMs?: number;
  /** Interval of plain blocks when not a terminal. @default 5,000 ms */
  readonly plainIntervalMs?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface StatusView {
  /** Draws once more (the final state) and stops. */
  stop(): void;
}

/** Starts refreshing the status on `output` until stop(). */
export function startStatusView(options: StatusViewOptions): StatusView {
  const tty = options.output.isTTY === true;
  const now = options.now ?? ((): Date => new Date());
  let previousLineCount = 0;
  const draw = (): void => {
    const lines = renderStatus(options.snapshot());
    if (tty) {
      const fitted = fitToWidth(lines, options.output.columns);
      options.output.write(terminalFrame(fitted, previousLineCount));
      previousLineCount = fitted.length;
    } else {
      options.output.write(plainBlock(lines, now()));
    }
  };
  if (tty) draw();
  const timer = setInterval(draw, tty ? (options.refreshMs ?? 1000) : (options.plainIntervalMs ?? 5000));
  // The view must never be what keeps the process alive.
  timer.unref();
  let stopped = false;
  return {
    stop: (): void => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
    },
  };
}
