import fc from 'fast-check';

/**
 * What a writer of a table may put into an item that JavaScript or DynamoDB treat specially (issue 12), for the
 * property tests: attribute names that are prototype members, expression syntax or odd text, and numbers of up to
 * 38 digits. Maps are kept as entry lists and written to JSON entry by entry, so that JSON.parse makes every name,
 * `__proto__` included, an own property, as Lambda's event parsing does.
 */

/** Names objects treat specially, names DynamoDB expressions treat specially, odd text and type descriptors. */
export const HOSTILE_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineSetter__',
  'then',
  'a.b',
  '.',
  '#',
  '#x',
  ':y',
  '[0]',
  'with space',
  'ü-ñ',
  '\u200b',
  '😀',
  'N',
  'S',
  'M',
] as const;

/** A hostile name, any short text, or a long one (up to 255 characters). */
export const hostileName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...HOSTILE_NAMES),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.string({ minLength: 200, maxLength: 255 }),
);

/** 38-digit decimals: 19 digits before the point and 19 after. */
const decimalText = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 19n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 19n - 1n }))
  .map(([whole, fraction]) => `${whole}.${String(fraction).padStart(19, '0')}`);

/** A DynamoDB number text: integers up to 38 digits either way, and 38-digit decimals. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n }).map(String),
  decimalText,
);

/** A DynamoDB number text no JavaScript number holds exactly: integers past ±2^53 up to 38 digits, 38-digit decimals. */
export const unsafeNumberText: fc.Arbitrary<string> = fc.oneof(
  fc.bigInt({ min: 2n ** 53n + 1n, max: 10n ** 38n - 1n }).map(String),
  fc.bigInt({ min: -(10n ** 38n) + 1n, max: -(2n ** 53n) - 1n }).map(String),
  decimalText,
);

/** An AttributeValue as Lambda's event JSON has it; maps are entry lists, so that `__proto__` survives as a key. */
export type Wire =
  | { readonly S: string }
  | { readonly N: string }
  | { readonly BOOL: boolean }
  | { readonly L: readonly Wire[] }
  | { readonly M: readonly (readonly [string, Wire])[] };

/** Any value: strings, numbers of numberText, booleans, and lists and maps of them (hostile names) a few levels deep. */
export const hostileWire: fc.Arbitrary<Wire> = fc.letrec<{ value: Wire }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 8 }).map((S) => ({ S })),
    numberText.map((N) => ({ N })),
    fc.boolean().map((BOOL) => ({ BOOL })),
    fc.array(tie('value'), { maxLength: 3 }).map((L) => ({ L })),
    fc
      .uniqueArray(fc.tuple(hostileName, tie('value')), { selector: ([name]) => name, maxLength: 4 })
      .map((M) => ({ M })),
  ),
})).value;

/** An image's attributes as entries: up to 8 hostile names, each once, with any values. */
export const hostileImage: fc.Arbitrary<[string, Wire][]> = fc.uniqueArray(
  fc.tuple(hostileName, hostileWire),
  {
    selector: ([name]) => name,
    maxLength: 8,
  },
);

/** The JSON text of a value, maps written entry by entry: JSON.parse then keeps every name an own key. */
export function wireJson(value: Wire): string {
  if ('M' in value) return `{"M":${mapJson(value.M)}}`;
  if ('L' in value) return `{"L":[${value.L.map(wireJson).join(',')}]}`;
  return JSON.stringify(value);
}

/** The JSON text of an image (or map) given as entries. */
export function mapJson(entries: readonly (readonly [string, Wire])[]): string {
  return `{${entries.map(([name, value]) => `${JSON.stringify(name)}:${wireJson(value)}`).join(',')}}`;
}
