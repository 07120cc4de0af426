import type { DynamoDBRecord } from 'aws-lambda';
import type { OpsConsumerName } from '../../lib/stage-outputs.js';
import type {
  DeadLetterQueuePort,
  FunctionInvokerPort,
  InvokeResult,
  ReceivedMessage,
  StreamReaderPort,
} from '../aws/ports.js';
import { type DecodedLetter, decodeLetter } from '../dlq/letters.js';
import type { RangeArchive } from '../replay/audit-archive.js';
import type { LostRange } from './repair.js';
import { compareSequenceNumbers } from './sequence-numbers.js';

/**
 * `ops redrive`: hands the letters of a consumer's DLQ back to its function, and deletes a letter only once the
 * function reported every one of its records done. Pure over the ports (ports.ts).
 * - a full runtime letter: its record(s) in one Invoke (RequestResponse) as a stream event `{ Records }`;
 * - an on-failure record (shard and sequence range): the range re-read from the stream, then invoked in order, in
 *   chunks, each fully done before the next; a range the stream no longer holds is reported with its repair command;
 * - a truncated runtime letter or an unrecognised message: skipped, kept, reported.
 * Safe to repeat: a letter is deleted only after success, and the consumers are idempotent per record, so a letter
 * kept (or redriven but not deleted) is simply redriven again by the next run.
 */

/** How long a letter received for redrive stays hidden from the queue's other readers: the work on it must fit. */
export const REDRIVE_VISIBILITY_SECONDS = 300;
/** A dry run only decodes: its letters are back in the queue soon. */
export const DRY_RUN_VISIBILITY_SECONDS = 30;
/** Records per Invoke: no more than the smallest batch size of the consumers' mappings (100). */
export const MAX_RECORDS_PER_INVOKE = 100;
/** Bytes of an Invoke payload at most: under Lambda's 6 MB limit of a synchronous request. */
export const MAX_PAYLOAD_BYTES = 5_000_000;
/** ReceiveMessage answers 10 messages at most. */
const MAX_PER_RECEIVE = 10;
/**
 * How far SQS's SentTimestamp of a letter may lie behind this machine's clock. A runtime letter of a record this run
 * already handed back is a copy from before the run only when it was sent more than this before the hand-back;
 * otherwise it may be the consumer's new letter, and is kept (the safe side: the next run redrives it).
 */
export const SENT_TIME_SKEW_MS = 1_000;

export interface RedrivePorts {
  readonly queue: DeadLetterQueuePort;
  readonly functions: FunctionInvokerPort;
  readonly streams: StreamReaderPort;
}

export interface RedriveTarget {
  readonly consumer: OpsConsumerName;
  readonly functionName: string;
  readonly queueUrl: string;
  /** Where a range the stream no longer holds is read back from; none: such a range is unrecoverable here. */
  readonly archive?: RangeArchive | undefined;
  /** The command that repairs what the consumer missed of a range the stream no longer holds (repair.ts). */
  repairCommand(range: LostRange): string;
  /**
   * The records the consumer will take for already applied and drop, though they were not (the vote aggregator's
   * watermark, vote-watermarks.ts): looked at before each invocation. None for the other consumers.
   */
  readonly superseded?: {
    records(records: readonly DynamoDBRecord[]): Promise<readonly DynamoDBRecord[]>;
    /** The command that repairs what they should have counted. */
    readonly repair: string;
  };
}

export interface RedriveOptions {
  readonly dryRun: boolean;
  /** Letters at most; undefined: until a receive answers none. */
  readonly limit: number | undefined;
  /** One line per letter, as it is handled. */
  progress(line: string): void;
  /** Epoch ms, to tell a letter written by this run from an older copy. @default Date.now */
  readonly now?: () => number;
}

type LetterKind = DecodedLetter['kind'] | 'truncated';

