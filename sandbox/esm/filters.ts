import type { DynamoDBRecord } from 'aws-lambda';
import type { FilterPattern } from './types.js';

/**
 * Lambda event filtering (FilterCriteria) for DynamoDB stream records, as the local ESM runner applies it: a record
 * is delivered when any pattern matches it, and dropped otherwise.
 *
 * Only the subset of the syntax that DynamoDB stream filters use is implemented: exact values, nested keys, `exists`,
 * `prefix`, `anything-but` (a value or a list of values), `numeric`, `equals-ignore-case` and `$or`. Anything else
 * (`suffix`, `wildcard`, `cidr`, `anything-but` with a nested operator, a bare value instead of a list...) throws
 * UnsupportedFilterError at compile time: a pattern the sandbox silently misread would deliver different records
 * locally than Lambda does once deployed.
 *
 * Matching follows the event-pattern rules Lambda documents:
 * - pattern fields are ANDed, the values in a field's list are ORed, patterns are ORed;
 * - values are compared with their JSON type: `"5"` never equals `5`, and `numeric` only matches JSON numbers. A
 *   DynamoDB number is a string in the record (`{ "N": "5" }`), so a numeric rule on `.N` matches nothing, in Lambda
 *   as here;
 * - `exists` only looks at leaf values: `{ "status": [{ "exists": true }] }` on `NewImage` never matches, because
 *   `status` holds `{ "S": ... }`; the pattern must reach the leaf (`status.S`);
 * - an array in the record matches when any of its elements does.
 */

/** A compiled set of filter patterns. */
export type RecordFilter = (record: DynamoDBRecord) => boolean;

/** Thrown when a filter pattern uses syntax the local runner does not implement or that Lambda would refuse. */
export class UnsupportedFilterError extends Error {
  public constructor(
    public readonly pattern: unknown,
    public readonly path: string,
    detail: string,
  ) {
    super(
      `Unsupported filter pattern ${JSON.stringify(pattern)} at ${path === '' ? '(root)' : path}: ${detail}`,
    );
    this.name = 'UnsupportedFilterError';
  }
}

/** Matches the candidate values found at one level of the record (several when the record holds arrays). */
type Matcher = (candidates: readonly unknown[]) => boolean;
type LeafRule = (leaves: readonly unknown[]) => boolean;

const NUMERIC_OPERATORS: Readonly<Record<string, (value: number, bound: number) => boolean>> = {
  '=': (value, bound) => value === bound,
  '<': (value, bound) => value < bound,
  '<=': (value, bound) => value <= bound,
  '>': (value, bound) => value > bound,
  '>=': (value, bound) => value >= bound,
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** Arrays in the record stand for each of their elements, at any depth. */
function flatten(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flatMap(flatten) : [value];
}

/** The values under `key` of every candidate object (arrays flattened); absent keys contribute nothing. */
function childValues(candidates: readonly unknown[], key: string): unknown[] {
  return candidates.flatMap((candidate) =>
    isPlainObject(candidate) && Object.hasOwn(candidate, key) ? flatten(candidate[key]) : [],
  );
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Compiles Lambda filter patterns (the parsed JSON of `FilterCriteria.Filters[].Pattern`) into one predicate; an
 * empty list lets every record through, as a mapping without FilterCriteria does.
 */
export function compileFilters(patterns: readonly FilterPattern[]): RecordFilter {
  if (patterns.length === 0) {
    return () => true;
  }
  const matchers = patterns.map((pattern) => {
    if (!isPlainObject(pattern)) {
      throw new UnsupportedFilterError(pattern, '', 'a pattern must be a JSON object');
    }
    return compileObject(pattern, pattern, '');
  });
  return (record) => matchers.some((matches) => matches([record]));
}

/** An object pattern: every field must match (AND); `$or` holds alternative sub-patterns of the same level. */
function compileObject(root: FilterPattern, pattern: Record<string, unknown>, path: string): Matcher {
  const entries = Object.entries(pattern);
  if (entries.length === 0) {
    throw new UnsupportedFilterError(root, path, 'an empty object matches nothing useful; remove it');
  }
  const fields: Matcher[] = entries.map(([key, value]) => {
    const fieldPath = join(path, key);
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isPlainObject)) {
        throw new UnsupportedFilterError(root, fieldPath, '$or takes a list of at least two object patterns');
      }
      const alternatives = value.map((alternative) => compileObject(root, alternative, path));
      return (candidates) => alternatives.some((matches) => matches(candidates));
    }
    if (Array.isArray(value)) {
      const rule = compileLeafRules(root, value, fieldPath);
      return (candidates) => rule(childValues(candidates, key).filter((child) => !isPlainObject(child)));
    }
    if (isPlainObject(value)) {
      const nested = compileObject(root, value, fieldPath);
      // No children when the key is absent: the nested fields then see no values, so only `exists: false` matches.
      return (candidates) => nested(childValues(candidates, key).filter(isPlainObject));
    }
    throw new UnsupportedFilterError(
      root,
      fieldPath,
      `a field's values must be a list (write [${JSON.stringify(value)}]) or a nested object`,
    );
  });
  return (candidates) => fields.every((matches) => matches(candidates));
}

