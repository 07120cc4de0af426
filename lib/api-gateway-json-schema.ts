import { type JsonSchema, JsonSchemaType, JsonSchemaVersion } from 'aws-cdk-lib/aws-apigateway';

/**
 * Thrown at synth when a JSON Schema (from `z.toJSONSchema(schema, { target: 'draft-4' })`) uses something an API
 * Gateway request model cannot express. The Lambda would still validate, but API Gateway would silently validate
 * less than the schema says, so the conversion refuses instead.
 */
export class JsonSchemaConversionError extends Error {
  public constructor(path: string, problem: string) {
    super(`JSON Schema at ${path}: ${problem}`);
    this.name = 'JsonSchemaConversionError';
  }
}

/**
 * The draft-4 validation keywords API Gateway's request validator applies, mapped to their CDK `JsonSchema`
 * property names (the same, except `$schema`). References (`$ref`, `definitions`) are left out on purpose: API
 * Gateway resolves references only to other models of the API by URL, so a schema that needs them cannot become one
 * self-contained model. `format` is left out: API Gateway does not document which formats its validator checks, so
 * a model relying on one could validate less than it says; use `pattern`.
 */
const KEYWORDS = new Set([
  'type',
  'title',
  'description',
  'enum',
  'default',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'items',
  'additionalItems',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxProperties',
  'minProperties',
  'required',
  'properties',
  'additionalProperties',
  'patternProperties',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
]);

const TYPES = new Set<string>(Object.values(JsonSchemaType));

/** Keywords whose value is a schema, a list of schemas, or a map of names to schemas. */
const SCHEMA_VALUED = new Set(['not', 'additionalItems', 'additionalProperties', 'items']);
const SCHEMA_LIST_VALUED = new Set(['allOf', 'anyOf', 'oneOf']);
const SCHEMA_MAP_VALUED = new Set(['properties', 'patternProperties']);

/**
 * Converts a draft-4 JSON Schema document into the CDK's `JsonSchema` for an API Gateway model, checking every
 * keyword on the way: unknown or unsupported keywords, a `$schema` other than draft 4 and malformed values fail
 * with the path of the offending part.
 */
export function toApiGatewayJsonSchema(document: unknown): JsonSchema {
  if (!isObject(document)) {
    throw new JsonSchemaConversionError('#', 'must be an object');
  }
  const { $schema, ...rest } = document;
  if ($schema !== undefined && $schema !== JsonSchemaVersion.DRAFT4) {
    throw new JsonSchemaConversionError(
      '#/$schema',
      `must be ${JsonSchemaVersion.DRAFT4}, got ${String($schema)}`,
    );
  }
  return { schema: JsonSchemaVersion.DRAFT4, ...convertSchema(rest, '#') };
}

function convertSchema(value: unknown, path: string): JsonSchema {
  if (!isObject(value)) {
    throw new JsonSchemaConversionError(path, 'must be a schema object');
  }
  const converted: Record<string, unknown> = {};
  for (const [keyword, keywordValue] of Object.entries(value)) {
    const keywordPath = `${path}/${keyword}`;
    if (!KEYWORDS.has(keyword)) {
      throw new JsonSchemaConversionError(keywordPath, 'is not a keyword API Gateway request models support');
    }
    converted[keyword] = convertKeyword(keyword, keywordValue, keywordPath);
  }
  return converted as JsonSchema;
}

function convertKeyword(keyword: string, value: unknown, path: string): unknown {
  if (keyword === 'type') {
    return convertType(value, path);
  }
  if (SCHEMA_VALUED.has(keyword)) {
    if (typeof value === 'boolean' && keyword !== 'not' && keyword !== 'items') {
      return value;
    }
    if (keyword === 'items' && Array.isArray(value)) {
      return value.map((item, index) => convertSchema(item, `${path}/${index}`));
    }
    return convertSchema(value, path);
  }
  if (SCHEMA_LIST_VALUED.has(keyword)) {
    if (!Array.isArray(value) || value.length === 0) {
      throw new JsonSchemaConversionError(path, 'must be a non-empty array of schemas');
    }
    return value.map((item, index) => convertSchema(item, `${path}/${index}`));
  }
  if (SCHEMA_MAP_VALUED.has(keyword)) {
    if (!isObject(value)) {
      throw new JsonSchemaConversionError(path, 'must be an object of schemas');
    }
    return Object.fromEntries(
      Object.entries(value).map(([name, schema]) => [name, convertSchema(schema, `${path}/${name}`)]),
    );
  }
  if (keyword === 'required') {
    if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
      throw new JsonSchemaConversionError(path, 'must be an array of property names');
    }
    return [...value];
  }
  // Annotations and numeric or string constraints: plain JSON values, passed through as they are.
  return value;
}

function convertType(value: unknown, path: string): JsonSchemaType | JsonSchemaType[] {
  const types = Array.isArray(value) ? value : [value];
  for (const type of types) {
    if (typeof type !== 'string' || !TYPES.has(type)) {
      throw new JsonSchemaConversionError(path, `unknown type ${JSON.stringify(type)}`);
    }
  }
  // Checked against the enum's values just above.
  return Array.isArray(value) ? (value as JsonSchemaType[]) : (value as JsonSchemaType);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
