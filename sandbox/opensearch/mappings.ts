/**
 * Index mappings as the local OpenSearch keeps and enforces them: the explicit mappings an index is created with
 * (`ORDERS_INDEX_MAPPINGS` in lambdas/shared/search/orders-index.ts), the dynamic mappings OpenSearch infers for an
 * index created on the fly, and the validation of a document against them. Pure, for the versioning model
 * (versioned-index.ts) and the HTTP server (local-opensearch.ts).
 *
 * What OpenSearch 2.x does and the model copies: under `dynamic: strict` an unknown field is a 400
 * `strict_dynamic_mapping_exception`; a value that cannot be parsed as its field's type is a 400
 * `mapper_parsing_exception`; `null` is always accepted (it means "no value"); any field may hold an array of values
 * of its type; under `dynamic: true` an unknown field is mapped from its first value (date detection on); under
 * `dynamic: false` it is kept in `_source` but not mapped.
 *
 * Stricter than OpenSearch, on purpose (the server exists to catch our code's mistakes, not to forgive them): a
 * number with a fraction is refused for an integer type (OpenSearch truncates it), and a mapping type or date format
 * the local server does not implement is refused when the index is created, naming it, instead of being accepted and
 * then enforced wrongly.
 */

/** The field types the local server implements. */
export const SUPPORTED_FIELD_TYPES = [
  'keyword',
  'text',
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'boolean',
  'date',
  'object',
  'nested',
] as const;
export type FieldType = (typeof SUPPORTED_FIELD_TYPES)[number];

/** `dynamic` as a mapping stores it. */
export type DynamicSetting = 'true' | 'false' | 'strict';

/** One field's mapping, normalized: objects carry properties, leaves their type and parameters. */
export interface FieldMapping {
  readonly type: FieldType;
  /** Object fields: their own `dynamic`, when set (otherwise the parent's applies). */
  readonly dynamic?: DynamicSetting;
  readonly properties?: Readonly<Record<string, FieldMapping>>;
  /** Multi-fields (`customerEmail.raw`): indexed from the same value. */
  readonly fields?: Readonly<Record<string, FieldMapping>>;
  /** Date formats, `||`-separated in the mapping. */
  readonly format?: readonly string[];
  /** keyword: longer strings are kept in `_source` but not indexed. */
  readonly ignoreAbove?: number;
}

/** The mappings of an index: the root `dynamic` and the fields. */
export interface IndexMappings {
  readonly dynamic: DynamicSetting;
  readonly properties: Readonly<Record<string, FieldMapping>>;
}

/** An OpenSearch error body's `error` object: `type` and `reason`, plus what OpenSearch adds for the type. */
export interface OpenSearchErrorCause {
  readonly type: string;
  readonly reason: string;
  readonly [detail: string]: unknown;
}

/** Thrown for a mapping the server refuses (answered 400 with `errorCause`). */
export class MappingDefinitionError extends Error {
  public readonly errorCause: OpenSearchErrorCause;

  public constructor(errorCause: OpenSearchErrorCause) {
    super(errorCause.reason);
    this.name = 'MappingDefinitionError';
    this.errorCause = errorCause;
  }
}

/** The default format of a `date` field without one. */
const DEFAULT_DATE_FORMATS = ['strict_date_optional_time', 'epoch_millis'] as const;
const SUPPORTED_DATE_FORMATS: ReadonlySet<string> = new Set([
  'strict_date_optional_time',
  'date_optional_time',
  'strict_date_time',
  'epoch_millis',
  'epoch_second',
]);

const INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  byte: [-128, 127],
  short: [-32_768, 32_767],
  integer: [-2_147_483_648, 2_147_483_647],
  // Beyond 2^53 a JS number is no longer exact; no document of ours gets near it.
  long: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** An empty mapping with OpenSearch's default `dynamic: true`. */
export function emptyMappings(): IndexMappings {
  return { dynamic: 'true', properties: {} };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mapperParsing(reason: string): MappingDefinitionError {
  return new MappingDefinitionError({ type: 'mapper_parsing_exception', reason });
}

function parseDynamic(value: unknown, where: string): DynamicSetting | undefined {
  if (value === undefined) return undefined;
  if (value === true || value === 'true') return 'true';
  if (value === false || value === 'false') return 'false';
  if (value === 'strict') return 'strict';
  throw mapperParsing(
    `Could not convert [${where}.dynamic] to boolean or "strict": ${JSON.stringify(value)}`,
  );
}

function parseProperties(value: unknown, path: string): Record<string, FieldMapping> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw mapperParsing(`Expected map for property [properties] on field [${path}]`);
  const properties: Record<string, FieldMapping> = {};
  for (const [name, definition] of Object.entries(value)) {
    if (name === '' || name.includes('.')) {
      // OpenSearch expands dotted names into objects; our mappings never use them, so the server does not either.
      throw mapperParsing(
        `field name [${name}] under [${path || '_doc'}] is not supported by the local server`,
      );
    }
    properties[name] = parseField(definition, path === '' ? name : `${path}.${name}`);
  }
  return properties;
}

