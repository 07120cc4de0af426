import { describe, expect, it } from 'vitest';
import { SQS_MAX_MESSAGE_BYTES } from '../../../../lambdas/shared/limits.js';
import {
  buildDeadLetter,
  encodeDeadLetter,
  fitDeadLetter,
  MAX_TRUNCATED_REASON_LENGTH,
} from '../../../../lambdas/shared/stream/dead-letter.js';
import { NumberValue } from '../../../../lambdas/shared/stream/lossless.js';
import { createStreamRecordFactory, streamArn } from '../../../support/stream-records.js';

const FAILED_AT = new Date('2024-05-01T12:00:05.000Z');

function letterFor(image: Record<string, unknown>, reason = 'totalCents is not an integer') {
  const record = createStreamRecordFactory().insert(
    { orderId: 'o-1', ...image },
    { sequenceNumber: '400000000000000000123' },
  );
  return {
    record,
    letter: buildDeadLetter({
      consumerName: 'order-fanout',
      record,
      sequenceNumber: '400000000000000000123',
      errorName: 'PermanentError',
      reason,
      failedAt: FAILED_AT,
    }),
  };
}

describe('buildDeadLetter', () => {
  it('carries the consumer, the failure, the record identity and the whole raw record', () => {
    // Prepare
    const { record, letter } = letterFor({ totalCents: 19.99 });

    // Assess
    expect(letter).toEqual({
      truncated: false,
      consumerName: 'order-fanout',
      reason: 'totalCents is not an integer',
      errorName: 'PermanentError',
      eventId: record.eventID,
      eventName: 'INSERT',
      sequenceNumber: '400000000000000000123',
      keys: { orderId: { S: 'o-1' } },
      eventSourceArn: streamArn('Orders'),
      failedAt: '2024-05-01T12:00:05.000Z',
      record,
    });
  });
});

describe('encodeDeadLetter', () => {
  it('keeps raw AttributeValue numbers as their exact text', () => {
    // Prepare
    const { letter } = letterFor({ units: new NumberValue('123456789012345678901') });

    // Act
    const body = encodeDeadLetter(letter);

    // Assess
    expect(body).toContain('"units":{"N":"123456789012345678901"}');
    expect(JSON.parse(body)).toMatchObject({ sequenceNumber: '400000000000000000123', truncated: false });
  });
});

describe('fitDeadLetter', () => {
  it('keeps a letter that fits', () => {
    // Prepare
    const { letter } = letterFor({ note: 'small' });

    // Act
    const fitted = fitDeadLetter(letter);

    // Assess
    expect(fitted).toBe(letter);
  });

  it('keeps a letter of exactly the limit and truncates one byte more', () => {
    // Prepare
    const { letter } = letterFor({ note: 'x' });
    const size = Buffer.byteLength(encodeDeadLetter(letter));

    // Act
    const atLimit = fitDeadLetter(letter, size);
    const overLimit = fitDeadLetter(letter, size - 1);

    // Assess
    expect(atLimit.truncated).toBe(false);
    expect(overLimit.truncated).toBe(true);
  });

  it('sends keys, sequence number and reason only when the record exceeds the SQS limit', () => {
    // Prepare: a 300 KB attribute, as a 400 KB DynamoDB item can hold.
    const { letter } = letterFor({ notes: 'n'.repeat(300_000) });

    // Act
    const fitted = fitDeadLetter(letter);

    // Assess
    expect(fitted).toEqual({
      truncated: true,
      sequenceNumber: '400000000000000000123',
      keys: { orderId: { S: 'o-1' } },
      reason: 'totalCents is not an integer',
    });
    expect(Buffer.byteLength(encodeDeadLetter(fitted))).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
  });

  it('counts bytes, not characters', () => {
    // Prepare: 100 000 three-byte characters are 300 000 bytes.
    const { letter } = letterFor({ notes: '€'.repeat(100_000) });

    // Act
    const fitted = fitDeadLetter(letter);

    // Assess
    expect(fitted.truncated).toBe(true);
  });

  it('shortens a huge reason in a truncated letter', () => {
    // Prepare
    const { letter } = letterFor({ notes: 'n'.repeat(300_000) }, 'r'.repeat(300_000));

    // Act
    const fitted = fitDeadLetter(letter);

    // Assess
    expect(fitted.reason).toBe(`${'r'.repeat(MAX_TRUNCATED_REASON_LENGTH)}...`);
    expect(Buffer.byteLength(encodeDeadLetter(fitted))).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
  });
});
