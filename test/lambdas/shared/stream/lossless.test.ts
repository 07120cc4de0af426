import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../../lambdas/shared/errors.js';
import {
  type DecodedItem,
  decimalStringAttribute,
  decodeItem,
  InvalidDecimalError,
  NumberValue,
  normalizeDecimal,
  readDecimalString,
  readSafeInteger,
  safeIntegerAttribute,
  toLosslessJson,
} from '../../../../lambdas/shared/stream/lossless.js';
import * as z from '../../../../lambdas/shared/zod.js';

/** 21 digits: beyond 2^64, far beyond double precision. */
const TWENTY_ONE_DIGIT_INTEGER = '123456789012345678901';
/** 30 significant digits: a double keeps 17 at most. */
const THIRTY_DIGIT_DECIMAL = '12345678901234.5678901234567891';

describe('decodeItem', () => {
  it('keeps a 21-digit integer and a 30-digit decimal digit for digit', () => {
    // Prepare
    const raw = { big: { N: TWENTY_ONE_DIGIT_INTEGER }, precise: { N: THIRTY_DIGIT_DECIMAL } };

    // Act
    const item = decodeItem(raw);

    // Assess
    expect(item.big).toBeInstanceOf(NumberValue);
    expect((item.big as NumberValue).value).toBe(TWENTY_ONE_DIGIT_INTEGER);
    expect((item.precise as NumberValue).value).toBe(THIRTY_DIGIT_DECIMAL);
  });

  it('wraps numbers inside maps, lists and number sets', () => {
    // Prepare
    const raw = {
      lines: { L: [{ M: { qty: { N: '2' } } }] },
      sizes: { NS: ['1', '10'] },
    };

    // Act
    const item = decodeItem(raw);

    // Assess
    const lines = item.lines as ReadonlyArray<{ qty: NumberValue }>;
    expect(lines[0]?.qty).toEqual(new NumberValue('2'));
    expect([...(item.sizes as ReadonlySet<NumberValue>)].map((n) => n.value)).toEqual(['1', '10']);
  });

  it('rejects an unknown attribute type', () => {
    // Act + Assess
    expect(() => decodeItem({ odd: { X: '1' } as never })).toThrow(/Unsupported type/);
  });
});

describe('normalizeDecimal', () => {
  it.each([
    ['100', '100'],
    ['-7', '-7'],
    ['007', '7'],
    ['12.50', '12.5'],
    ['-0.0100', '-0.01'],
    ['1.50E+3', '1500'],
    ['1e-2', '0.01'],
    ['0.5e1', '5'],
    ['+3', '3'],
    ['-0', '0'],
    ['0.000', '0'],
    ['.5', '0.5'],
    [TWENTY_ONE_DIGIT_INTEGER, TWENTY_ONE_DIGIT_INTEGER],
    [THIRTY_DIGIT_DECIMAL, THIRTY_DIGIT_DECIMAL],
    [
      '9.9999999999999999999999999999999999999E+125',
      `99999999999999999999999999999999999999${'0'.repeat(88)}`,
    ],
  ])('rewrites %s as %s', (text, expected) => {
    // Act
    const plain = normalizeDecimal(text);

    // Assess
    expect(plain).toBe(expected);
  });

  it.each(['', '-', '.', 'abc', '1.2.3', '1e', '0x10', '1e999999999'])('rejects %j', (text) => {
    // Act + Assess
    expect(() => normalizeDecimal(text)).toThrow(InvalidDecimalError);
  });
});