function parseField(definition: unknown, path: string): FieldMapping {
  if (!isRecord(definition)) throw mapperParsing(`Expected map for property [fields] on field [${path}]`);
  const declared = definition.type;
  const type =
    declared === undefined ? (definition.properties === undefined ? undefined : 'object') : declared;
  if (type === undefined) throw mapperParsing(`No type specified for field [${path}]`);
  if (typeof type !== 'string' || !(SUPPORTED_FIELD_TYPES as readonly string[]).includes(type)) {
    throw mapperParsing(
      `No handler for type [${String(type)}] declared on field [${path}] (the local server implements ` +
        `${SUPPORTED_FIELD_TYPES.join(', ')})`,
    );
  }
  const fieldType = type as FieldType;
  if (fieldType === 'object' || fieldType === 'nested') {
    const dynamic = parseDynamic(definition.dynamic, path);
    return {
      type: fieldType,
      ...(dynamic === undefined ? {} : { dynamic }),
      properties: parseProperties(definition.properties, path),
    };
  }
  let format: string[] | undefined;
  if (fieldType === 'date') {
    const text = definition.format ?? DEFAULT_DATE_FORMATS.join('||');
    if (typeof text !== 'string') throw mapperParsing(`Invalid format on field [${path}]`);
    format = text.split('||');
    const unknown = format.find((name) => !SUPPORTED_DATE_FORMATS.has(name));
    if (unknown !== undefined) {
      throw mapperParsing(
        `date format [${unknown}] on field [${path}] is not implemented by the local server ` +
          `(it knows ${[...SUPPORTED_DATE_FORMATS].join(', ')})`,
      );
    }
  }
  let fields: Record<string, FieldMapping> | undefined;
  if (definition.fields !== undefined) {
    if (!isRecord(definition.fields)) throw mapperParsing(`Expected map for property [fields] on [${path}]`);
    fields = {};
    for (const [name, sub] of Object.entries(definition.fields))
      fields[name] = parseField(sub, `${path}.${name}`);
  }
  const ignoreAbove = definition.ignore_above;
  if (ignoreAbove !== undefined && (!Number.isSafeInteger(ignoreAbove) || (ignoreAbove as number) < 0)) {
    throw mapperParsing(`[ignore_above] must be a positive integer on field [${path}]`);
  }
  return {
    type: fieldType,
    ...(format === undefined ? {} : { format }),
    ...(fields === undefined ? {} : { fields }),
    ...(ignoreAbove === undefined ? {} : { ignoreAbove: ignoreAbove as number }),
  };
}

/**
 * The mappings of a create-index or put-mapping body (`{ dynamic?, properties? }`). Throws MappingDefinitionError
 * for anything OpenSearch would refuse, or the local server does not implement.
 */
export function parseMappings(body: unknown): IndexMappings {
  if (body === undefined || body === null) return emptyMappings();
  if (!isRecord(body)) throw mapperParsing('Expected map for [mappings]');
  const known = new Set(['dynamic', 'properties', '_source', 'date_detection']);
  const unknown = Object.keys(body).find((key) => !known.has(key));
  if (unknown !== undefined) {
    throw mapperParsing(`Root mapping definition has unsupported parameters: [${unknown}]`);
  }
  return {
    dynamic: parseDynamic(body.dynamic, '_doc') ?? 'true',
    properties: parseProperties(body.properties, ''),
  };
}

/** The JSON form of mappings, as GET `_mapping` answers. */
export function mappingsToJson(mappings: IndexMappings): Record<string, unknown> {
  return {
    ...(mappings.dynamic === 'true' ? {} : { dynamic: mappings.dynamic }),
    properties: propertiesToJson(mappings.properties),
  };
}

function propertiesToJson(properties: Readonly<Record<string, FieldMapping>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(properties).map(([name, field]) => [name, fieldToJson(field)]));
}

function fieldToJson(field: FieldMapping): Record<string, unknown> {
  if (field.type === 'object' || field.type === 'nested') {
    return {
      ...(field.type === 'nested' ? { type: 'nested' } : {}),
      ...(field.dynamic === undefined ? {} : { dynamic: field.dynamic }),
      properties: propertiesToJson(field.properties ?? {}),
    };
  }
  return {
    type: field.type,
    ...(field.format === undefined ? {} : { format: field.format.join('||') }),
    ...(field.ignoreAbove === undefined ? {} : { ignore_above: field.ignoreAbove }),
    ...(field.fields === undefined ? {} : { fields: propertiesToJson(field.fields) }),
  };
}

