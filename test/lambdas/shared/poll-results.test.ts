import { describe, expect, it } from 'vitest';
import {
  InvalidSequenceNumberError,
  padSequenceNumber,
  parsePollResultsItem,
  toPollResultsView,
} from '../../../lambdas/shared/poll-results.js';

describe('padSequenceNumber', () => {
  it.each([
    { input: '1', padded: '0000000000000000000000000000000000000001' },
    { input: '111111111111111111111', padded: '0000000000000000000111111111111111111111' },
    { input: '9'.repeat(40), padded: '9'.repeat(40) },
  ])('pads $input to 40 digits', ({ input, padded }) => {
    // Act
    const result = padSequenceNumber(input);

    // Assess
    expect(result).toBe(padded);
  });

  it('orders padded numbers as strings the way they order as numbers', () => {
    // Prepare: a 21-digit number is smaller than a 22-digit one, though "9..." > "1..." as strings.
    const shorter = '900000000000000000000';
    const longer = '1000000000000000000000';

    // Act
    const ordered = padSequenceNumber(shorter) < padSequenceNumber(longer);

    // Assess
    expect(shorter < longer).toBe(false);
    expect(ordered).toBe(true);
  });

  it.each(['', '12a', '-1', '1'.repeat(41), ' 1'])('rejects %j', (input) => {
    // Act
    const act = (): string => padSequenceNumber(input);

    // Assess
    expect(act).toThrow(InvalidSequenceNumberError);
  });
});

describe('poll results item', () => {
  const item = {
    pollId: 'best-pizza',
    counts: { margherita: 2, funghi: 1 },
    total: 3,
    lastSeq: padSequenceNumber('123456789012345678901'),
    asOf: '2030-01-01T00:00:00.000Z',
  };

  it('becomes the public view without the watermark', () => {
    // Act
    const view = toPollResultsView(parsePollResultsItem(item));

    // Assess
    expect(view).toEqual({
      pollId: 'best-pizza',
      counts: { margherita: 2, funghi: 1 },
      total: 3,
      asOf: '2030-01-01T00:00:00.000Z',
    });
  });

  it.each([
    { name: 'without records and reconcileToken (written before they existed)', patch: {} },
    { name: 'with records and reconcileToken', patch: { records: 3, reconcileToken: 'tok-1' } },
  ])('parses an item $name', ({ patch }) => {
    // Act
    const parsed = parsePollResultsItem({ ...item, ...patch });

    // Assess
    expect(parsed).toStrictEqual({ ...item, ...patch });
    expect(toPollResultsView(parsed)).not.toHaveProperty('records');
  });

  it.each([
    { name: 'an unpadded watermark', patch: { lastSeq: '123' } },
    { name: 'a negative records count', patch: { records: -1 } },
    { name: 'an empty reconcile token', patch: { reconcileToken: '' } },
    { name: 'a fractional count', patch: { counts: { a: 1.5 } } },
    { name: 'a missing total', patch: { total: undefined } },
  ])('rejects $name', ({ patch }) => {
    // Act
    const act = (): unknown => parsePollResultsItem({ ...item, ...patch });

    // Assess
    expect(act).toThrow();
  });
});