/** What became of one letter. */
export type LetterOutcome =
  /**
   * Every record done and the letter deleted. A copy of a letter whose record this run already handed back and saw
   * done is deleted without an invocation (0 records), with a note saying so.
   */
  | {
      readonly status: 'redriven';
      readonly messageId: string;
      readonly kind: 'runtime' | 'on-failure';
      readonly records: number;
      readonly invocations: number;
      readonly note?: string;
      /** Records the consumer dropped as already applied, though they were not (RedriveTarget.superseded). */
      readonly superseded?: number;
    }
  /** The function did not report every record done (or a call failed): the letter is kept for the next run. */
  | {
      readonly status: 'not-done';
      readonly messageId: string;
      readonly kind: 'runtime' | 'on-failure';
      readonly records: number;
      readonly invocations: number;
      readonly reason: string;
    }
  /** An on-failure range the stream no longer holds: kept; repaired from the source with `repair`. */
  | {
      readonly status: 'unrecoverable';
      readonly messageId: string;
      readonly kind: 'on-failure';
      readonly shardId: string;
      readonly startSequenceNumber: string;
      readonly endSequenceNumber: string;
      readonly reason: string;
      readonly repair: string;
    }
  /** A truncated runtime letter or an unrecognised message: not redriven, kept. */
  | {
      readonly status: 'skipped';
      readonly messageId: string;
      readonly kind: LetterKind;
      readonly reason: string;
    }
  /** Dry run: what would be done. */
  | {
      readonly status: 'planned';
      readonly messageId: string;
      readonly kind: LetterKind;
      readonly plan: string;
    };

export interface RedriveSummary {
  readonly consumer: OpsConsumerName;
  readonly dryRun: boolean;
  readonly lettersRead: number;
  readonly redriven: number;
  readonly deleted: number;
  readonly recordsInvoked: number;
  readonly invocations: number;
  readonly outcomes: readonly LetterOutcome[];
  /** Records redriven that the consumer dropped as already applied, though they were not: `repair` recounts them. */
  readonly superseded: number;
  /** The command that repairs the superseded records; undefined when there are none. */
  readonly repair: string | undefined;
  /** Every letter read was redriven and deleted, and nothing is left to recount (a dry run: always). */
  readonly ok: boolean;
}

/** Records in stream order: by sequence number, numerically; a stable sort keeps equal ones (per item) in place. */
export function inStreamOrder(records: readonly DynamoDBRecord[]): DynamoDBRecord[] {
  return [...records].sort((a, b) =>
    compareSequenceNumbers(a.dynamodb?.SequenceNumber ?? '', b.dynamodb?.SequenceNumber ?? ''),
  );
}

