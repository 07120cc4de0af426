import { gunzipSync } from 'node:zlib';
import { NumberValueImpl as NumberValue, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { type AuditLine, encodeAuditObject, toAuditLine } from '../../../lambdas/audit-log/audit-line.js';
import { toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import { createStreamRecordFactory, type NativeItem } from '../../support/stream-records.js';

/** mulberry32: a small seeded PRNG, so every run generates the same items. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

const int = (random: Random, max: number): number => Math.floor(random() * max);
const digits = (random: Random, count: number): string =>
  Array.from({ length: count }, () => String(int(random, 10))).join('');

/** A DynamoDB number text: up to 38 significant digits, integers beyond 2^64, fractions, tiny and huge exponents. */
function numberText(random: Random): string {
  const sign = random() < 0.3 ? '-' : '';
  const head = String(1 + int(random, 9));
  switch (int(random, 5)) {
    case 0:
      return sign + head + digits(random, 37); // 38 significant digits
    case 1:
      return sign + head + digits(random, 19 + int(random, 18)); // beyond 2^64
    case 2:
      return `${sign}${head}.${digits(random, int(random, 36))}${head}`; // decimal, up to 38 digits
    case 3:
      return `${sign}0.${'0'.repeat(int(random, 100))}${head}${digits(random, int(random, 30))}`; // tiny
    default:
      return String(int(random, 1_000_000) - 500_000); // small integer
  }
}

function text(random: Random): string {
  const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', '€', '😀', '\u0000', '/'];
  return Array.from({ length: 1 + int(random, 12) }, () => alphabet[int(random, alphabet.length)]).join('');
}

function bytes(random: Random): Uint8Array {
  return Uint8Array.from({ length: 1 + int(random, 24) }, () => int(random, 256));
}

/** Distinct members for a set: DynamoDB sets hold no duplicates and are never empty. */
function distinct<T>(random: Random, make: (random: Random) => T, key: (value: T) => string): T[] {
  const members = new Map<string, T>();
  for (let i = 0; i < 1 + int(random, 5); i += 1) {
    const value = make(random);
    members.set(key(value), value);
  }
  return [...members.values()];
}

const SCALARS = ['S', 'N', 'B', 'NULL', 'BOOL', 'SS', 'NS', 'BS'] as const;
type ValueType = (typeof SCALARS)[number] | 'M' | 'L';
const ALL_TYPES: readonly ValueType[] = [...SCALARS, 'M', 'L'];

function value(random: Random, type: ValueType, depth: number): unknown {
  switch (type) {
    case 'S':
      return random() < 0.1 ? '' : text(random);
    case 'N':
      return new NumberValue(numberText(random));
    case 'B':
      return bytes(random);
    case 'NULL':
      return null;
    case 'BOOL':
      return random() < 0.5;
    case 'SS':
      return new Set(distinct(random, text, (member) => member));
    case 'NS':
      return new Set(
        distinct(
          random,
          (r) => new NumberValue(numberText(r)),
          (member) => member.value,
        ),
      );
    case 'BS':
      return new Set(distinct(random, bytes, (member) => Buffer.from(member).toString('base64')));
    case 'M':
      return Object.fromEntries(
        Array.from({ length: int(random, 4) }, (_, i) => [`k${i}${text(random)}`, nested(random, depth + 1)]),
      );
    case 'L':
      return Array.from({ length: int(random, 4) }, () => nested(random, depth + 1));
  }
}

function nested(random: Random, depth: number): unknown {
  const types = depth >= 3 ? SCALARS : ALL_TYPES;
  return value(random, types[int(random, types.length)] ?? 'S', depth);
}

/** An item with one attribute of every type at the top level, plus random nested ones. */
function generateItem(random: Random, index: number): NativeItem {
  const item: Record<string, unknown> = { orderId: `order-${index}` };
  for (const type of ALL_TYPES) item[`attr${type}`] = value(random, type, 0);
  for (let i = 0; i < int(random, 4); i += 1) item[`extra${i}`] = nested(random, 1);
  return item as NativeItem;
}

/** The line's AttributeValue JSON with binary turned back from base64 into bytes, as unmarshall expects of the SDK. */
function withBinary(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withBinary);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([type, inner]) => {
        if (type === 'B' && typeof inner === 'string') return [type, fromBase64(inner)];
        if (type === 'BS' && Array.isArray(inner)) return [type, inner.map((b: string) => fromBase64(b))];
        return [type, withBinary(inner)];
      }),
    );
  }
  return value;
}

function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function readLines(body: Buffer): AuditLine[] {
  const text = gunzipSync(body).toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as AuditLine);
}

function imageOf(image: AuditLine['newImage']): Record<string, unknown> {
  expect(image).toBeDefined();
  return unmarshall(withBinary(image) as Parameters<typeof unmarshall>[0], { wrapNumbers: true });
}

/** Every NumberValue text of a value, in a stable order, to compare digits exactly. */
function numberTexts(value: unknown): string[] {
  if (value instanceof NumberValue) return [value.value];
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return [];
  if (value instanceof Set) return [...value].flatMap(numberTexts).sort();
  if (Array.isArray(value)) return value.flatMap(numberTexts);
  return Object.keys(value)
    .sort()
    .flatMap((key) => numberTexts((value as Record<string, unknown>)[key]));
}

describe.each([1, 7, 2024])('lossless round trip, seed %i', (seed) => {
  const ITEMS = 60;

  it.each([
    ['INSERT', 'newImage'],
    ['MODIFY', 'newImage'],
    ['REMOVE', 'oldImage'],
  ] as const)('%s: unmarshalling the %s of each line gives back the item written', (eventName, field) => {
    // Prepare
    const random = seededRandom(seed);
    const factory = createStreamRecordFactory();
    const items = Array.from({ length: ITEMS }, (_, index) => generateItem(random, index));
    const records = items.map((item, index) => {
      if (eventName === 'INSERT') return factory.insert(item);
      if (eventName === 'MODIFY') return factory.modify({ orderId: `order-${index}`, before: true }, item);
      return factory.remove(item);
    });

    // Act
    const body = encodeAuditObject(records.map((record) => toAuditLine(toChangeRecord(record))));

    // Assess
    const lines = readLines(body);
    expect(lines).toHaveLength(ITEMS);
    lines.forEach((line, index) => {
      const item = items[index];
      expect(line.sequenceNumber).toBe(records[index]?.dynamodb?.SequenceNumber);
      expect(line[field]).toStrictEqual(
        records[index]?.dynamodb?.[field === 'newImage' ? 'NewImage' : 'OldImage'],
      );
      const roundTripped = imageOf(line[field]);
      expect(roundTripped).toEqual(item);
      expect(numberTexts(roundTripped)).toStrictEqual(numberTexts(item));
    });
  });

  it('covers every AttributeValue type, 38-digit and beyond-2^64 numbers', () => {
    // Prepare
    const random = seededRandom(seed);
    const factory = createStreamRecordFactory();

    // Act
    const text = JSON.stringify(
      Array.from(
        { length: ITEMS },
        (_, index) => factory.insert(generateItem(random, index)).dynamodb?.NewImage,
      ),
    );

    // Assess
    for (const type of ['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL']) {
      expect(text).toContain(`"${type}":`);
    }
    expect(text).toMatch(/"N":"-?[1-9]\d{37}"/);
    expect(text).toMatch(/"N":"-?[1-9]\d{20,}"/);
  });
});
