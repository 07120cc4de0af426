import { normalizeDecimal } from '../../lambdas/shared/stream/lossless.js';

/**
 * A readable deep diff of two item images in DynamoDB's AttributeValue JSON, as the audit log stores them (numbers
 * are `N` texts, binary is base64 text). Pure: the values are never unmarshalled, so a 38-digit number is compared
 * and shown digit for digit, never through a JS number.
 */

/** One AttributeValue in its JSON form: exactly one type descriptor. */
export type AttributeValueJson =
  | { readonly S: string }
  | { readonly N: string }
  | { readonly B: string }
  | { readonly BOOL: boolean }
  | { readonly NULL: true }
  | { readonly SS: readonly string[] }
  | { readonly NS: readonly string[] }
  | { readonly BS: readonly string[] }
  | { readonly L: readonly AttributeValueJson[] }
  | { readonly M: AttributeMapJson };

/** An item image or a map value: attribute name to AttributeValue. */
export type AttributeMapJson = { readonly [name: string]: AttributeValueJson };

/** One difference, at a path such as `status`, `lines[0].qty` or `address.city`. */
export type DiffEntry =
  | { readonly op: 'added'; readonly path: string; readonly newValue: AttributeValueJson }
  | { readonly op: 'removed'; readonly path: string; readonly oldValue: AttributeValueJson }
  | {
      readonly op: 'changed';
      readonly path: string;
      readonly oldValue: AttributeValueJson;
      readonly newValue: AttributeValueJson;
    };

const DESCRIPTORS = ['S', 'N', 'B', 'BOOL', 'NULL', 'SS', 'NS', 'BS', 'L', 'M'] as const;

/**
 * Why a JSON value is not an AttributeValue, or undefined when it is one. `path` names the value in the message.
 * Checked once when a line is read, so that the diff and the rendering can rely on the shape.
 */
export function attributeValueProblem(value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `${path} is not an AttributeValue object`;
  }
  const names = Object.keys(value);
  const [type] = names;
  if (names.length !== 1 || type === undefined || !(DESCRIPTORS as readonly string[]).includes(type)) {
    return `${path} must have exactly one of ${DESCRIPTORS.join(', ')}, has ${JSON.stringify(names)}`;
  }
  const inner = (value as Record<string, unknown>)[type];
  const isStringArray = (candidate: unknown): candidate is string[] =>
    Array.isArray(candidate) && candidate.every((member) => typeof member === 'string');
  switch (type) {
    case 'S':
      return typeof inner === 'string' ? undefined : `${path}.S is not a string`;
    case 'N':
      return typeof inner === 'string' && isDecimal(inner) ? undefined : `${path}.N is not a number text`;
    case 'B':
      return typeof inner === 'string' && isBase64(inner) ? undefined : `${path}.B is not base64 text`;
    case 'BOOL':
      return typeof inner === 'boolean' ? undefined : `${path}.BOOL is not a boolean`;
    case 'NULL':
      return inner === true ? undefined : `${path}.NULL is not true`;
    case 'SS':
      return isStringArray(inner) ? undefined : `${path}.SS is not a list of strings`;
    case 'NS':
      return isStringArray(inner) && inner.every(isDecimal)
        ? undefined
        : `${path}.NS is not a list of number texts`;
    case 'BS':
      return isStringArray(inner) && inner.every(isBase64)
        ? undefined
        : `${path}.BS is not a list of base64 texts`;
    case 'L':
      if (!Array.isArray(inner)) return `${path}.L is not a list`;
      for (const [index, member] of inner.entries()) {
        const problem = attributeValueProblem(member, `${path}[${index}]`);
        if (problem !== undefined) return problem;
      }
      return undefined;
    default:
      return attributeMapProblem(inner, path);
  }
}

