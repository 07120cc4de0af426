import {
  type FieldMapping,
  fieldAt,
  type IndexMappings,
  type OpenSearchErrorCause,
  parseDateValue,
} from './mappings.js';
import type { StoredDocument } from './versioned-index.js';

/**
 * The `_search` and `_count` subset of the local OpenSearch: the query DSL the project's code sends (the API's
 * search of the `orders` index) and a little around it, evaluated over an index's live documents with OpenSearch's
 * semantics where they decide what matches and in which order:
 *
 * - queries: `match_all`, `match_none`, `bool` (`must`, `filter`, `should` with `minimum_should_match`,
 *   `must_not`), `term`, `terms`, `ids`, `exists`, `range`, `prefix`, `match`, `multi_match` (`best_fields`,
 *   `most_fields`, `phrase`), `simple_query_string` (terms, `+`/`-` prefixes, `"phrases"`, trailing `*`; or literal
 *   with `flags: NONE`);
 * - fields: `keyword` values match whole (a `term` is never analyzed; `match` queries a keyword field with the whole
 *   query text, `simple_query_string` with each whitespace-separated term), `text` values are analyzed by an
 *   approximation of the standard analyzer (lowercased words; `.` and `'` between letters or digits keep a word
 *   together, so `ada@example.com` is `ada`, `example.com`), numbers, dates and booleans are compared as values;
 *   multi-fields (`customerEmail.raw`) and object paths (`lines.sku`, any element of an array) resolve as in
 *   OpenSearch; a non-numeric text against a numeric or date field is a 400 unless `lenient`;
 * - `sort` on keyword, numeric, date and boolean fields, `_score` and `_doc` (a text field or `_id` is a 400, as in
 *   OpenSearch 2.x), missing values last, `search_after` (sort values as the hits carry them: epoch millis for
 *   dates), `size`, `from`, `_source` filtering, `track_total_hits`, `version`.
 *
 * Strict by design: a construct outside this subset is a 400 `local_server_unsupported_exception` naming it, never a
 * query that silently matches everything; a malformed one is the 400 OpenSearch gives (`parsing_exception`,
 * `illegal_argument_exception`, ...). Scores are not BM25: a hit scores the number of query clauses and terms it
 * matched, which orders hits of a relevance search plausibly and is never used when a sort is given. Searches see
 * every accepted write at once (no refresh interval).
 */

/** A search the server refuses: the status and the error it answers with. */
export class SearchRequestError extends Error {
  public readonly status: number;
  public readonly errorCause: OpenSearchErrorCause;

  public constructor(status: number, errorCause: OpenSearchErrorCause) {
    super(errorCause.reason);
    this.name = 'SearchRequestError';
    this.status = status;
    this.errorCause = errorCause;
  }
}

function unsupported(what: string): SearchRequestError {
  return new SearchRequestError(400, {
    type: 'local_server_unsupported_exception',
    reason: `${what} is not supported by the local OpenSearch (sandbox/opensearch/search.ts): extend it, or change the query`,
  });
}

function parsing(reason: string): SearchRequestError {
  return new SearchRequestError(400, { type: 'parsing_exception', reason });
}

function illegal(reason: string): SearchRequestError {
  return new SearchRequestError(400, { type: 'illegal_argument_exception', reason });
}

