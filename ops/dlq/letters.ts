import * as z from 'zod';
import { type DeadLetter, decodeDeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import { toLosslessJson } from '../../lambdas/shared/stream/lossless.js';
import type { OpsConsumerName } from '../../lib/stage-outputs.js';
import type { PeekedMessage } from '../aws/ports.js';
import { formatDuration } from '../status/status.js';

/**
 * The record Lambda's event source mapping sends to its on-failure destination when it discards a DynamoDB stream
 * batch (retries exhausted, record too old): where the batch was in the stream, not the records themselves. Field
 * names as in the Lambda developer guide's DynamoDB example invocation record; unknown fields are kept.
 */
export const ON_FAILURE_RECORD_SCHEMA = z.looseObject({
  requestContext: z.looseObject({
    requestId: z.string(),
    functionArn: z.string(),
    condition: z.string(),
    approximateInvokeCount: z.number(),
  }),
  responseContext: z.looseObject({
    statusCode: z.number().optional(),
    executedVersion: z.string().optional(),
    functionError: z.string().nullable().optional(),
  }),
  version: z.string(),
  timestamp: z.string(),
  DDBStreamBatchInfo: z.looseObject({
    shardId: z.string(),
    startSequenceNumber: z.string(),
    endSequenceNumber: z.string(),
    approximateArrivalOfFirstRecord: z.string(),
    approximateArrivalOfLastRecord: z.string(),
    batchSize: z.number(),
    streamArn: z.string(),
  }),
});
export type OnFailureRecord = z.infer<typeof ON_FAILURE_RECORD_SCHEMA>;

interface LetterBase {
  readonly messageId: string;
  readonly consumer: OpsConsumerName;
  readonly sentAt: Date | null;
  readonly receiveCount: number | null;
}

/** A message of a consumer's DLQ, decoded: the runtime's letter, the mapping's on-failure record, or neither. */
export type DecodedLetter =
  | (LetterBase & { readonly kind: 'runtime'; readonly letter: DeadLetter })
  | (LetterBase & { readonly kind: 'on-failure'; readonly record: OnFailureRecord })
  | (LetterBase & { readonly kind: 'unrecognised'; readonly body: string });

/** Decodes one message; a body of neither kind is kept whole as `unrecognised`, never dropped. */
export function decodeLetter(consumer: OpsConsumerName, message: PeekedMessage): DecodedLetter {
  const base = {
    messageId: message.messageId,
    consumer,
    sentAt: message.sentAt,
    receiveCount: message.receiveCount,
  };
  const letter = decodeDeadLetter(message.body);
  if (letter !== undefined) return { ...base, kind: 'runtime', letter };
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.body);
  } catch {
    return { ...base, kind: 'unrecognised', body: message.body };
  }
  const onFailure = ON_FAILURE_RECORD_SCHEMA.safeParse(parsed);
  if (onFailure.success) return { ...base, kind: 'on-failure', record: onFailure.data };
  return { ...base, kind: 'unrecognised', body: message.body };
}

function age(letter: DecodedLetter, now: Date): string {
  return letter.sentAt === null ? 'age ?' : `age ${formatDuration(now.getTime() - letter.sentAt.getTime())}`;
}

function oneLine(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/** One line per letter: id, kind, consumer, records or sequence range, reason, age. */
export function describeLetterLine(letter: DecodedLetter, now: Date): string {
  const head = `${letter.messageId}  ${letter.kind.padEnd(12)}  ${letter.consumer}`;
  switch (letter.kind) {
    case 'runtime': {
      const l = letter.letter;
      const what = l.truncated ? 'truncated letter' : `1 record ${l.eventName ?? '?'}`;
      return `${head}  ${what} seq ${l.sequenceNumber}  ${oneLine(l.reason)}  ${age(letter, now)}`;
    }
    case 'on-failure': {
      const info = letter.record.DDBStreamBatchInfo;
      const error = letter.record.responseContext.functionError ?? 'no function error';
      return (
        `${head}  ${info.batchSize} record(s) seq ${info.startSequenceNumber}..${info.endSequenceNumber}  ` +
        `${letter.record.requestContext.condition} (${error})  ${age(letter, now)}`
      );
    }
    case 'unrecognised':
      return `${head}  ${oneLine(letter.body, 80)}  ${age(letter, now)}`;
  }
}

/** A letter in full, for `dlq show`. */
export function describeLetterInFull(letter: DecodedLetter, now: Date): string {
  const lines = [
    `--- ${letter.messageId} (${letter.kind}, ${letter.consumer}, ${age(letter, now)}, ` +
      `received ${letter.receiveCount ?? '?'} time(s))`,
  ];
  switch (letter.kind) {
    case 'runtime': {
      const l = letter.letter;
      if (!l.truncated) {
        lines.push(
          `consumer:        ${l.consumerName}`,
          `error:           ${l.errorName}`,
          `failed at:       ${l.failedAt}`,
          `event:           ${l.eventName ?? '?'} ${l.eventId ?? ''}`.trimEnd(),
          `stream:          ${l.eventSourceArn ?? '?'}`,
        );
      } else {
        lines.push(
          'truncated:       yes (the full letter exceeded the SQS size limit; keys and reason only)',
        );
      }
      lines.push(
        `sequence number: ${l.sequenceNumber}`,
        `keys:            ${l.keys === null ? 'none' : toLosslessJson(l.keys)}`,
        `reason:          ${l.reason}`,
      );
      if (!l.truncated) lines.push('record:', toLosslessJson(l.record, 2));
      break;
    }
    case 'on-failure': {
      const { requestContext, responseContext, DDBStreamBatchInfo: info } = letter.record;
      lines.push(
        `condition:       ${requestContext.condition} after ${requestContext.approximateInvokeCount} invocation(s)`,
        `function:        ${requestContext.functionArn}`,
        `function error:  ${responseContext.functionError ?? 'none'} (status ${responseContext.statusCode ?? '?'})`,
        `discarded at:    ${letter.record.timestamp}`,
        `stream:          ${info.streamArn}`,
        `shard:           ${info.shardId}`,
        `sequence range:  ${info.startSequenceNumber} .. ${info.endSequenceNumber} (${info.batchSize} record(s))`,
        `arrived:         ${info.approximateArrivalOfFirstRecord} .. ${info.approximateArrivalOfLastRecord}`,
        'The records are not in the letter: read them from the stream (24 h retention) by shard and sequence number.',
      );
      break;
    }
    case 'unrecognised':
      lines.push('body (neither a runtime letter nor an on-failure record):', letter.body);
      break;
  }
  return lines.join('\n');
}

/** A letter as JSON (`--json`): the decoded letter (raw AttributeValue numbers are strings, so exact). */
export function letterJson(letter: DecodedLetter): unknown {
  const base = {
    messageId: letter.messageId,
    kind: letter.kind,
    consumer: letter.consumer,
    sentAt: letter.sentAt?.toISOString() ?? null,
    receiveCount: letter.receiveCount,
  };
  switch (letter.kind) {
    case 'runtime':
      return { ...base, letter: letter.letter };
    case 'on-failure':
      return { ...base, record: letter.record };
    case 'unrecognised':
      return { ...base, body: letter.body };
  }
}
