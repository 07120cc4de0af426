import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type * as z from '../shared/zod.js';
import { MAX_BODY_BYTES } from './schemas.js';

/**
 * HTTP plumbing of the API Gateway proxy integration (REST, payload v1): headers, bodies, validation errors and
 * responses. Pure functions; every rejection is an {@link HttpError} carrying the status and the field at fault.
 */

/** A request the API refuses, answered as `{ "error": message, "field": field }`. */
export class HttpError extends Error {
  public constructor(
    public readonly statusCode: number,
    message: string,
    /** The body path (`lines[1].sku`), path parameter or header at fault; null when no single field is. */
    public readonly field: string | null = null,
    public readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Headers by lower-cased name; API Gateway passes names as the client sent them. */
export type RequestHeaders = ReadonlyMap<string, readonly string[]>;

/** Merges `headers` and `multiValueHeaders` under lower-cased names, keeping distinct values. */
export function normaliseHeaders(
  event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>,
): RequestHeaders {
  const merged = new Map<string, Set<string>>();
  const add = (name: string, value: string | undefined): void => {
    if (value === undefined) {
      return;
    }
    const key = name.toLowerCase();
    const values = merged.get(key) ?? new Set<string>();
    // Surrounding whitespace is not part of a field value (RFC 9110, 5.5).
    values.add(value.trim());
    merged.set(key, values);
  };
  // Either map can be null in practice (test invocations, hand-built events), whatever the types say.
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    add(name, value);
  }
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    for (const value of values ?? []) {
      add(name, value);
    }
  }
  return new Map([...merged].map(([name, values]) => [name, [...values]]));
}

/**
 * The one value of a header, or undefined when absent. A header sent twice with different values (or under two
 * spellings of its name) is ambiguous, and guessing which one counts would be a bug waiting to happen: 400.
 */
export function singleHeader(headers: RequestHeaders, name: string): string | undefined {
  const values = headers.get(name.toLowerCase());
  if (values === undefined || values.length === 0) {
    return undefined;
  }
  if (values.length > 1) {
    throw new HttpError(400, `Header ${name} was sent more than once with different values`, name);
  }
  return values[0];
}

/**
 * The query parameters by name. API Gateway passes them URL-decoded in `queryStringParameters` (the last value of a
 * repeated name) and `multiValueQueryStringParameters` (every value). A parameter repeated with different values is
 * ambiguous, as a repeated header is: 400 naming it. Built with Object.fromEntries, so a parameter named `__proto__`
 * stays a plain key for the schema to refuse.
 */
export function readQueryParameters(
  event: Pick<APIGatewayProxyEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'>,
): Readonly<Record<string, string>> {
  const merged = new Map<string, Set<string>>();
  const add = (name: string, value: string | undefined): void => {
    if (value === undefined) {
      return;
    }
    const values = merged.get(name) ?? new Set<string>();
    values.add(value);
    merged.set(name, values);
  };
  // Either map can be null (no query string at all, hand-built events), whatever the types say.
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    add(name, value);
  }
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    for (const value of values ?? []) {
      add(name, value);
    }
  }
  const entries: [string, string][] = [];
  for (const [name, values] of merged) {
    if (values.size > 1) {
      throw new HttpError(
        400,
        'Query parameter was sent more than once with different values',
        name.slice(0, MAX_ECHOED_LENGTH),
      );
    }
    entries.push([name, [...values][0] ?? '']);
  }
  return Object.fromEntries(entries);
}

/**
 * Refuses query parameters the route does not know, naming them all in the message and the first in `field`: a
 * misspelt filter (`stauts=PAID`) silently ignored would answer a different question than the one asked.
 */
export function refuseUnknownQueryParameters(
  parameters: Readonly<Record<string, string>>,
  known: readonly string[],
): void {
  const unknown = Object.keys(parameters).filter((name) => !known.includes(name));
  const first = unknown[0];
  if (first === undefined) {
    return;
  }
  const names = unknown.slice(0, 5).map((name) => name.slice(0, MAX_ECHOED_LENGTH));
  const more = unknown.length > names.length ? ` and ${unknown.length - names.length} more` : '';
  throw new HttpError(
    400,
    `Unknown query parameter${unknown.length > 1 ? 's' : ''}: ${names.join(', ')}${more}; known: ${known.join(', ')}`,
    first.slice(0, MAX_ECHOED_LENGTH),
  );
}