/** Consecutive chunks of at most MAX_RECORDS_PER_INVOKE records and MAX_PAYLOAD_BYTES (a lone larger record alone). */
export function chunksOf(records: readonly DynamoDBRecord[]): DynamoDBRecord[][] {
  const chunks: DynamoDBRecord[][] = [];
  let chunk: DynamoDBRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(JSON.stringify(record), 'utf8') + 1;
    if (chunk.length > 0 && (chunk.length >= MAX_RECORDS_PER_INVOKE || bytes + size > MAX_PAYLOAD_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Why an invocation did not report every record done; undefined when it did. */
export function notDoneReason(result: InvokeResult): string | undefined {
  if (result.functionError !== undefined) {
    return `FunctionError ${result.functionError}: ${result.payload.slice(0, 300)}`;
  }
  if (result.statusCode < 200 || result.statusCode > 299) return `Invoke status ${result.statusCode}`;
  let response: unknown;
  try {
    response = JSON.parse(result.payload === '' ? 'null' : result.payload);
  } catch {
    return `the response is not JSON: ${result.payload.slice(0, 300)}`;
  }
  // As the event source mapping reads it: no response, or an empty batchItemFailures, is complete success.
  if (response === null) return undefined;
  if (typeof response !== 'object') return `unexpected response ${result.payload.slice(0, 300)}`;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return undefined;
  if (!Array.isArray(failures)) return `batchItemFailures is not a list: ${result.payload.slice(0, 300)}`;
  if (failures.length === 0) return undefined;
  const ids = failures.map((failure: { itemIdentifier?: unknown }) => String(failure?.itemIdentifier));
  return `the function reported ${ids.length} record(s) not done: ${ids.join(', ')}`;
}

export interface Invoked {
  readonly invocations: number;
  /** Records of the chunks reported done. */
  readonly recordsDone: number;
  /** Undefined when every chunk was done. */
  readonly reason: string | undefined;
}

/**
 * Invokes `functionName` with the records in order, chunk after chunk (chunksOf), each one done before the next is
 * sent: a consumer sees an item's changes in stream order, as from its mapping. Stops at the first chunk not done.
 */
export async function invokeInChunks(
  functions: FunctionInvokerPort,
  functionName: string,
  records: readonly DynamoDBRecord[],
  onChunkDone: (recordsDone: number) => void = () => {},
): Promise<Invoked> {
  let invocations = 0;
  let recordsDone = 0;
  for (const chunk of chunksOf(records)) {
    invocations += 1;
    const result = await functions.invoke(functionName, { Records: chunk });
    const reason = notDoneReason(result);
    if (reason !== undefined) return { invocations, recordsDone, reason };
    recordsDone += chunk.length;
    onChunkDone(recordsDone);
  }
  return { invocations, recordsDone, reason: undefined };
}

/** The function name of a function ARN (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`). */
export function functionNameOfArn(arn: string): string | undefined {
  const parts = arn.split(':');
  return parts[0] === 'arn' && parts[5] === 'function' && parts[6] !== '' ? parts[6] : undefined;
}

function errorText(error: unknown): string {
  const err = error as Error;
  return `${err.name}: ${err.message}`;
}

function describeRange(info: {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
}): string {
  return `${info.shardId} seq ${info.startSequenceNumber}..${info.endSequenceNumber}`;
}

async function redriveLetter(
  ports: RedrivePorts,
  target: RedriveTarget,
  message: ReceivedMessage,
  letter: DecodedLetter,
  dryRun: boolean,
  doneThisRun: Map<string, number>,
  now: () => number,
): Promise<LetterOutcome> {
  const { messageId } = letter;
  let kind: 'runtime' | 'on-failure';
  let records: DynamoDBRecord[];
  switch (letter.kind) {
    case 'unrecognised':
      return {
        status: 'skipped',
        messageId,
        kind: 'unrecognised',
        reason: 'neither a runtime letter nor an on-failure record',
      };
    case 'runtime': {
      if (letter.letter.truncated) {
        return {
          status: 'skipped',
          messageId,
          kind: 'truncated',
          reason: `truncated letter (no record; seq ${letter.letter.sequenceNumber}): repair the item from its source`,
        };
      }
      if (dryRun) {
        return {
          status: 'planned',
          messageId,
          kind: 'runtime',
          plan: `invoke ${target.functionName} with 1 record seq ${letter.letter.sequenceNumber}`,
        };
      }
      const handedBackAt = doneThisRun.get(letter.letter.sequenceNumber);
      if (
        handedBackAt !== undefined &&
        message.sentAt !== null &&
        message.sentAt.getTime() < handedBackAt - SENT_TIME_SKEW_MS
      ) {
        // A copy from before this run of a record it already handed back and saw done: the runtime dead-letters a
        // permanent record again each time its batch is re-delivered after a partial failure, and a range letter
        // can hold it too. Its record is applied, or dead-lettered anew by the hand-back (that letter is kept).
        return deleteLetter(ports, target, message, {
          status: 'redriven',
          messageId,
          kind: 'runtime',
          records: 0,
          invocations: 0,
          note: `a copy of seq ${letter.letter.sequenceNumber}, already handed back by this run`,
        });
      }
      if (handedBackAt !== undefined) {
        // The consumer dead-lettered the record again when this run handed it back: it fails permanently (the
        // letter's reason says why). Handing it back once more would only write another letter, without end.
        return {
          status: 'not-done',
          messageId,
          kind: 'runtime',
          records: 1,
          invocations: 0,
          reason: `dead-lettered again by this run (seq ${letter.letter.sequenceNumber}): ${letter.letter.reason}`,
        };
      }
      kind = 'runtime';
      records = inStreamOrder([letter.letter.record]);
      break;
    }
    case 'on-failure': {
      const info = letter.record.DDBStreamBatchInfo;
      const mappedFunction = functionNameOfArn(letter.record.requestContext.functionArn);
      if (mappedFunction !== target.functionName) {
        // A queue shared with another mapping, or a letter moved by hand: its records are not this consumer's.
        return {
          status: 'skipped',
          messageId,
          kind: 'on-failure',
          reason: `the range was discarded by ${mappedFunction ?? letter.record.requestContext.functionArn}'s mapping, not ${target.functionName}'s`,
        };
      }
      if (dryRun) {
        return {
          status: 'planned',
          messageId,
          kind: 'on-failure',
          plan:
            `read ${describeRange(info)} (${info.batchSize} record(s)) from the stream and invoke ` +
            `${target.functionName} with them (not read in a dry run)`,
        };
      }
      kind = 'on-failure';
      const range = await ports.streams.readRange(
        info.streamArn,
        info.shardId,
        info.startSequenceNumber,
        info.endSequenceNumber,
      );
      let trimmedReason = range.kind === 'trimmed' ? range.reason : '';
      if (range.kind === 'trimmed' && target.archive?.holds(info.streamArn) === true) {
        // Past the stream's 24 hours, the Orders table's changes are still in the audit log.
        const archived = await target.archive.readRange(info);
        if (archived.kind === 'records') {
          records = inStreamOrder(archived.records);
          break;
        }
        trimmedReason += `; ${archived.reason} (${target.archive.location})`;
      }
      if (range.kind === 'trimmed') {
        return {
          status: 'unrecoverable',
          messageId,
          kind: 'on-failure',
          shardId: info.shardId,
          startSequenceNumber: info.startSequenceNumber,
          endSequenceNumber: info.endSequenceNumber,
          reason: `the stream no longer holds ${describeRange(info)} (${trimmedReason})`,
          repair: target.repairCommand(info),
        };
      }
      records = inStreamOrder(range.records);
      const last = records.at(-1)?.dynamodb?.SequenceNumber;
      if (last !== info.endSequenceNumber) {
        return {
          status: 'not-done',
          messageId,
          kind,
          records: records.length,
          invocations: 0,
          reason: `the stream gave the range only up to ${last ?? 'no record'}, not its end ${info.endSequenceNumber}`,
        };
      }
      break;
    }
  }
  const superseded = target.superseded === undefined ? [] : await target.superseded.records(records);
  const handedBackAt = now();
  const invoked = await invokeInChunks(ports.functions, target.functionName, records);
  // Done: applied, or dead-lettered anew by the consumer (a letter sent after handedBackAt).
  for (const record of records.slice(0, invoked.recordsDone)) {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (sequenceNumber !== undefined) doneThisRun.set(sequenceNumber, handedBackAt);
  }
  if (invoked.reason !== undefined) {
    return {
      status: 'not-done',
      messageId,
      kind,
      records: records.length,
      invocations: invoked.invocations,
      reason: invoked.reason,
    };
  }
  return deleteLetter(ports, target, message, {
    status: 'redriven',
    messageId,
    kind,
    records: records.length,
    invocations: invoked.invocations,
    ...(superseded.length === 0 ? {} : { superseded: superseded.length }),
  });
}

/** Deletes a letter whose records are done; a failed delete keeps it as not done (the next run redrives it). */
async function deleteLetter(
  ports: RedrivePorts,
  target: RedriveTarget,
  message: ReceivedMessage,
  done: Extract<LetterOutcome, { status: 'redriven' }>,
): Promise<LetterOutcome> {
  try {
    await ports.queue.delete(target.queueUrl, message.receiptHandle);
  } catch (error) {
    return {
      status: 'not-done',
      messageId: done.messageId,
      kind: done.kind,
      records: done.records,
      invocations: done.invocations,
      reason: `redriven but not deleted (the next run redrives it again): ${errorText(error)}`,
    };
  }
  return done;
}

function progressLine(outcome: LetterOutcome): string {
  const head = `${outcome.messageId} ${outcome.kind}`;
  switch (outcome.status) {
    case 'redriven':
      return outcome.note === undefined
        ? `${head}: redriven (${outcome.records} record(s), ${outcome.invocations} invocation(s)), deleted` +
            (outcome.superseded === undefined
              ? ''
              : `; ${outcome.superseded} of them behind their item's watermark, dropped by the consumer: recount`)
        : `${head}: deleted, ${outcome.note}`;
    case 'not-done':
      return `${head}: NOT done, kept: ${outcome.reason}`;
    case 'unrecoverable':
      return `${head}: unrecoverable from the stream, kept: ${outcome.reason}; repair: ${outcome.repair}`;
    case 'skipped':
      return `${head}: skipped, kept: ${outcome.reason}`;
    case 'planned':
      return `${head}: would ${outcome.plan}`;
  }
}

/** Redrives the letters of the target's DLQ, round after round of ReceiveMessage, until none or `limit`. */
export async function redrive(
  ports: RedrivePorts,
  target: RedriveTarget,
  options: RedriveOptions,
): Promise<RedriveSummary> {
  const seen = new Set<string>();
  // Sequence numbers this run handed to the function and saw done, with when: a runtime letter of one of them sent
  // after that was written by this run (the record failed permanently again); one sent before is an older copy.
  const doneThisRun = new Map<string, number>();
  const now = options.now ?? Date.now;
  const outcomes: LetterOutcome[] = [];
  const visibilityTimeoutSeconds = options.dryRun ? DRY_RUN_VISIBILITY_SECONDS : REDRIVE_VISIBILITY_SECONDS;
  for (;;) {
    const remaining = options.limit === undefined ? MAX_PER_RECEIVE : options.limit - seen.size;
    if (remaining <= 0) break;
    const messages = await ports.queue.receive(target.queueUrl, {
      limit: Math.min(MAX_PER_RECEIVE, remaining),
      visibilityTimeoutSeconds,
    });
    // A letter seen already (its visibility ran out during the run) is left for the next run.
    const fresh = messages.filter((message) => !seen.has(message.messageId)).slice(0, remaining);
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.messageId);
      const letter = decodeLetter(target.consumer, message);
      let outcome: LetterOutcome;
      try {
        outcome = await redriveLetter(ports, target, message, letter, options.dryRun, doneThisRun, now);
      } catch (error) {
        const kind = letter.kind === 'on-failure' ? 'on-failure' : 'runtime';
        outcome = {
          status: 'not-done',
          messageId: message.messageId,
          kind,
          records: 0,
          invocations: 0,
          reason: errorText(error),
        };
      }
      outcomes.push(outcome);
      options.progress(progressLine(outcome));
    }
  }
  const redriven = outcomes.filter((outcome) => outcome.status === 'redriven');
  const invocations = outcomes.reduce(
    (sum, outcome) =>
      sum + (outcome.status === 'redriven' || outcome.status === 'not-done' ? outcome.invocations : 0),
    0,
  );
  const superseded = redriven.reduce(
    (sum, outcome) => sum + (outcome.status === 'redriven' ? (outcome.superseded ?? 0) : 0),
    0,
  );
  return {
    consumer: target.consumer,
    dryRun: options.dryRun,
    lettersRead: outcomes.length,
    redriven: redriven.length,
    deleted: redriven.length,
    recordsInvoked: redriven.reduce((sum, outcome) => sum + outcome.records, 0),
    invocations,
    outcomes,
    superseded,
    repair: superseded === 0 ? undefined : target.superseded?.repair,
    ok: options.dryRun || (redriven.length === outcomes.length && superseded === 0),
  };
}

/** The summary as text, for stdout. */
export function describeRedrive(summary: RedriveSummary): string {
  const lines = [
    summary.dryRun
      ? `Dry run of redrive ${summary.consumer}: ${summary.lettersRead} letter(s) read; nothing invoked, deleted or read from the stream.`
      : `Redrive ${summary.consumer}: ${summary.lettersRead} letter(s) read, ${summary.redriven} redriven and deleted, ` +
        `${summary.recordsInvoked} record(s) in ${summary.invocations} invocation(s).`,
  ];
  const of = (status: LetterOutcome['status']): LetterOutcome[] =>
    summary.outcomes.filter((outcome) => outcome.status === status);
  for (const [status, title] of [
    ['planned', 'Would redrive'],
    ['not-done', 'Not done (kept; run redrive again once the cause is fixed)'],
    ['unrecoverable', 'No longer in the stream (kept; repair from the source, then delete the letter)'],
    ['skipped', 'Skipped (kept)'],
  ] as const) {
    const found = of(status);
    if (found.length === 0) continue;
    lines.push(`${title}: ${found.length}`);
    for (const outcome of found) lines.push(`  ${progressLine(outcome)}`);
  }
  if (summary.superseded > 0) {
    lines.push(
      `${summary.superseded} redriven record(s) were behind their item's watermark: later changes of the item were ` +
        `applied first, so the consumer dropped them as already applied. Recount: ${summary.repair}`,
    );
  }
  return lines.join('\n');
}

/** The summary as one JSON object (`--json`). */
export function redriveJson(summary: RedriveSummary): object {
  const of = (status: LetterOutcome['status']): LetterOutcome[] =>
    summary.outcomes.filter((outcome) => outcome.status === status);
  return {
    consumer: summary.consumer,
    dryRun: summary.dryRun,
    lettersRead: summary.lettersRead,
    redriven: summary.redriven,
    deleted: summary.deleted,
    recordsInvoked: summary.recordsInvoked,
    invocations: summary.invocations,
    notDone: of('not-done'),
    unrecoverable: of('unrecoverable'),
    skipped: of('skipped'),
    planned: of('planned'),
    superseded: summary.superseded,
    repair: summary.repair ?? null,
    ok: summary.ok,
  };
}