/**
 * `current` with `update`'s fields added, as PUT `_mapping` merges: new fields are added, an existing field keeps
 * its type (a different one is a 400 illegal_argument_exception), `dynamic` is replaced when given.
 */
export function mergeMappings(
  current: IndexMappings,
  update: IndexMappings,
  updateSetsDynamic: boolean,
): IndexMappings {
  return {
    dynamic: updateSetsDynamic ? update.dynamic : current.dynamic,
    properties: mergeProperties(current.properties, update.properties, ''),
  };
}

function mergeProperties(
  current: Readonly<Record<string, FieldMapping>>,
  update: Readonly<Record<string, FieldMapping>>,
  path: string,
): Record<string, FieldMapping> {
  const merged: Record<string, FieldMapping> = { ...current };
  for (const [name, field] of Object.entries(update)) {
    const fullName = path === '' ? name : `${path}.${name}`;
    const existing = current[name];
    if (existing === undefined) {
      merged[name] = field;
      continue;
    }
    if (existing.type !== field.type) {
      throw new MappingDefinitionError({
        type: 'illegal_argument_exception',
        reason: `mapper [${fullName}] cannot be changed from type [${existing.type}] to [${field.type}]`,
      });
    }
    merged[name] =
      existing.properties === undefined
        ? { ...existing, ...field }
        : {
            ...existing,
            ...(field.dynamic === undefined ? {} : { dynamic: field.dynamic }),
            properties: mergeProperties(existing.properties, field.properties ?? {}, fullName),
          };
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation of a document

/** A document the mappings refuse: the 400 OpenSearch answers, with its cause. */
export interface DocumentRejection {
  readonly status: 400;
  readonly error: OpenSearchErrorCause;
}

/** The result of checking a document: the mappings after any dynamic additions, or the rejection. */
export type DocumentCheck =
  | { readonly ok: true; readonly mappings: IndexMappings }
  | { readonly ok: false; readonly rejection: DocumentRejection };

/** Thrown inside the validator to unwind to checkDocument, which turns it into a rejection. */
class RejectedDocument {
  public constructor(public readonly cause: OpenSearchErrorCause) {}
}

/** `yyyy-MM-dd` optionally followed by `'T'HH:mm[:ss[.fraction]]` and a zone (`Z` or `+hh:mm`). */
const STRICT_DATE_OPTIONAL_TIME =
  /^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$/;
const STRICT_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,9}(Z|[+-]\d{2}:?\d{2})$/;

/** Epoch milliseconds of a date value under the formats, or undefined when none parses it. */
export function parseDateValue(
  value: unknown,
  formats: readonly string[] = DEFAULT_DATE_FORMATS,
): number | undefined {
  for (const format of formats) {
    if (format === 'epoch_millis' || format === 'epoch_second') {
      const number =
        typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
      if (
        (typeof value === 'number' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))) &&
        Number.isFinite(number)
      ) {
        return format === 'epoch_second' ? number * 1000 : number;
      }
      continue;
    }
    if (typeof value !== 'string') continue;
    const pattern = format === 'strict_date_time' ? STRICT_DATE_TIME : STRICT_DATE_OPTIONAL_TIME;
    if (!pattern.test(value)) continue;
    const parsed = Date.parse(
      value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value,
    );
    if (Number.isFinite(parsed)) return parsed;
  }
  return undefined;
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 100)}...` : text;
}

/**
 * Checks `source` (document `id`) against `mappings`. Under `dynamic: true` unknown fields are mapped from their
 * values, so the mappings may grow: the returned mappings are the index's from now on.
 */
export function checkDocument(
  mappings: IndexMappings,
  source: Record<string, unknown>,
  id: string,
): DocumentCheck {
  try {
    const properties = checkObject(mappings.properties, mappings.dynamic, source, '', id);
    return {
      ok: true,
      mappings: properties === mappings.properties ? mappings : { ...mappings, properties },
    };
  } catch (error) {
    if (error instanceof RejectedDocument)
      return { ok: false, rejection: { status: 400, error: error.cause } };
    throw error;
  }
}

/** Checks an object's fields; returns `properties`, or a copy with the fields `dynamic: true` added. */
function checkObject(
  properties: Readonly<Record<string, FieldMapping>>,
  dynamic: DynamicSetting,
  value: Record<string, unknown>,
  path: string,
  id: string,
): Readonly<Record<string, FieldMapping>> {
  let result = properties;
  for (const [name, fieldValue] of Object.entries(value)) {
    const fullName = path === '' ? name : `${path}.${name}`;
    const field = result[name];
    if (field === undefined) {
      if (dynamic === 'strict') {
        throw new RejectedDocument({
          type: 'strict_dynamic_mapping_exception',
          reason: `mapping set to strict, dynamic introduction of [${name}] within [${path === '' ? '_doc' : path}] is not allowed`,
        });
      }
      if (dynamic === 'false') continue;
      const inferred = inferField(fieldValue, fullName, id);
      if (inferred !== undefined) result = { ...result, [name]: inferred };
      continue;
    }
    const checked = checkField(field, dynamic, fieldValue, fullName, id);
    if (checked !== field) result = { ...result, [name]: checked };
  }
  return result;
}

function checkField(
  field: FieldMapping,
  parentDynamic: DynamicSetting,
  value: unknown,
  path: string,
  id: string,
): FieldMapping {
  if (value === null) return field;
  if (Array.isArray(value)) {
    let current = field;
    for (const element of value) {
      if (Array.isArray(element)) {
        // OpenSearch flattens nested arrays; none of our documents has one, so one here is a bug worth a 400.
        throw new RejectedDocument({
          type: 'mapper_parsing_exception',
          reason: `failed to parse field [${path}]: nested arrays are not supported by the local server`,
        });
      }
      current = checkField(current, parentDynamic, element, path, id);
    }
    return current;
  }
  if (field.type === 'object' || field.type === 'nested') {
    if (!isRecord(value)) {
      throw new RejectedDocument({
        type: 'mapper_parsing_exception',
        reason: `object mapping for [${path}] tried to parse field [${path}] as object, but found a concrete value`,
      });
    }
    const properties = field.properties ?? {};
    const checked = checkObject(properties, field.dynamic ?? parentDynamic, value, path, id);
    return checked === properties ? field : { ...field, properties: checked };
  }
  if (!valueFitsType(field, value)) {
    throw new RejectedDocument({
      type: 'mapper_parsing_exception',
      reason: `failed to parse field [${path}] of type [${field.type}] in document with id '${id}'. Preview of field's value: '${preview(value)}'`,
    });
  }
  return field;
}