/** `application/json`, with at most a UTF-8 charset (RFC 8259 allows no other encoding). */
export function isJsonContentType(value: string): boolean {
  const [mediaType, ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') {
    return false;
  }
  return parameters.every((parameter) => {
    const [name, rawValue] = parameter.split('=', 2).map((part) => part.trim());
    return name !== 'charset' || rawValue?.replace(/^"(.*)"$/, '$1') === 'utf-8';
  });
}

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The request's JSON body, parsed but not validated. Checks, in order: a body is present (400), the Content-Type is
 * JSON (415), the size in bytes after base64 decoding is at most `maxBytes` (413), the bytes are UTF-8 (400) and
 * JSON (400). `JSON.parse` never assigns prototypes, so `__proto__` keys stay plain keys for the schema to refuse.
 */
export function readJsonBody(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  headers: RequestHeaders,
  maxBytes: number = MAX_BODY_BYTES,
): unknown {
  const raw = event.body;
  if (raw === null || raw === undefined || raw === '') {
    throw new HttpError(400, 'A JSON request body is required');
  }
  const contentType = singleHeader(headers, 'Content-Type');
  if (contentType === undefined || !isJsonContentType(contentType)) {
    throw new HttpError(415, 'Content-Type must be application/json', 'Content-Type');
  }
  const tooLarge = new HttpError(413, `The request body must not exceed ${maxBytes} bytes`);
  let bytes: Buffer;
  if (event.isBase64Encoded) {
    // Bounded before decoding, so an oversized body costs no allocation.
    if (raw.length > Math.ceil(maxBytes / 3) * 4) {
      throw tooLarge;
    }
    if (!BASE64_PATTERN.test(raw)) {
      throw new HttpError(400, 'The request body is not valid base64');
    }
    bytes = Buffer.from(raw, 'base64');
  } else {
    // A UTF-16 code unit is at least one UTF-8 byte, so a longer string is certainly too large.
    if (raw.length > maxBytes) {
      throw tooLarge;
    }
    bytes = Buffer.from(raw, 'utf8');
  }
  if (bytes.length > maxBytes) {
    throw tooLarge;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, 'The request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON');
  }
}

/** Renders a validation issue's path: `lines[1].sku`; null for the root. */
export function formatFieldPath(path: readonly PropertyKey[]): string | null {
  let field = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      field += `[${segment}]`;
    } else {
      const name = String(segment);
      field += field === '' ? name : `.${name}`;
    }
  }
  return field === '' ? null : field;
}

/** Longest client-supplied text (an unknown key's name) echoed back in an error. */
const MAX_ECHOED_LENGTH = 64;

/**
 * Parses with the schema; the first issue becomes a 400 naming its field: the issue's path in the body, or `field`
 * when the value is a header or path parameter.
 */
export function validate<S extends z.ZodMiniType>(schema: S, value: unknown, field?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) {
    return result.data;
  }
  const issue = result.error.issues[0];
  if (issue === undefined) {
    throw new HttpError(400, 'Invalid request', field ?? null);
  }
  const path: PropertyKey[] = [...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = (issue.keys[0] ?? '').slice(0, MAX_ECHOED_LENGTH);
    path.push(key);
    message = 'Unknown field';
  }
  const issueField = formatFieldPath(path);
  throw new HttpError(400, message, field ?? issueField);
}

/** `If-Match`: absent, `*` (any version) or one strong tag of a version, quoted (RFC) or bare (lenient). */
export type IfMatch =
  | { readonly kind: 'any' }
  | { readonly kind: 'version'; readonly version: number }
  | undefined;

const IF_MATCH_PATTERN = /^(?:"([1-9][0-9]{0,14})"|([1-9][0-9]{0,14}))$/;

export function parseIfMatch(value: string | undefined): IfMatch {
  if (value === undefined) {
    return undefined;
  }
  if (value === '*') {
    return { kind: 'any' };
  }
  const match = IF_MATCH_PATTERN.exec(value);
  const digits = match?.[1] ?? match?.[2];
  if (digits === undefined) {
    throw new HttpError(400, 'If-Match must be one order version, like "3"', 'If-Match');
  }
  return { kind: 'version', version: Number(digits) };
}

const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { ...COMMON_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

export function emptyResponse(
  statusCode: number,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return { statusCode, headers: { ...COMMON_HEADERS, ...headers }, body: '' };
}

export function errorResponse(
  statusCode: number,
  message: string,
  field: string | null,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return jsonResponse(statusCode, { error: message, field }, headers);
}