/** Why a JSON value is not an attribute map (an image, keys, or the inside of an `M`), or undefined. */
export function attributeMapProblem(value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `${path} is not an attribute map`;
  }
  for (const [name, member] of Object.entries(value)) {
    const problem = attributeValueProblem(member, memberPath(path, name));
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function isDecimal(text: string): boolean {
  try {
    normalizeDecimal(text);
    return true;
  } catch {
    return false;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isBase64(text: string): boolean {
  return BASE64.test(text);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `parent.name`, or `parent["odd name"]` for a name that would not read as one path segment. */
function memberPath(parent: string, name: string): string {
  if (IDENTIFIER.test(name)) return parent === '' ? name : `${parent}.${name}`;
  return `${parent}[${JSON.stringify(name)}]`;
}

/** The one type descriptor of a (checked) AttributeValue and what it holds. */
function typed(value: AttributeValueJson): [(typeof DESCRIPTORS)[number], unknown] {
  const [entry] = Object.entries(value);
  return entry as [(typeof DESCRIPTORS)[number], unknown];
}

/** The exact decimal a number text stands for, so that "1.50", "1.5" and "15E-1" compare equal. */
function decimalKey(text: string): string {
  return normalizeDecimal(text);
}

/** Binary compared by its bytes, not its base64 spelling. */
function binaryKey(base64: string): string {
  return Buffer.from(base64, 'base64').toString('base64');
}

/** The members of a set as comparable keys: a set is unordered and holds each member once. */
function setKeys(type: 'SS' | 'NS' | 'BS', members: readonly string[]): Set<string> {
  if (type === 'NS') return new Set(members.map(decimalKey));
  if (type === 'BS') return new Set(members.map(binaryKey));
  return new Set(members);
}

/** Whether two AttributeValues are the same DynamoDB value (numbers as decimals, sets unordered, maps by name). */
export function sameAttributeValue(a: AttributeValueJson, b: AttributeValueJson): boolean {
  const [typeA, innerA] = typed(a);
  const [typeB, innerB] = typed(b);
  if (typeA !== typeB) return false;
  switch (typeA) {
    case 'S':
    case 'BOOL':
    case 'NULL':
      return innerA === innerB;
    case 'N':
      return decimalKey(innerA as string) === decimalKey(innerB as string);
    case 'B':
      return binaryKey(innerA as string) === binaryKey(innerB as string);
    case 'SS':
    case 'NS':
    case 'BS': {
      const keysA = setKeys(typeA, innerA as string[]);
      const keysB = setKeys(typeA, innerB as string[]);
      return keysA.size === keysB.size && [...keysA].every((key) => keysB.has(key));
    }
    case 'L': {
      const listA = innerA as AttributeValueJson[];
      const listB = innerB as AttributeValueJson[];
      return (
        listA.length === listB.length &&
        listA.every((member, index) => sameAttributeValue(member, listB[index] as AttributeValueJson))
      );
    }
    default: {
      const mapA = innerA as AttributeMapJson;
      const mapB = innerB as AttributeMapJson;
      const names = Object.keys(mapA);
      return (
        names.length === Object.keys(mapB).length &&
        names.every((name) => {
          const other = mapB[name];
          return other !== undefined && sameAttributeValue(mapA[name] as AttributeValueJson, other);
        })
      );
    }
  }
}

function diffValues(
  path: string,
  oldValue: AttributeValueJson,
  newValue: AttributeValueJson,
  out: DiffEntry[],
): void {
  if (sameAttributeValue(oldValue, newValue)) return;
  const [oldType, oldInner] = typed(oldValue);
  const [newType, newInner] = typed(newValue);
  if (oldType === 'M' && newType === 'M') {
    diffMaps(path, oldInner as AttributeMapJson, newInner as AttributeMapJson, out);
    return;
  }
  if (oldType === 'L' && newType === 'L') {
    // Index by index: an element inserted at the front shows as every later element changed, which is what the list
    // now holds at each index; a smarter alignment would guess at intent the record does not carry.
    const oldList = oldInner as AttributeValueJson[];
    const newList = newInner as AttributeValueJson[];
    for (let index = 0; index < Math.max(oldList.length, newList.length); index += 1) {
      const before = oldList[index];
      const after = newList[index];
      const at = `${path}[${index}]`;
      if (before === undefined && after !== undefined) out.push({ op: 'added', path: at, newValue: after });
      else if (before !== undefined && after === undefined)
        out.push({ op: 'removed', path: at, oldValue: before });
      else if (before !== undefined && after !== undefined) diffValues(at, before, after, out);
    }
    return;
  }
  out.push({ op: 'changed', path, oldValue, newValue });
}

function diffMaps(path: string, oldMap: AttributeMapJson, newMap: AttributeMapJson, out: DiffEntry[]): void {
  const names = [...new Set([...Object.keys(oldMap), ...Object.keys(newMap)])].sort();
  for (const name of names) {
    const before = oldMap[name];
    const after = newMap[name];
    const at = memberPath(path, name);
    if (before === undefined && after !== undefined) out.push({ op: 'added', path: at, newValue: after });
    else if (before !== undefined && after === undefined)
      out.push({ op: 'removed', path: at, oldValue: before });
    else if (before !== undefined && after !== undefined) diffValues(at, before, after, out);
  }
}

/**
 * The differences from `oldImage` to `newImage`, attributes in name order, nested maps and lists down to the value
 * that changed. A missing image counts as empty: an INSERT lists every attribute as added, a REMOVE every one as
 * removed. Values equal as DynamoDB values (see sameAttributeValue) are no change.
 */
export function diffImages(
  oldImage: AttributeMapJson | undefined,
  newImage: AttributeMapJson | undefined,
): DiffEntry[] {
  const out: DiffEntry[] = [];
  diffMaps('', oldImage ?? {}, newImage ?? {}, out);
  return out;
}

/**
 * Orders number texts by value without converting them to JS numbers: sign, then the digits of the normalised
 * plain decimals (integer digits by count, then digit by digit).
 */
export function compareDecimals(a: string, b: string): number {
  const plainA = normalizeDecimal(a);
  const plainB = normalizeDecimal(b);
  const negativeA = plainA.startsWith('-');
  const negativeB = plainB.startsWith('-');
  if (negativeA !== negativeB) return negativeA ? -1 : 1;
  const magnitude = compareMagnitudes(plainA.replace(/^-/, ''), plainB.replace(/^-/, ''));
  return negativeA ? -magnitude : magnitude;
}

function compareMagnitudes(a: string, b: string): number {
  const [integerA = '', fractionA = ''] = a.split('.');
  const [integerB = '', fractionB = ''] = b.split('.');
  // normalizeDecimal leaves no leading zeros except a lone "0", so a longer integer part is a larger number.
  if (integerA.length !== integerB.length) return integerA.length < integerB.length ? -1 : 1;
  const width = Math.max(fractionA.length, fractionB.length);
  const digitsA = integerA + fractionA.padEnd(width, '0');
  const digitsB = integerB + fractionB.padEnd(width, '0');
  return digitsA === digitsB ? 0 : digitsA < digitsB ? -1 : 1;
}

function renderBinary(base64: string): string {
  const bytes = Buffer.from(base64, 'base64').byteLength;
  return `<binary ${bytes} ${bytes === 1 ? 'byte' : 'bytes'}>`;
}

function renderName(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

/**
 * An AttributeValue as text: S as a JSON string, N as its exact text, BOOL, NULL as `null`, B as `<binary N bytes>`,
 * sets as `{a, b}` (members in value order, so equal sets read the same), L as `[a, b]`, M as `{name: value}` (names
 * in order).
 */
export function renderAttributeValue(value: AttributeValueJson): string {
  const [type, inner] = typed(value);
  switch (type) {
    case 'S':
      return JSON.stringify(inner);
    case 'N':
      return inner as string;
    case 'B':
      return renderBinary(inner as string);
    case 'BOOL':
      return String(inner);
    case 'NULL':
      return 'null';
    case 'SS':
      return `{${[...(inner as string[])]
        .sort()
        .map((member) => JSON.stringify(member))
        .join(', ')}}`;
    case 'NS':
      return `{${[...(inner as string[])].sort(compareDecimals).join(', ')}}`;
    case 'BS':
      return `{${[...(inner as string[])]
        .sort((x, y) => Buffer.compare(Buffer.from(x, 'base64'), Buffer.from(y, 'base64')))
        .map(renderBinary)
        .join(', ')}}`;
    case 'L':
      return `[${(inner as AttributeValueJson[]).map(renderAttributeValue).join(', ')}]`;
    default: {
      const map = inner as AttributeMapJson;
      const members = Object.keys(map)
        .sort()
        .map((name) => `${renderName(name)}: ${renderAttributeValue(map[name] as AttributeValueJson)}`);
      return `{${members.join(', ')}}`;
    }
  }
}

/** One diff entry as a line: `~ status: "PLACED" -> "SHIPPED"`, `+ note: "gift"`, `- coupon: "X"`. */
export function renderDiffEntry(entry: DiffEntry): string {
  switch (entry.op) {
    case 'added':
      return `+ ${entry.path}: ${renderAttributeValue(entry.newValue)}`;
    case 'removed':
      return `- ${entry.path}: ${renderAttributeValue(entry.oldValue)}`;
    default:
      return `~ ${entry.path}: ${renderAttributeValue(entry.oldValue)} -> ${renderAttributeValue(entry.newValue)}`;
  }
}