/** Whether a non-null scalar (or object) value can be indexed as the field's type. */
function valueFitsType(field: FieldMapping, value: unknown): boolean {
  switch (field.type) {
    case 'keyword':
    case 'text':
      // OpenSearch indexes numbers and booleans as their text; an object is the wrong type.
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
    case 'long':
    case 'integer':
    case 'short':
    case 'byte': {
      const [min, max] = INTEGER_RANGES[field.type]!;
      const number =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && /^-?\d+$/.test(value.trim())
            ? Number(value)
            : Number.NaN;
      return Number.isInteger(number) && number >= min && number <= max;
    }
    case 'double':
    case 'float': {
      const number =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && value.trim() !== ''
            ? Number(value)
            : Number.NaN;
      return Number.isFinite(number);
    }
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false';
    case 'date':
      return parseDateValue(value, field.format) !== undefined;
    default:
      return false;
  }
}

/** The mapping OpenSearch's dynamic mapping gives a new field from its value; undefined for null/empty arrays. */
function inferField(value: unknown, path: string, id: string): FieldMapping | undefined {
  if (value === null) return undefined;
  if (Array.isArray(value)) {
    const first = value.find((element) => element !== null);
    if (first === undefined) return undefined;
    const inferred = inferField(first, path, id);
    return inferred === undefined ? undefined : checkField(inferred, 'true', value, path, id);
  }
  if (typeof value === 'boolean') return { type: 'boolean' };
  if (typeof value === 'number') return Number.isInteger(value) ? { type: 'long' } : { type: 'float' };
  if (typeof value === 'string') {
    // date_detection is on by default, with the dynamic date formats (strict_date_optional_time first).
    if (STRICT_DATE_OPTIONAL_TIME.test(value) && value.length >= 10 && parseDateValue(value) !== undefined) {
      return { type: 'date', format: ['strict_date_optional_time', 'epoch_millis'] };
    }
    return { type: 'text', fields: { keyword: { type: 'keyword', ignoreAbove: 256 } } };
  }
  if (isRecord(value)) {
    return { type: 'object', properties: checkObject({}, 'true', value, path, id) };
  }
  return undefined;
}

/** The mapping of a dotted field path (`lines.sku`, `customerEmail.raw`), or undefined when it is not mapped. */
export function fieldAt(mappings: IndexMappings, path: string): FieldMapping | undefined {
  let properties: Readonly<Record<string, FieldMapping>> | undefined = mappings.properties;
  let field: FieldMapping | undefined;
  for (const segment of path.split('.')) {
    const next: FieldMapping | undefined = properties?.[segment] ?? field?.fields?.[segment];
    if (next === undefined) return undefined;
    field = next;
    properties = next.properties;
  }
  return field;
}
