import { randomUUID } from 'node:crypto';
// The SDK exports the NumberValue class as NumberValueImpl (its `NumberValue` is a structural interface that a
// decoded map `{ value: '1' }` would also match); instanceof needs the class.
import { convertToNative, NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from 'aws-lambda';
import type { ParsePayload } from 'zod/v4/core';
import { PermanentError } from '../errors.js';
import * as z from '../zod.js';

/**
 * A DynamoDB attribute value decoded without loss (docs/architecture.md, contract 5): every number is a `NumberValue` holding
 * DynamoDB's exact digits, never a JS number (rounds after 15-17 digits) nor a BigInt (JSON.stringify rejects it).
 * Binary is a base64 string in Lambda events and a Uint8Array when the record comes from the SDK (local runner).
 */
export type DecodedValue =
  | null
  | boolean
  | string
  | NumberValue
  | Uint8Array
  | ReadonlySet<string | NumberValue | Uint8Array>
  | readonly DecodedValue[]
  | { readonly [name: string]: DecodedValue };

/** A decoded item image or key. */
export type DecodedItem = { readonly [name: string]: DecodedValue };

export { NumberValue };

/** The wire form of an item image or key in a stream record. */
export type RawItem = Record<string, AttributeValue>;

/** A number text that is not a decimal number at all: a bug in the producer, never a value DynamoDB stores. */
export class InvalidDecimalError extends Error {
  public constructor(public readonly text: string) {
    super(`Not a decimal number: ${JSON.stringify(text)}`);
    this.name = 'InvalidDecimalError';
  }
}

type NativeAttributeValue = Parameters<typeof convertToNative>[0];

/**
 * A map of decoded attributes, each an own property whatever its name. Plain assignment (what unmarshall does) turns
 * an attribute named `__proto__` into a prototype change and loses it; a name is whatever a writer of the table
 * chose, so it is defined, never assigned.
 */
function decodeMap(raw: Readonly<Record<string, AttributeValue>>): { [name: string]: DecodedValue } {
  const decoded: { [name: string]: DecodedValue } = {};
  for (const [name, value] of Object.entries(raw)) {
    Object.defineProperty(decoded, name, {
      value: decodeValue(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return decoded;
}

function decodeValue(raw: AttributeValue): DecodedValue {
  if (raw.M !== undefined) return decodeMap(raw.M);
  if (raw.L !== undefined) return raw.L.map(decodeValue);
  // Scalars and sets: the SDK's own conversion. The stream's AttributeValue (binary as base64 text) and the SDK's
  // (binary as Uint8Array) differ only in the type of B, which it passes through untouched.
  return convertToNative(raw as NativeAttributeValue, { wrapNumbers: true }) as DecodedValue;
}

/**
 * Decodes an image or key map, wrapping every number so that none is rounded or turned into a BigInt, and keeping
 * every attribute name, at any depth, as an own property (see decodeMap).
 */
export function decodeItem(raw: RawItem): DecodedItem {
  return decodeMap(raw);
}

const DECIMAL_PATTERN = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const JSON_NUMBER_PATTERN = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** DynamoDB exponents lie within -130..+125; the bound keeps a hostile text from allocating a huge string. */
const MAX_ABS_EXPONENT = 400;

/**
 * Rewrites a number text exactly as a plain decimal (no exponent, no leading zeros, no trailing fractional zeros,
 * no `-0`): `"1.50E+3"` -> `"1500"`, `"-0.0100"` -> `"-0.01"`. Digits are moved, never computed, so nothing is lost.
 */
export function normalizeDecimal(text: string): string {
  const match = DECIMAL_PATTERN.exec(text);
  const [, sign = '', integerDigits = '', fractionDigits = '', exponentText = '0'] = match ?? [];
  const exponent = Number(exponentText);
  if (
    match === null ||
    integerDigits.length + fractionDigits.length === 0 ||
    Math.abs(exponent) > MAX_ABS_EXPONENT
  ) {
    throw new InvalidDecimalError(text);
  }
  const allDigits = integerDigits + fractionDigits;
  const digits = allDigits.replace(/^0+/, '');
  if (digits === '') {
    return '0';
  }
  // Position of the decimal point counted from the left of `digits` (after the leading zeros were dropped).
  const point = integerDigits.length + exponent - (allDigits.length - digits.length);
  let plain: string;
  if (point >= digits.length) {
    plain = digits + '0'.repeat(point - digits.length);
  } else if (point > 0) {
    plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  } else {
    plain = `0.${'0'.repeat(-point)}${digits}`;
  }
  if (plain.includes('.')) {
    plain = plain.replace(/0+$/, '').replace(/\.$/, '');
  }
  return sign === '-' ? `-${plain}` : plain;
}

function numberText(item: DecodedItem, attribute: string): string {
  const value = item[attribute];
  if (value === undefined) {
    throw new PermanentError(`Attribute "${attribute}" is missing`);
  }
  if (!(value instanceof NumberValue)) {
    throw new PermanentError(`Attribute "${attribute}" is not a number`);
  }
  try {
    return normalizeDecimal(value.value);
  } catch (err) {
    throw new PermanentError(
      `Attribute "${attribute}" holds an invalid number ${JSON.stringify(value.value)}`,
      {
        cause: err,
      },
    );
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** The exact JS number of a plain decimal text, or what keeps it from being one. */
function toSafeInteger(plain: string): { value: number } | { problem: string } {
  if (plain.includes('.')) {
    return { problem: `is not an integer: ${plain}` };
  }
  const exact = BigInt(plain);
  if (exact > MAX_SAFE || exact < MIN_SAFE) {
    return { problem: `is outside the safe integer range: ${plain}` };
  }
  return { value: Number(exact) };
}

/**
 * Reads a number attribute as a JS number that is guaranteed exact (an integer within ±(2^53 - 1)), e.g. money in
 * integer cents. Throws PermanentError naming the attribute when it is missing, not a number, not an integer or
 * outside the safe range: such a record cannot be processed correctly however often it is retried.
 */
export function readSafeInteger(item: DecodedItem, attribute: string): number {
  const result = toSafeInteger(numberText(item, attribute));
  if ('problem' in result) {
    throw new PermanentError(`Attribute "${attribute}" ${result.problem}`);
  }
  return result.value;
}

/** Reads a number attribute as its exact decimal text (normalised, see normalizeDecimal), for any size or scale. */
export function readDecimalString(item: DecodedItem, attribute: string): string {
  return numberText(item, attribute);
}

/** Zod schema for a decoded number attribute that must be a safe integer; for domain schemas of images. */
export const safeIntegerAttribute = z.pipe(
  z.instanceof(NumberValue),
  z.transform((number: NumberValue, ctx) => {
    const plain = plainDecimalOrIssue(number, ctx);
    if (plain === undefined) {
      return z.NEVER;
    }
    const integer = toSafeInteger(plain);
    if ('problem' in integer) {
      addCustomIssue(ctx, `Number ${integer.problem}`);
      return z.NEVER;
    }
    return integer.value;
  }),
);

/** Zod schema for a decoded number attribute kept as its exact decimal text; for domain schemas of images. */
export const decimalStringAttribute = z.pipe(
  z.instanceof(NumberValue),
  z.transform((number: NumberValue, ctx) => plainDecimalOrIssue(number, ctx) ?? z.NEVER),
);

function plainDecimalOrIssue(number: NumberValue, ctx: ParsePayload): string | undefined {
  try {
    return normalizeDecimal(number.value);
  } catch (err) {
    addCustomIssue(ctx, err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

/**
 * Fails a transform with `message`. A zod/mini transform is handed the parse payload, which has no `addIssue` (the
 * classic one's did): the issue is pushed as classic's addIssue pushed it, the input included.
 */
function addCustomIssue(ctx: ParsePayload, message: string): void {
  ctx.issues.push({ code: 'custom', message, input: ctx.value });
}

/**
 * JSON.stringify that writes numbers without loss: a `NumberValue` (and a BigInt) becomes a JSON number literal with
 * its exact digits, a Uint8Array (or Buffer) becomes base64 text, a Set becomes an array. JSON.stringify alone
 * writes a NumberValue as `{"value":"..."}` and throws on a BigInt. Readers that parse into JS numbers may still
 * round; readers that keep the text (jq, OpenSearch, Java) do not.
 */
export function toLosslessJson(value: unknown, space?: number): string {
  // Exact number texts are swapped in for unique string tokens after stringifying. The token holds a random UUID,
  // so no string in the data can be mistaken for one.
  const nonce = randomUUID();
  const numbers: string[] = [];
  const token = (text: string): string => {
    numbers.push(JSON_NUMBER_PATTERN.test(text) ? text : normalizeDecimal(text));
    return `${nonce}#${numbers.length - 1}`;
  };
  const json = JSON.stringify(
    value,
    function replace(this: Record<string, unknown>, key: string, converted: unknown): unknown {
      // `this[key]` is the value before its toJSON() ran: a Buffer would otherwise arrive as {type, data}.
      const original = this[key];
      if (original instanceof NumberValue) {
        return token(original.value);
      }
      if (typeof original === 'bigint') {
        return token(original.toString());
      }
      if (original instanceof Uint8Array) {
        return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
      }
      if (original instanceof Set) {
        return [...original];
      }
      return converted;
    },
    space,
  );
  if (numbers.length === 0) {
    return json;
  }
  return json.replace(
    new RegExp(`"${nonce}#(\\d+)"`, 'g'),
    (_match, index: string) => numbers[Number(index)] ?? '',
  );
}