/** A field's list of values and operators: the field matches when any of them does (OR). */
function compileLeafRules(root: FilterPattern, rules: readonly unknown[], path: string): LeafRule {
  if (rules.length === 0) {
    throw new UnsupportedFilterError(root, path, 'an empty list matches nothing; list at least one value');
  }
  const compiled = rules.map((rule) => compileLeafRule(root, rule, path));
  return (leaves) => compiled.some((matches) => matches(leaves));
}

function compileLeafRule(root: FilterPattern, rule: unknown, path: string): LeafRule {
  if (isScalar(rule)) {
    return (leaves) => leaves.some((leaf) => leaf === rule);
  }
  if (!isPlainObject(rule)) {
    throw new UnsupportedFilterError(
      root,
      path,
      `${JSON.stringify(rule)} is neither a value nor an operator`,
    );
  }
  const operators = Object.keys(rule);
  const operator = operators[0];
  if (operators.length !== 1 || operator === undefined) {
    throw new UnsupportedFilterError(root, path, 'an operator object holds exactly one operator');
  }
  const argument = rule[operator];
  switch (operator) {
    case 'exists': {
      if (typeof argument !== 'boolean') {
        throw new UnsupportedFilterError(root, path, 'exists takes true or false');
      }
      return (leaves) => leaves.length > 0 === argument;
    }
    case 'prefix': {
      if (typeof argument !== 'string') {
        throw new UnsupportedFilterError(
          root,
          path,
          'prefix takes a string (nested operators are not supported)',
        );
      }
      return (leaves) => leaves.some((leaf) => typeof leaf === 'string' && leaf.startsWith(argument));
    }
    case 'equals-ignore-case': {
      if (typeof argument !== 'string') {
        throw new UnsupportedFilterError(root, path, 'equals-ignore-case takes a string');
      }
      const expected = argument.toLowerCase();
      return (leaves) => leaves.some((leaf) => typeof leaf === 'string' && leaf.toLowerCase() === expected);
    }
    case 'anything-but': {
      const excluded = Array.isArray(argument) ? argument : [argument];
      if (
        excluded.length === 0 ||
        !excluded.every((value) => typeof value === 'string' || typeof value === 'number')
      ) {
        throw new UnsupportedFilterError(
          root,
          path,
          'anything-but takes a string, a number or a list of them (nested operators are not supported)',
        );
      }
      // Like Lambda, anything-but needs the field to be present: a missing field is not "anything but X".
      return (leaves) => leaves.some((leaf) => !excluded.includes(leaf as string | number));
    }
    case 'numeric':
      return compileNumeric(root, argument, path);
    default:
      throw new UnsupportedFilterError(
        root,
        path,
        `operator "${operator}" is not supported by the local runner`,
      );
  }
}

/** `{ "numeric": [">", 0, "<=", 5] }`: one or two comparisons, all of which a JSON number must satisfy. */
function compileNumeric(root: FilterPattern, argument: unknown, path: string): LeafRule {
  if (!Array.isArray(argument) || (argument.length !== 2 && argument.length !== 4)) {
    throw new UnsupportedFilterError(root, path, 'numeric takes [op, number] or [op, number, op, number]');
  }
  const comparisons: Array<(value: number) => boolean> = [];
  for (let index = 0; index < argument.length; index += 2) {
    const operator = argument[index];
    const bound = argument[index + 1];
    const compare = typeof operator === 'string' ? NUMERIC_OPERATORS[operator] : undefined;
    if (compare === undefined || typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new UnsupportedFilterError(
        root,
        path,
        `numeric comparison ${JSON.stringify([operator, bound])} needs one of = < <= > >= and a finite number`,
      );
    }
    comparisons.push((value) => compare(value, bound));
  }
  return (leaves) =>
    leaves.some((leaf) => typeof leaf === 'number' && comparisons.every((satisfied) => satisfied(leaf)));
}