function queryShard(reason: string): SearchRequestError {
  return new SearchRequestError(400, { type: 'query_shard_exception', reason });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The one key of a `{ "<name>": {...} }` clause, refusing anything else. */
function singleKey(clause: unknown, where: string): [string, unknown] {
  if (!isRecord(clause)) throw parsing(`[${where}] query malformed, expected an object`);
  const keys = Object.keys(clause);
  if (keys.length !== 1) {
    throw parsing(`[${where}] query malformed, expected exactly one key, found [${keys.join(', ')}]`);
  }
  return [keys[0]!, clause[keys[0]!]];
}

function checkKeys(body: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(body).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw parsing(`[${where}] query does not support [${unknown}]`);
}

// ---------------------------------------------------------------------------------------------------------------
// Analysis and field values

/** Words as the standard analyzer approximately makes them: see the module comment. */
export function analyze(text: string): string[] {
  return [...text.matchAll(/[\p{L}\p{N}_]+(?:['.][\p{L}\p{N}_]+)*/gu)].map((match) => match[0].toLowerCase());
}

/** The values at a dotted path of a source, arrays flattened (`lines.sku` -> every line's SKU). */
function valuesAt(source: unknown, segments: readonly string[]): unknown[] {
  if (source === null || source === undefined) return [];
  if (Array.isArray(source)) return source.flatMap((element) => valuesAt(element, segments));
  if (segments.length === 0) return [source];
  if (!isRecord(source)) return [];
  return valuesAt(source[segments[0]!], segments.slice(1));
}

/** A field of the search: its mapping and how to read its values from a source. */
interface ResolvedField {
  readonly path: string;
  readonly mapping: FieldMapping;
  values(source: Readonly<Record<string, unknown>>): unknown[];
}

/** Resolves a field name against the mappings; undefined when it is not mapped (it then matches nothing). */
function resolveField(mappings: IndexMappings, path: string): ResolvedField | undefined {
  const mapping = fieldAt(mappings, path);
  if (mapping === undefined) return undefined;
  // A multi-field (`customerEmail.raw`) reads its parent's value: find the longest prefix that is a real property.
  const segments = path.split('.');
  let sourceSegments = segments;
  for (let length = segments.length; length > 0; length -= 1) {
    const prefix = segments.slice(0, length).join('.');
    const field = fieldAt(mappings, prefix);
    const parent = length > 1 ? fieldAt(mappings, segments.slice(0, length - 1).join('.')) : undefined;
    const isMultiField =
      parent?.fields?.[segments[length - 1]!] !== undefined && parent.properties === undefined;
    if (field !== undefined && !isMultiField) {
      sourceSegments = segments.slice(0, length);
      break;
    }
  }
  return {
    path,
    mapping,
    values: (source) => valuesAt(source, sourceSegments).filter((value) => value !== null),
  };
}

/** The indexed terms of a keyword value (none when over `ignore_above`). */
function keywordTerms(mapping: FieldMapping, value: unknown): string[] {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return [];
  const text = String(value);
  return mapping.ignoreAbove !== undefined && text.length > mapping.ignoreAbove ? [] : [text];
}

/** A query value as a number for a numeric or date field; throws (unless lenient) when it is not one. */
function numericQueryValue(field: ResolvedField, value: unknown, lenient: boolean): number | undefined {
  let number: number | undefined;
  if (field.mapping.type === 'date') {
    number = parseDateValue(value, field.mapping.format);
  } else if (field.mapping.type === 'boolean') {
    number = value === true || value === 'true' ? 1 : value === false || value === 'false' ? 0 : undefined;
  } else {
    const parsed =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value)
          : Number.NaN;
    number = Number.isFinite(parsed) ? parsed : undefined;
  }
  if (number === undefined && !lenient) {
    throw queryShard(
      `failed to create query: cannot parse [${String(value)}] as a value of field [${field.path}] of type [${field.mapping.type}]`,
    );
  }
  return number;
}

function documentNumber(field: ResolvedField, value: unknown): number | undefined {
  if (field.mapping.type === 'date') return parseDateValue(value, field.mapping.format);
  if (field.mapping.type === 'boolean')
    return value === true || value === 'true' ? 1 : value === false || value === 'false' ? 0 : undefined;
  const parsed = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

const isNumericType = (type: FieldMapping['type']): boolean =>
  ['long', 'integer', 'short', 'byte', 'double', 'float', 'date', 'boolean'].includes(type);

/** Whether one field of the source holds the exact term (a `term` query: never analyzed). */
function fieldHasTerm(
  field: ResolvedField,
  source: Readonly<Record<string, unknown>>,
  term: unknown,
  caseInsensitive: boolean,
  lenient: boolean,
): boolean {
  const { type } = field.mapping;
  if (type === 'object' || type === 'nested') throw queryShard(`[term] on an object field [${field.path}]`);
  if (isNumericType(type)) {
    const wanted = numericQueryValue(field, term, lenient);
    if (wanted === undefined) return false;
    return field.values(source).some((value) => documentNumber(field, value) === wanted);
  }
  if (typeof term !== 'string' && typeof term !== 'number' && typeof term !== 'boolean') {
    throw parsing(`[term] query on [${field.path}] needs a string, number or boolean value`);
  }
  const wanted = caseInsensitive ? String(term).toLowerCase() : String(term);
  const normalize = (text: string): string => (caseInsensitive ? text.toLowerCase() : text);
  if (type === 'text') {
    return field
      .values(source)
      .some((value) => analyze(String(value)).some((token) => normalize(token) === wanted));
  }
  return field
    .values(source)
    .some((value) => keywordTerms(field.mapping, value).some((text) => normalize(text) === wanted));
}

/**
 * How well one field matches a full-text query text: the number of query terms it holds; `operator: and` needs
 * every term. A keyword field takes the text as one term (the `keyword` analyzer); `phrase` on a text field needs
 * the terms in a row.
 */
function fieldMatchesText(
  field: ResolvedField,
  source: Readonly<Record<string, unknown>>,
  terms: readonly string[],
  options: {
    readonly operator: 'and' | 'or';
    readonly phrase: boolean;
    readonly lenient: boolean;
    readonly prefix?: boolean;
  },
): number {
  const { type } = field.mapping;
  if (isNumericType(type)) {
    const whole = terms.join(' ');
    const wanted = numericQueryValue(field, whole, options.lenient);
    if (wanted === undefined) return 0;
    return field.values(source).some((value) => documentNumber(field, value) === wanted) ? 1 : 0;
  }
  if (type === 'object' || type === 'nested') return 0;
  if (type === 'keyword') {
    const values = field.values(source).flatMap((value) => keywordTerms(field.mapping, value));
    const matches = (term: string): boolean =>
      values.some((value) => (options.prefix ? value.startsWith(term) : value === term));
    const hits = terms.filter(matches).length;
    return options.operator === 'and' && hits < terms.length ? 0 : hits;
  }
  // text
  const analyzedTerms = terms.flatMap(analyze);
  if (analyzedTerms.length === 0) return 0;
  const documents = field.values(source).map((value) => analyze(String(value)));
  if (options.phrase) {
    return documents.some((tokens) => containsSequence(tokens, analyzedTerms)) ? analyzedTerms.length : 0;
  }
  const tokens = new Set(documents.flat());
  const has = (term: string): boolean =>
    options.prefix ? [...tokens].some((token) => token.startsWith(term)) : tokens.has(term);
  const hits = analyzedTerms.filter(has).length;
  return options.operator === 'and' && hits < analyzedTerms.length ? 0 : hits;
}

function containsSequence(tokens: readonly string[], sequence: readonly string[]): boolean {
  for (let start = 0; start + sequence.length <= tokens.length; start += 1) {
    if (sequence.every((term, offset) => tokens[start + offset] === term)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Query compilation

/** A compiled query: the score of a document, 0 when it does not match. */
type Matcher = (document: SearchableDocument) => number;

/** A live document as the search sees it. */
export interface SearchableDocument {
  readonly id: string;
  readonly stored: StoredDocument;
}

function clauses(value: unknown, where: string): unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (isRecord(value)) return [value];
  throw parsing(`[bool] malformed [${where}], expected an object or an array of objects`);
}

/** Fields as multi_match and simple_query_string name them: boosts (`^2`) dropped, no wildcards. */
function queryFields(mappings: IndexMappings, value: unknown, where: string): ResolvedField[] {
  if (value === undefined) {
    // No fields: index.query.default_field `*`, every text and keyword field (leniently, as OpenSearch does).
    return allLeafFields(mappings).filter(
      (field) => field.mapping.type === 'text' || field.mapping.type === 'keyword',
    );
  }
  if (!Array.isArray(value) || value.some((field) => typeof field !== 'string')) {
    throw parsing(`[${where}] [fields] must be an array of field names`);
  }
  return (value as string[]).flatMap((name) => {
    const path = name.replace(/\^\d+(\.\d+)?$/, '');
    if (path.includes('*')) throw unsupported(`a wildcard field name [${name}] in [${where}]`);
    const field = resolveField(mappings, path);
    return field === undefined ? [] : [field];
  });
}

function allLeafFields(mappings: IndexMappings): ResolvedField[] {
  const paths: string[] = [];
  const walk = (properties: Readonly<Record<string, FieldMapping>>, prefix: string): void => {
    for (const [name, field] of Object.entries(properties)) {
      const path = prefix === '' ? name : `${prefix}.${name}`;
      if (field.properties !== undefined) walk(field.properties, path);
      else paths.push(path);
    }
  };
  walk(mappings.properties, '');
  return paths.flatMap((path) => {
    const field = resolveField(mappings, path);
    return field === undefined ? [] : [field];
  });
}

function operatorOf(value: unknown, where: string): 'and' | 'or' {
  if (value === undefined) return 'or';
  const text = String(value).toLowerCase();
  if (text === 'and' || text === 'or') return text;
  throw illegal(`[${where}] operator must be AND or OR, got [${String(value)}]`);
}

function minimumShouldMatch(value: unknown, optionalClauses: number): number {
  if (value === undefined) return 0;
  if (typeof value === 'number' && Number.isInteger(value))
    return value < 0 ? optionalClauses + value : value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) {
    const number = Number(value);
    return number < 0 ? optionalClauses + number : number;
  }
  if (typeof value === 'string' && /^-?\d+%$/.test(value)) {
    const percent = Number(value.slice(0, -1));
    const count = Math.floor((optionalClauses * Math.abs(percent)) / 100);
    return percent < 0 ? optionalClauses - count : count;
  }
  throw unsupported(`minimum_should_match [${JSON.stringify(value)}]`);
}

/** Compiles a query clause; throws SearchRequestError for one it does not support or that is malformed. */
export function compileQuery(query: unknown, mappings: IndexMappings): Matcher {
  const [name, body] = singleKey(query, 'query');
  switch (name) {
    case 'match_all':
      if (!isRecord(body)) throw parsing('[match_all] malformed');
      checkKeys(body, ['boost'], 'match_all');
      return () => 1;
    case 'match_none':
      return () => 0;
    case 'bool':
      return compileBool(body, mappings);
    case 'term':
      return compileTerm(body, mappings);
    case 'terms':
      return compileTerms(body, mappings);
    case 'ids': {
      if (!isRecord(body) || !Array.isArray(body.values)) throw parsing('[ids] query needs [values]');
      checkKeys(body, ['values', 'boost'], 'ids');
      const ids = new Set(body.values.map(String));
      return (document) => (ids.has(document.id) ? 1 : 0);
    }
    case 'exists': {
      if (!isRecord(body) || typeof body.field !== 'string') throw parsing('[exists] query needs [field]');
      checkKeys(body, ['field', 'boost'], 'exists');
      if (body.field.includes('*')) throw unsupported(`a wildcard field [${body.field}] in [exists]`);
      const field = resolveField(mappings, body.field);
      return (document) => (field !== undefined && field.values(document.stored.source).length > 0 ? 1 : 0);
    }
    case 'range':
      return compileRange(body, mappings);
    case 'prefix':
      return compilePrefix(body, mappings);
    case 'match':
      return compileMatch(body, mappings);
    case 'multi_match':
      return compileMultiMatch(body, mappings);
    case 'simple_query_string':
      return compileSimpleQueryString(body, mappings);
    default:
      throw unsupported(`the [${name}] query`);
  }
}

function compileBool(body: unknown, mappings: IndexMappings): Matcher {
  if (!isRecord(body)) throw parsing('[bool] query malformed');
  checkKeys(
    body,
    ['must', 'filter', 'should', 'must_not', 'minimum_should_match', 'boost', 'adjust_pure_negative'],
    'bool',
  );
  const must = clauses(body.must, 'must').map((clause) => compileQuery(clause, mappings));
  const filter = clauses(body.filter, 'filter').map((clause) => compileQuery(clause, mappings));
  const should = clauses(body.should, 'should').map((clause) => compileQuery(clause, mappings));
  const mustNot = clauses(body.must_not, 'must_not').map((clause) => compileQuery(clause, mappings));
  // OpenSearch: with no must or filter clause, at least one should clause must match; otherwise none need to.
  const required =
    body.minimum_should_match !== undefined
      ? minimumShouldMatch(body.minimum_should_match, should.length)
      : must.length === 0 && filter.length === 0 && should.length > 0
        ? 1
        : 0;
  return (document) => {
    if (mustNot.some((matcher) => matcher(document) > 0)) return 0;
    if (filter.some((matcher) => matcher(document) === 0)) return 0;
    let score = 0;
    for (const matcher of must) {
      const value = matcher(document);
      if (value === 0) return 0;
      score += value;
    }
    let matchedShould = 0;
    for (const matcher of should) {
      const value = matcher(document);
      if (value > 0) {
        matchedShould += 1;
        score += value;
      }
    }
    if (matchedShould < required) return 0;
    // A pure filter or must_not query matches with a constant score.
    return Math.max(score, 1);
  };
}

/** `{ field: value }` or `{ field: { value, ...options } }` of term, prefix and match queries. */
function fieldClause(
  body: unknown,
  where: string,
  valueKey: string,
  options: readonly string[],
): { field: string; value: unknown; options: Record<string, unknown> } {
  if (!isRecord(body)) throw parsing(`[${where}] query malformed`);
  const fields = Object.keys(body).filter((key) => key !== 'boost' && key !== '_name');
  if (fields.length !== 1)
    throw parsing(`[${where}] query doesn't support multiple fields, found [${fields.join(', ')}]`);
  const field = fields[0]!;
  const raw = body[field];
  if (isRecord(raw)) {
    checkKeys(raw, [valueKey, 'boost', '_name', ...options], where);
    if (!(valueKey in raw)) throw parsing(`[${where}] query on [${field}] needs [${valueKey}]`);
    return { field, value: raw[valueKey], options: raw };
  }
  return { field, value: raw, options: {} };
}

function compileTerm(body: unknown, mappings: IndexMappings): Matcher {
  const { field: path, value, options } = fieldClause(body, 'term', 'value', ['case_insensitive']);
  if (path.includes('*')) throw unsupported(`a wildcard field [${path}] in [term]`);
  if (path === '_id') return (document) => (document.id === String(value) ? 1 : 0);
  const field = resolveField(mappings, path);
  if (field === undefined) return () => 0;
  const caseInsensitive = options.case_insensitive === true;
  // Parse errors surface when the query is built, as in OpenSearch, not only when a document is tried.
  if (isNumericType(field.mapping.type)) numericQueryValue(field, value, false);
  return (document) => (fieldHasTerm(field, document.stored.source, value, caseInsensitive, false) ? 1 : 0);
}

function compileTerms(body: unknown, mappings: IndexMappings): Matcher {
  if (!isRecord(body)) throw parsing('[terms] query malformed');
  const fields = Object.keys(body).filter((key) => key !== 'boost' && key !== '_name');
  if (fields.length !== 1)
    throw parsing(`[terms] query doesn't support multiple fields, found [${fields.join(', ')}]`);
  const path = fields[0]!;
  const values = body[path];
  if (!Array.isArray(values)) {
    if (isRecord(values)) throw unsupported('a terms lookup (`{ index, id, path }`)');
    throw parsing(`[terms] query on [${path}] needs an array of values`);
  }
  if (path === '_id') {
    const ids = new Set(values.map(String));
    return (document) => (ids.has(document.id) ? 1 : 0);
  }
  const field = resolveField(mappings, path);
  if (field === undefined) return () => 0;
  if (isNumericType(field.mapping.type)) for (const value of values) numericQueryValue(field, value, false);
  return (document) =>
    values.some((value) => fieldHasTerm(field, document.stored.source, value, false, false)) ? 1 : 0;
}

function compileRange(body: unknown, mappings: IndexMappings): Matcher {
  if (!isRecord(body)) throw parsing('[range] query malformed');
  const fields = Object.keys(body);
  if (fields.length !== 1)
    throw parsing(`[range] query doesn't support multiple fields, found [${fields.join(', ')}]`);
  const path = fields[0]!;
  const bounds = body[path];
  if (!isRecord(bounds)) throw parsing(`[range] query on [${path}] malformed`);
  checkKeys(bounds, ['gt', 'gte', 'lt', 'lte', 'boost', 'format'], 'range');
  if (bounds.format !== undefined) throw unsupported('[range] with a [format]');
  const field = resolveField(mappings, path);
  if (field === undefined) return () => 0;
  const { type } = field.mapping;
  if (type === 'text' || type === 'object' || type === 'nested')
    throw unsupported(`[range] on a ${type} field [${path}]`);
  const compare =
    type === 'keyword'
      ? (value: unknown, bound: unknown): number => compareStrings(String(value), String(bound))
      : (value: unknown, bound: unknown): number =>
          (documentNumber(field, value) ?? Number.NaN) - numericQueryValue(field, bound, false)!;
  const checks: Array<(value: unknown) => boolean> = [];
  if (bounds.gt !== undefined) checks.push((value) => compare(value, bounds.gt) > 0);
  if (bounds.gte !== undefined) checks.push((value) => compare(value, bounds.gte) >= 0);
  if (bounds.lt !== undefined) checks.push((value) => compare(value, bounds.lt) < 0);
  if (bounds.lte !== undefined) checks.push((value) => compare(value, bounds.lte) <= 0);
  return (document) =>
    field.values(document.stored.source).some((value) => checks.every((check) => check(value))) ? 1 : 0;
}

function compilePrefix(body: unknown, mappings: IndexMappings): Matcher {
  const {
    field: path,
    value,
    options,
  } = fieldClause(body, 'prefix', 'value', ['case_insensitive', 'rewrite']);
  if (typeof value !== 'string') throw parsing(`[prefix] query on [${path}] needs a string`);
  const field = resolveField(mappings, path);
  if (field === undefined) return () => 0;
  if (field.mapping.type !== 'keyword' && field.mapping.type !== 'text')
    throw unsupported(`[prefix] on a ${field.mapping.type} field [${path}]`);
  const insensitive = options.case_insensitive === true;
  const wanted = insensitive ? value.toLowerCase() : value;
  return (document) => {
    const terms =
      field.mapping.type === 'text'
        ? field.values(document.stored.source).flatMap((text) => analyze(String(text)))
        : field.values(document.stored.source).flatMap((text) => keywordTerms(field.mapping, text));
    return terms.some((term) => (insensitive ? term.toLowerCase() : term).startsWith(wanted)) ? 1 : 0;
  };
}

function compileMatch(body: unknown, mappings: IndexMappings): Matcher {
  const { field: path, value, options } = fieldClause(body, 'match', 'query', ['operator', 'lenient']);
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw parsing(`[match] query on [${path}] needs a string, number or boolean`);
  }
  const field = resolveField(mappings, path);
  if (field === undefined) return () => 0;
  const operator = operatorOf(options.operator, 'match');
  const lenient = options.lenient === true;
  const text = String(value);
  if (isNumericType(field.mapping.type)) numericQueryValue(field, text, lenient);
  return (document) =>
    fieldMatchesText(field, document.stored.source, [text], { operator, phrase: false, lenient });
}

function compileMultiMatch(body: unknown, mappings: IndexMappings): Matcher {
  if (!isRecord(body)) throw parsing('[multi_match] query malformed');
  checkKeys(body, ['query', 'fields', 'type', 'operator', 'lenient', 'boost', '_name'], 'multi_match');
  if (typeof body.query !== 'string' && typeof body.query !== 'number')
    throw parsing('[multi_match] requires query value');
  const type = body.type ?? 'best_fields';
  if (type !== 'best_fields' && type !== 'most_fields' && type !== 'phrase') {
    throw unsupported(`[multi_match] of type [${String(type)}]`);
  }
  const fields = queryFields(mappings, body.fields, 'multi_match');
  const lenient = body.lenient === true || body.fields === undefined;
  const operator = operatorOf(body.operator, 'multi_match');
  const text = String(body.query);
  if (!lenient)
    for (const field of fields) if (isNumericType(field.mapping.type)) numericQueryValue(field, text, false);
  return (document) => {
    const scores = fields.map((field) =>
      fieldMatchesText(field, document.stored.source, [text], {
        operator,
        phrase: type === 'phrase',
        lenient,
      }),
    );
    // best_fields and phrase take the best field; most_fields adds them up. Either matches when any field does.
    return type === 'most_fields' ? scores.reduce((sum, score) => sum + score, 0) : Math.max(0, ...scores);
  };
}

/** The flags of simple_query_string (`ALL` and `NONE` included); the local parser implements every one but these. */
const SIMPLE_FLAGS: ReadonlySet<string> = new Set([
  'ALL',
  'NONE',
  'AND',
  'NOT',
  'OR',
  'PHRASE',
  'PREFIX',
  'PRECEDENCE',
  'WHITESPACE',
  'ESCAPE',
  'FUZZY',
  'NEAR',
  'SLOP',
]);
/** Fuzzy queries and phrase slop change matching in ways the local server does not model. */
const UNIMPLEMENTED_SIMPLE_FLAGS: ReadonlySet<string> = new Set(['FUZZY', 'NEAR', 'SLOP']);

/** A parsed simple query string: Lucene's SimpleQueryParser tree, its leaves still text. */
type SimpleNode =
  | { readonly kind: 'term'; readonly text: string; readonly prefix: boolean }
  | { readonly kind: 'phrase'; readonly text: string }
  | { readonly kind: 'not'; readonly node: SimpleNode }
  | { readonly kind: 'bool'; readonly occur: 'must' | 'should'; readonly clauses: readonly SimpleNode[] };

/**
 * Parses a simple query string as Lucene's SimpleQueryParser does (OpenSearch's simple_query_string): clauses are
 * terms, `"phrases"` and `( groups )`; `-` before a clause negates it; `+` between clauses is AND, `|` is OR and
 * whitespace is the default operator; operators bind left to right, an operator change starting a new parent (so
 * `a | b c` under AND is `(a OR b) AND c`); a trailing `*` makes a prefix term; `\` escapes the next character. A
 * disabled flag makes its character literal. Returns undefined when nothing is left (it matches no document).
 */
export function parseSimpleQueryString(
  query: string,
  flags: ReadonlySet<string>,
  defaultOperator: 'and' | 'or',
): SimpleNode | undefined {
  const on = (flag: string): boolean => !flags.has('NONE') && (flags.has('ALL') || flags.has(flag));
  const defaultOccur = defaultOperator === 'and' ? 'must' : 'should';
  let index = 0;
  const isWhitespace = (char: string): boolean => /\s/.test(char);
  const ends = (char: string): boolean =>
    (on('PHRASE') && char === '"') ||
    (on('OR') && char === '|') ||
    (on('AND') && char === '+') ||
    (on('PRECEDENCE') && (char === '(' || char === ')')) ||
    (on('WHITESPACE') && isWhitespace(char));

  const parseGroup = (nested: boolean): SimpleNode | undefined => {
    let top: SimpleNode | undefined;
    let negations = 0;
    let current: 'must' | 'should' | undefined;
    let previous: 'must' | 'should' | undefined;
    const add = (branch: SimpleNode | undefined): void => {
      if (branch === undefined) return;
      const node: SimpleNode = negations % 2 === 1 ? { kind: 'not', node: branch } : branch;
      if (top === undefined) {
        top = node;
      } else {
        const occur = current ?? defaultOccur;
        if (previous !== occur || top.kind !== 'bool') {
          top = { kind: 'bool', occur, clauses: [top] };
        }
        top = {
          kind: 'bool',
          occur,
          clauses: [...(top as { clauses: readonly SimpleNode[] }).clauses, node],
        };
        previous = occur;
      }
      current = undefined;
      negations = 0;
    };
    while (index < query.length) {
      const char = query[index]!;
      if (on('PRECEDENCE') && char === '(') {
        index += 1;
        add(parseGroup(true));
        continue;
      }
      if (on('PRECEDENCE') && char === ')') {
        index += 1;
        if (nested) return top;
        // An unmatched `)` is skipped, as Lucene's parser does.
        continue;
      }
      if (on('PHRASE') && char === '"') {
        const end = findClosingQuote(index + 1);
        if (end !== -1) {
          add({ kind: 'phrase', text: unescaped(query.slice(index + 1, end)) });
          index = end + 1;
          continue;
        }
        // No closing quote: the quote is an ordinary character of a term.
      }
      if (on('AND') && char === '+') {
        current = 'must';
        index += 1;
        continue;
      }
      if (on('OR') && char === '|') {
        current = 'should';
        index += 1;
        continue;
      }
      if (on('NOT') && char === '-') {
        negations += 1;
        index += 1;
        continue;
      }
      if (on('WHITESPACE') && isWhitespace(char)) {
        index += 1;
        continue;
      }
      add(readTerm());
    }
    return top;
  };

  const findClosingQuote = (from: number): number => {
    for (let i = from; i < query.length; i += 1) {
      if (on('ESCAPE') && query[i] === '\\') i += 1;
      else if (query[i] === '"') return i;
    }
    return -1;
  };
  const unescaped = (text: string): string => (on('ESCAPE') ? text.replace(/\\(.)/gs, '$1') : text);

  const readTerm = (): SimpleNode | undefined => {
    let text = '';
    let escapedLast = false;
    // The first character is part of the term even if it is an (unmatched) quote.
    let first = true;
    while (index < query.length) {
      const char = query[index]!;
      if (on('ESCAPE') && char === '\\' && index + 1 < query.length) {
        text += query[index + 1];
        index += 2;
        escapedLast = true;
        first = false;
        continue;
      }
      if (!first && ends(char)) break;
      text += char;
      index += 1;
      escapedLast = false;
      first = false;
    }
    if (on('PREFIX') && text.endsWith('*') && !escapedLast && text.length > 1) {
      return { kind: 'term', text: text.slice(0, -1), prefix: true };
    }
    return text === '' ? undefined : { kind: 'term', text, prefix: false };
  };

  return parseGroup(false);
}

function compileSimpleQueryString(body: unknown, mappings: IndexMappings): Matcher {
  if (!isRecord(body)) throw parsing('[simple_query_string] query malformed');
  checkKeys(
    body,
    [
      'query',
      'fields',
      'default_operator',
      'flags',
      'lenient',
      'boost',
      'analyze_wildcard',
      'auto_generate_synonyms_phrase_query',
      '_name',
    ],
    'simple_query_string',
  );
  if (typeof body.query !== 'string') throw parsing('[simple_query_string] requires query value');
  if (body.analyze_wildcard === true) throw unsupported('[simple_query_string] with analyze_wildcard');
  const flagText = body.flags === undefined ? 'ALL' : String(body.flags);
  const flags = new Set(flagText.split('|').map((flag) => flag.trim().toUpperCase()));
  const unknownFlag = [...flags].find((flag) => !SIMPLE_FLAGS.has(flag));
  if (unknownFlag !== undefined) throw illegal(`Unknown simple_query_string flag [${unknownFlag}]`);
  const unimplemented = [...flags].find((flag) => UNIMPLEMENTED_SIMPLE_FLAGS.has(flag) || flag === 'ALL');
  const operator = operatorOf(body.default_operator, 'simple_query_string');
  const lenient = body.lenient === true || body.fields === undefined;
  const fields = queryFields(mappings, body.fields, 'simple_query_string');
  const tree = parseSimpleQueryString(body.query, flags, operator);
  if (unimplemented !== undefined && tree !== undefined && /~/.test(body.query)) {
    // With ALL (the default), FUZZY, NEAR or SLOP, `~` means fuzziness or slop, which the local server does not model.
    throw unsupported(`fuzziness or slop (\`~\` with the ${unimplemented} flag) in simple_query_string`);
  }
  const leaves: SimpleNode[] = [];
  const collect = (node: SimpleNode | undefined): void => {
    if (node === undefined) return;
    if (node.kind === 'bool') node.clauses.forEach(collect);
    else if (node.kind === 'not') collect(node.node);
    else leaves.push(node);
  };
  collect(tree);
  if (!lenient) {
    for (const field of fields) {
      if (!isNumericType(field.mapping.type)) continue;
      for (const leaf of leaves) numericQueryValue(field, (leaf as { text: string }).text, false);
    }
  }
  /** A leaf against every field: the best field's score (a dis_max, as OpenSearch builds it). */
  const leafScore = (leaf: SimpleNode & { kind: 'term' | 'phrase' }, document: SearchableDocument): number =>
    Math.max(
      0,
      ...fields.map((field) =>
        fieldMatchesText(field, document.stored.source, [leaf.text], {
          // A term the analyzer splits (`ada@example.com`) joins its words with the default operator.
          operator: leaf.kind === 'phrase' ? 'and' : operator,
          phrase: leaf.kind === 'phrase',
          lenient,
          prefix: leaf.kind === 'term' && leaf.prefix,
        }),
      ),
    );
  const evaluate = (node: SimpleNode, document: SearchableDocument): number => {
    switch (node.kind) {
      case 'term':
      case 'phrase':
        return leafScore(node, document);
      case 'not':
        // Lucene's negation: everything (a match_all SHOULD) except the clause (MUST_NOT).
        return evaluate(node.node, document) > 0 ? 0 : 1;
      case 'bool': {
        let score = 0;
        for (const clause of node.clauses) {
          const value = evaluate(clause, document);
          if (node.occur === 'must' && value === 0) return 0;
          score += value;
        }
        return score;
      }
    }
  };
  return (document) => (tree === undefined ? 0 : evaluate(tree, document));
}

// ---------------------------------------------------------------------------------------------------------------
// Sort, pagination, the response

function compareStrings(a: string, b: string): number {
  // OpenSearch orders keywords by their UTF-8 bytes, which is code point order.
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const difference = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

interface SortKey {
  readonly kind: 'field' | 'score' | 'doc';
  readonly field?: ResolvedField;
  readonly name: string;
  readonly descending: boolean;
}

type SortValue = string | number | null;

function parseSort(value: unknown, mappings: IndexMappings): SortKey[] {
  if (value === undefined) return [];
  const entries = Array.isArray(value) ? value : [value];
  return entries.map((entry): SortKey => {
    let name: string;
    let order: unknown;
    if (typeof entry === 'string') {
      name = entry;
    } else if (isRecord(entry)) {
      const [key, spec] = singleKey(entry, 'sort');
      name = key;
      if (typeof spec === 'string') order = spec;
      else if (isRecord(spec)) {
        checkKeys(spec, ['order', 'missing', 'unmapped_type'], `sort ${key}`);
        if (spec.missing !== undefined && spec.missing !== '_last')
          throw unsupported(`sort [${key}] with missing [${String(spec.missing)}]`);
        order = spec.order;
      } else throw parsing(`malformed sort on [${key}]`);
    } else {
      throw parsing('malformed [sort]');
    }
    if (order !== undefined && order !== 'asc' && order !== 'desc')
      throw illegal(`[sort] order must be asc or desc, got [${String(order)}]`);
    if (name === '_score') return { kind: 'score', name, descending: order !== 'asc' };
    if (name === '_doc') return { kind: 'doc', name, descending: order === 'desc' };
    if (name === '_id') {
      throw illegal(
        'Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled',
      );
    }
    const field = resolveField(mappings, name);
    if (field === undefined)
      throw new SearchRequestError(400, {
        type: 'query_shard_exception',
        reason: `No mapping found for [${name}] in order to sort on`,
      });
    if (field.mapping.type === 'text') {
      throw illegal(
        `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${name}] in order to load field data by uninverting the inverted index.`,
      );
    }
    if (field.mapping.type === 'object' || field.mapping.type === 'nested')
      throw illegal(`cannot sort on the object field [${name}]`);
    return { kind: 'field', field, name, descending: order === 'desc' };
  });
}

/** A document's sort value for one key: min (ascending) or max (descending) of its values; null when missing. */
function sortValue(key: SortKey, document: SearchableDocument, score: number): SortValue {
  if (key.kind === 'score') return score;
  if (key.kind === 'doc') return document.stored.seqNo;
  const field = key.field!;
  const values = field.values(document.stored.source);
  if (field.mapping.type === 'keyword') {
    const texts = values.flatMap((value) => keywordTerms(field.mapping, value)).sort(compareStrings);
    return (key.descending ? texts.at(-1) : texts[0]) ?? null;
  }
  const numbers = values
    .map((value) => documentNumber(field, value))
    .filter((n): n is number => n !== undefined);
  if (numbers.length === 0) return null;
  return key.descending ? Math.max(...numbers) : Math.min(...numbers);
}

function compareSortValues(key: SortKey, a: SortValue, b: SortValue): number {
  // Missing values sort last in either direction.
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const base =
    typeof a === 'string' && typeof b === 'string' ? compareStrings(a, b) : (a as number) - (b as number);
  return key.descending ? -base : base;
}

function searchAfterValue(key: SortKey, value: unknown): SortValue {
  if (value === null) return null;
  if (key.kind === 'score' || key.kind === 'doc') {
    if (typeof value !== 'number') throw illegal(`search_after value for [${key.name}] must be a number`);
    return value;
  }
  const field = key.field!;
  if (field.mapping.type === 'keyword') {
    if (typeof value !== 'string')
      throw illegal(
        `search_after value [${String(value)}] for the keyword field [${key.name}] must be a string`,
      );
    return value;
  }
  // A number is the sort value itself (epoch millis for a date, as the hits carry it); text is parsed by the field.
  if (typeof value === 'number') return value;
  const number = numericQueryValue(field, value, false);
  return number ?? null;
}

/** The parts of a search body the server implements. */
const SEARCH_BODY_KEYS = [
  'query',
  'sort',
  'size',
  'from',
  'search_after',
  '_source',
  'track_total_hits',
  'track_scores',
  'timeout',
  'version',
  'seq_no_primary_term',
] as const;

/** Query-string parameters of `_search` that change nothing here (routing, caching, error handling...). */
const IGNORED_SEARCH_PARAMETERS: ReadonlySet<string> = new Set([
  'typed_keys',
  'ignore_unavailable',
  'allow_no_indices',
  'expand_wildcards',
  'preference',
  'request_cache',
  'routing',
  'timeout',
  'allow_partial_search_results',
  'ccs_minimize_roundtrips',
  'batched_reduce_size',
  'max_concurrent_shard_requests',
  'pre_filter_shard_size',
  'search_type',
  'error_trace',
  'filter_path',
  'human',
  'pretty',
]);

/** The hit of one document in a search response. */
export interface SearchHit {
  readonly _index: string;
  readonly _id: string;
  readonly _score: number | null;
  readonly _source?: Record<string, unknown>;
  readonly _version?: number;
  readonly _seq_no?: number;
  readonly _primary_term?: number;
  readonly sort?: SortValue[];
}

export interface SearchResponse {
  readonly took: number;
  readonly timed_out: false;
  readonly _shards: { readonly total: 1; readonly successful: 1; readonly skipped: 0; readonly failed: 0 };
  readonly hits: {
    readonly total?: { readonly value: number; readonly relation: 'eq' | 'gte' } | number;
    readonly max_score: number | null;
    readonly hits: SearchHit[];
  };
}

/** `_source` filtering: true/false, a field list, or `{ includes, excludes }`; dotted paths, no wildcards. */
function sourceFilter(
  value: unknown,
): ((source: Readonly<Record<string, unknown>>) => Record<string, unknown>) | false {
  if (value === undefined || value === true)
    return (source) => structuredClone(source) as Record<string, unknown>;
  if (value === false) return false;
  let includes: string[] = [];
  let excludes: string[] = [];
  if (typeof value === 'string') includes = [value];
  else if (Array.isArray(value)) includes = value.map(String);
  else if (isRecord(value)) {
    checkKeys(value, ['includes', 'excludes', 'include', 'exclude'], '_source');
    const list = (entry: unknown): string[] =>
      entry === undefined ? [] : Array.isArray(entry) ? entry.map(String) : [String(entry)];
    includes = list(value.includes ?? value.include);
    excludes = list(value.excludes ?? value.exclude);
  } else throw parsing('malformed [_source]');
  const wildcard = [...includes, ...excludes].find((path) => path.includes('*'));
  if (wildcard !== undefined) throw unsupported(`a wildcard in _source filtering ([${wildcard}])`);
  const covered = (path: string, list: readonly string[]): boolean =>
    list.some((entry) => path === entry || path.startsWith(`${entry}.`));
  const filter = (node: unknown, prefix: string): unknown => {
    if (Array.isArray(node)) return node.map((element) => filter(element, prefix));
    if (!isRecord(node)) return node;
    const result: Record<string, unknown> = {};
    for (const [name, child] of Object.entries(node)) {
      const path = prefix === '' ? name : `${prefix}.${name}`;
      if (covered(path, excludes)) continue;
      const parentOfIncluded = includes.some((entry) => entry.startsWith(`${path}.`));
      if (includes.length > 0 && !covered(path, includes) && !parentOfIncluded) continue;
      result[name] =
        covered(path, includes) || includes.length === 0 ? structuredClone(child) : filter(child, path);
    }
    return result;
  };
  return (source) => filter(source, '') as Record<string, unknown>;
}

function integerParameter(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number))
    throw illegal(`[${name}] must be an integer, got [${String(value)}]`);
  return number;
}

/** The window OpenSearch allows `from + size` (index.max_result_window). */
export const MAX_RESULT_WINDOW = 10_000;

/**
 * Runs a search body (and the request's query parameters) over `documents`. Throws SearchRequestError for what the
 * server refuses.
 */
export function executeSearch(
  indexName: string,
  mappings: IndexMappings,
  documents: ReadonlyMap<string, StoredDocument>,
  body: unknown,
  parameters: URLSearchParams = new URLSearchParams(),
): SearchResponse {
  const started = Date.now();
  const request: Record<string, unknown> =
    body === undefined || body === null
      ? {}
      : isRecord(body)
        ? { ...body }
        : (() => {
            throw parsing('the search body must be a JSON object');
          })();
  const unknownKey = Object.keys(request).find(
    (key) => !(SEARCH_BODY_KEYS as readonly string[]).includes(key),
  );
  if (unknownKey !== undefined) {
    throw [
      'aggs',
      'aggregations',
      'highlight',
      'collapse',
      'suggest',
      'post_filter',
      'rescore',
      'script_fields',
      'docvalue_fields',
      'fields',
      'stored_fields',
      'explain',
      'min_score',
      'pit',
      'slice',
      'indices_boost',
      'profile',
      'runtime_mappings',
      'terminate_after',
      'stats',
      'ext',
    ].includes(unknownKey)
      ? unsupported(`[${unknownKey}] in a search body`)
      : parsing(`Unknown key for a START_OBJECT in [${unknownKey}].`);
  }
  let totalAsInt = false;
  for (const [name, value] of parameters) {
    if (name === 'size' || name === 'from') request[name] ??= value;
    else if (name === 'track_total_hits')
      request.track_total_hits ??= value === 'true' ? true : value === 'false' ? false : Number(value);
    else if (name === 'rest_total_hits_as_int') totalAsInt = value !== 'false';
    else if (name === 'version') request.version ??= value !== 'false';
    else if (name === 'seq_no_primary_term') request.seq_no_primary_term ??= value !== 'false';
    else if (!IGNORED_SEARCH_PARAMETERS.has(name)) throw unsupported(`the _search query parameter [${name}]`);
  }

  const matcher = request.query === undefined ? (): number => 1 : compileQuery(request.query, mappings);
  const sort = parseSort(request.sort, mappings);
  const size = integerParameter(request.size, 'size', 10);
  const from = integerParameter(request.from, 'from', 0);
  if (size < 0) throw illegal(`[size] parameter cannot be negative, found [${size}]`);
  if (from < 0) throw illegal(`[from] parameter cannot be negative, found [${from}]`);
  if (from + size > MAX_RESULT_WINDOW) {
    throw illegal(
      `Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}] but was [${from + size}].`,
    );
  }
  const source = sourceFilter(request._source);

  let matches: Array<{ document: SearchableDocument; score: number; values: SortValue[] }> = [];
  for (const [id, stored] of documents) {
    const document = { id, stored };
    const score = matcher(document);
    if (score > 0) matches.push({ document, score, values: [] });
  }
  const keys: SortKey[] =
    sort.length > 0
      ? sort
      : [
          { kind: 'score', name: '_score', descending: true },
          { kind: 'doc', name: '_doc', descending: false },
        ];
  for (const match of matches) match.values = keys.map((key) => sortValue(key, match.document, match.score));
  const compare = (a: SortValue[], b: SortValue[]): number => {
    for (let i = 0; i < keys.length; i += 1) {
      const difference = compareSortValues(keys[i]!, a[i]!, b[i]!);
      if (difference !== 0) return difference;
    }
    return 0;
  };
  matches.sort((a, b) => compare(a.values, b.values) || a.document.stored.seqNo - b.document.stored.seqNo);
  const total = matches.length;

  if (request.search_after !== undefined) {
    if (sort.length === 0) throw illegal('search_after needs a sort');
    if (!Array.isArray(request.search_after)) throw parsing('[search_after] must be an array');
    if (request.search_after.length !== sort.length) {
      throw illegal(`search_after has ${request.search_after.length} value(s) but sort has ${sort.length}.`);
    }
    if (from > 0) throw illegal('[from] parameter must be set to 0 when [search_after] is used.');
    const after = sort.map((key, i) => searchAfterValue(key, (request.search_after as unknown[])[i]));
    matches = matches.filter((match) => compare(match.values, after) > 0);
  }

  const page = matches.slice(from, from + size);
  const trackScores = request.track_scores === true || sort.length === 0;
  const hits: SearchHit[] = page.map((match) => {
    const filtered = source === false ? undefined : source(match.document.stored.source);
    return {
      _index: indexName,
      _id: match.document.id,
      ...(request.version === true ? { _version: match.document.stored.version } : {}),
      ...(request.seq_no_primary_term === true
        ? { _seq_no: match.document.stored.seqNo, _primary_term: 1 }
        : {}),
      _score: trackScores ? match.score : null,
      ...(filtered === undefined ? {} : { _source: filtered }),
      ...(sort.length > 0 ? { sort: match.values } : {}),
    };
  });
  const trackTotal = request.track_total_hits ?? true;
  const limit =
    trackTotal === true ? Number.POSITIVE_INFINITY : trackTotal === false ? undefined : Number(trackTotal);
  if (limit !== undefined && !Number.isFinite(limit) && limit !== Number.POSITIVE_INFINITY)
    throw illegal('[track_total_hits] must be a boolean or an integer');
  const totalValue =
    limit === undefined
      ? undefined
      : total > limit
        ? { value: limit, relation: 'gte' as const }
        : { value: total, relation: 'eq' as const };
  return {
    took: Math.max(0, Date.now() - started),
    timed_out: false,
    _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
    hits: {
      ...(totalValue === undefined ? {} : { total: totalAsInt ? totalValue.value : totalValue }),
      max_score: trackScores && page.length > 0 ? Math.max(...page.map((match) => match.score)) : null,
      hits,
    },
  };
}

/** `_count`: the number of live documents the body's query (if any) matches. */
export function countDocuments(
  mappings: IndexMappings,
  documents: ReadonlyMap<string, StoredDocument>,
  body: unknown,
): number {
  if (body !== undefined && body !== null && !isRecord(body))
    throw parsing('the count body must be a JSON object');
  const request = (body ?? {}) as Record<string, unknown>;
  const unknownKey = Object.keys(request).find((key) => key !== 'query');
  if (unknownKey !== undefined) throw parsing(`request does not support [${unknownKey}]`);
  const matcher = request.query === undefined ? (): number => 1 : compileQuery(request.query, mappings);
  let count = 0;
  for (const [id, stored] of documents) if (matcher({ id, stored }) > 0) count += 1;
  return count;
}