describe('readSafeInteger', () => {
  it.each([
    ['0', 0],
    ['1999', 1999],
    ['-42', -42],
    ['1.0E+3', 1000],
    [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
    [String(Number.MIN_SAFE_INTEGER), Number.MIN_SAFE_INTEGER],
  ])('reads %s as %d', (text, expected) => {
    // Prepare
    const item: DecodedItem = { totalCents: new NumberValue(text) };

    // Act
    const value = readSafeInteger(item, 'totalCents');

    // Assess
    expect(value).toBe(expected);
  });

  it.each([
    ['a missing attribute', {}, /"totalCents" is missing/],
    ['a string', { totalCents: '1999' }, /"totalCents" is not a number/],
    ['a decimal', { totalCents: new NumberValue('19.99') }, /"totalCents" is not an integer/],
    [
      '2^53',
      { totalCents: new NumberValue('9007199254740992') },
      /"totalCents" is outside the safe integer range/,
    ],
    [
      'a 21-digit integer',
      { totalCents: new NumberValue(TWENTY_ONE_DIGIT_INTEGER) },
      /"totalCents" is outside the safe integer range/,
    ],
  ])('throws PermanentError naming the attribute for %s', (_description, item, message) => {
    // Act
    const read = (): number => readSafeInteger(item as DecodedItem, 'totalCents');

    // Assess
    expect(read).toThrow(PermanentError);
    expect(read).toThrow(message);
  });
});

describe('readDecimalString', () => {
  it.each([
    [THIRTY_DIGIT_DECIMAL, THIRTY_DIGIT_DECIMAL],
    [TWENTY_ONE_DIGIT_INTEGER, TWENTY_ONE_DIGIT_INTEGER],
    ['2.50', '2.5'],
  ])('reads %s exactly as %s', (text, expected) => {
    // Prepare
    const item: DecodedItem = { rate: new NumberValue(text) };

    // Act
    const value = readDecimalString(item, 'rate');

    // Assess
    expect(value).toBe(expected);
  });

  it('throws PermanentError naming the attribute when it is not a number', () => {
    // Act + Assess
    expect(() => readDecimalString({ rate: true }, 'rate')).toThrow(
      new PermanentError('Attribute "rate" is not a number'),
    );
  });
});

describe('zod attribute schemas', () => {
  it('parses a safe integer attribute', () => {
    // Act
    const parsed = safeIntegerAttribute.parse(new NumberValue('250'));

    // Assess
    expect(parsed).toBe(250);
  });

  it.each([
    ['a decimal', new NumberValue('2.5'), 'Number is not an integer: 2.5'],
    [
      'an unsafe integer',
      new NumberValue(TWENTY_ONE_DIGIT_INTEGER),
      /^Number is outside the safe integer range/,
    ],
    ['an invalid number text', new NumberValue('1.2.3'), /^Not a decimal number/],
    ['a plain JS number', 250, /NumberValue/],
  ])('rejects %s as a safe integer', (_description, value, message) => {
    // Act
    const result = safeIntegerAttribute.safeParse(value);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(message);
  });

  it('names the attribute in the issue path of a domain schema', () => {
    // Prepare
    const orderSchema = z.object({ totalCents: safeIntegerAttribute, rate: decimalStringAttribute });
    const image = decodeItem({ totalCents: { N: '19.99' }, rate: { N: '0.5' } });

    // Act
    const result = orderSchema.safeParse(image);

    // Assess
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['totalCents']]);
  });

  it('parses a decimal attribute to its exact text', () => {
    // Act
    const parsed = decimalStringAttribute.parse(new NumberValue(THIRTY_DIGIT_DECIMAL));

    // Assess
    expect(parsed).toBe(THIRTY_DIGIT_DECIMAL);
  });
});

describe('toLosslessJson', () => {
  it('writes a 21-digit integer and a 30-digit decimal as exact JSON number literals', () => {
    // Prepare
    const item = decodeItem({ big: { N: TWENTY_ONE_DIGIT_INTEGER }, precise: { N: THIRTY_DIGIT_DECIMAL } });

    // Act
    const json = toLosslessJson(item);

    // Assess
    expect(json).toBe(`{"big":${TWENTY_ONE_DIGIT_INTEGER},"precise":${THIRTY_DIGIT_DECIMAL}}`);
  });

  it.each([
    ['a BigInt', { n: 123456789012345678901n }, '{"n":123456789012345678901}'],
    ['a Uint8Array as base64', { b: new Uint8Array([1, 2, 255]) }, '{"b":"AQL/"}'],
    ['a Buffer as base64', { b: Buffer.from('hi') }, '{"b":"aGk="}'],
    ['a string set as an array', { tags: new Set(['a', 'b']) }, '{"tags":["a","b"]}'],
    [
      'a number set as an array',
      { ns: new Set([new NumberValue('1'), new NumberValue('2.5')]) },
      '{"ns":[1,2.5]}',
    ],
    ['a number text that is not JSON syntax', { n: new NumberValue('.5') }, '{"n":0.5}'],
    ['a top-level NumberValue', new NumberValue('-3'), '-3'],
    ['plain data', { s: 'x', list: [1, null, true] }, '{"s":"x","list":[1,null,true]}'],
  ])('writes %s', (_description, value, expected) => {
    // Act
    const json = toLosslessJson(value);

    // Assess
    expect(json).toBe(expected);
  });

  it('leaves strings that look like its internal tokens alone', () => {
    // Prepare
    const value = { note: '00000000-0000-0000-0000-000000000000#0', n: new NumberValue('1') };

    // Act
    const json = toLosslessJson(value);

    // Assess
    expect(json).toBe('{"note":"00000000-0000-0000-0000-000000000000#0","n":1}');
  });

  it('indents when asked', () => {
    // Act
    const json = toLosslessJson({ n: new NumberValue('1') }, 2);

    // Assess
    expect(json).toBe('{\n  "n": 1\n}');
  });
});
