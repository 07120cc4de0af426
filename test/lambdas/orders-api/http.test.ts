import { describe, expect, it } from 'vitest';
import {
  formatFieldPath,
  HttpError,
  isJsonContentType,
  normaliseHeaders,
  parseIfMatch,
  readJsonBody,
  readQueryParameters,
  refuseUnknownQueryParameters,
  singleHeader,
  validate,
} from '../../../lambdas/orders-api/http.js';
import { createOrderBodySchema } from '../../../lambdas/orders-api/schemas.js';

/** Runs `act` and returns the HttpError it throws, failing the test when it throws something else or nothing. */
function httpErrorOf(act: () => unknown): HttpError {
  try {
    act();
  } catch (error) {
    if (error instanceof HttpError) {
      return error;
    }
    throw error;
  }
  throw new Error('Expected an HttpError, but nothing was thrown');
}

const JSON_HEADERS = normaliseHeaders({
  headers: { 'Content-Type': 'application/json' },
  multiValueHeaders: {},
});

describe('normaliseHeaders and singleHeader', () => {
  it.each([
    { name: 'lower-case name', headers: { 'idempotency-key': 'k1' } },
    { name: 'mixed-case name', headers: { 'Idempotency-Key': 'k1' } },
    { name: 'upper-case name', headers: { 'IDEMPOTENCY-KEY': 'k1' } },
    { name: 'surrounding whitespace', headers: { 'Idempotency-Key': '  k1 ' } },
  ])('finds a header sent with a $name', ({ headers }) => {
    // Act
    const value = singleHeader(normaliseHeaders({ headers, multiValueHeaders: {} }), 'Idempotency-Key');

    // Assess
    expect(value).toBe('k1');
  });

  it('treats the same value under two spellings as one', () => {
    // Prepare
    const headers = normaliseHeaders({
      headers: { 'if-match': '"3"', 'If-Match': '"3"' },
      multiValueHeaders: { 'If-Match': ['"3"'] },
    });

    // Act
    const value = singleHeader(headers, 'If-Match');

    // Assess
    expect(value).toBe('"3"');
  });

  it.each([
    { name: 'two spellings', headers: { 'if-match': '"3"', 'If-Match': '"4"' }, multiValueHeaders: {} },
    {
      name: 'a repeated header',
      headers: { 'If-Match': '"4"' },
      multiValueHeaders: { 'If-Match': ['"3"', '"4"'] },
    },
  ])('refuses different values under $name', ({ headers, multiValueHeaders }) => {
    // Prepare
    const normalised = normaliseHeaders({ headers, multiValueHeaders });

    // Act
    const error = httpErrorOf(() => singleHeader(normalised, 'If-Match'));

    // Assess
    expect(error).toMatchObject({ statusCode: 400, field: 'If-Match' });
  });

  it('copes with null header maps', () => {
    // Prepare
    const event = { headers: null, multiValueHeaders: null } as unknown as Parameters<
      typeof normaliseHeaders
    >[0];

    // Act
    const headers = normaliseHeaders(event);

    // Assess
    expect(singleHeader(headers, 'Content-Type')).toBeUndefined();
  });
});

describe('isJsonContentType', () => {
  it.each([
    { value: 'application/json', json: true },
    { value: 'Application/JSON', json: true },
    { value: 'application/json; charset=utf-8', json: true },
    { value: 'application/json;charset="UTF-8"', json: true },
    { value: 'application/json; boundary=x', json: true },
    { value: 'application/json; charset=latin1', json: false },
    { value: 'application/jsonp', json: false },
    { value: 'text/json', json: false },
    { value: 'text/plain', json: false },
    { value: 'application/x-www-form-urlencoded', json: false },
    { value: '', json: false },
  ])('$value -> $json', ({ value, json }) => {
    // Act
    const result = isJsonContentType(value);

    // Assess
    expect(result).toBe(json);
  });
});

describe('readJsonBody', () => {
  it.each([
    { name: 'plain text', event: { body: '{"a":1}', isBase64Encoded: false }, parsed: { a: 1 } },
    {
      name: 'base64',
      event: { body: Buffer.from('{"a":"ü"}').toString('base64'), isBase64Encoded: true },
      parsed: { a: 'ü' },
    },
    { name: 'a byte-order mark', event: { body: '\uFEFF{"a":1}', isBase64Encoded: false }, parsed: { a: 1 } },
    {
      name: 'exactly the limit',
      event: { body: `{"a":"${'x'.repeat(16 * 1024 - 8)}"}`, isBase64Encoded: false },
      parsed: { a: 'x'.repeat(16 * 1024 - 8) },
    },
  ])('parses $name', ({ event, parsed }) => {
    // Act
    const body = readJsonBody(event, JSON_HEADERS);

    // Assess
    expect(body).toEqual(parsed);
  });

  it('keeps a __proto__ key as a plain own key, polluting nothing', () => {
    // Act
    const body = readJsonBody(
      { body: '{"__proto__":{"polluted":true}}', isBase64Encoded: false },
      JSON_HEADERS,
    );

    // Assess
    expect(Object.keys(body as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    { name: 'no body', event: { body: null, isBase64Encoded: false }, status: 400, field: null },
    { name: 'an empty body', event: { body: '', isBase64Encoded: false }, status: 400, field: null },
    { name: 'malformed JSON', event: { body: '{"a":', isBase64Encoded: false }, status: 400, field: null },
    {
      name: 'one byte over the limit',
      event: { body: `{"a":"${'x'.repeat(16 * 1024 - 7)}"}`, isBase64Encoded: false },
      status: 413,
      field: null,
    },
    {
      name: 'multi-byte characters over the limit in bytes, not in characters',
      event: { body: `{"a":"${'é'.repeat(9000)}"}`, isBase64Encoded: false },
      status: 413,
      field: null,
    },
    {
      name: 'base64 over the limit',
      event: { body: Buffer.alloc(16 * 1024 + 1, 32).toString('base64'), isBase64Encoded: true },
      status: 413,
      field: null,
    },
    { name: 'invalid base64', event: { body: '{"a":1}', isBase64Encoded: true }, status: 400, field: null },
    {
      name: 'bytes that are not UTF-8',
      event: { body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'), isBase64Encoded: true },
      status: 400,
      field: null,
    },
  ])('refuses $name with $status', ({ event, status, field }) => {
    // Act
    const error = httpErrorOf(() => readJsonBody(event, JSON_HEADERS));

    // Assess
    expect(error).toMatchObject({ statusCode: status, field });
  });

  it.each([
    { name: 'no Content-Type', headers: {} },
    { name: 'text/plain', headers: { 'content-type': 'text/plain' } },
  ])('refuses $name with 415', ({ headers }) => {
    // Prepare
    const normalised = normaliseHeaders({ headers, multiValueHeaders: {} });

    // Act
    const error = httpErrorOf(() => readJsonBody({ body: '{}', isBase64Encoded: false }, normalised));

    // Assess
    expect(error).toMatchObject({ statusCode: 415, field: 'Content-Type' });
  });
});

describe('formatFieldPath', () => {
  it.each([
    { path: [], field: null },
    { path: ['customerId'], field: 'customerId' },
    { path: ['lines', 0], field: 'lines[0]' },
    { path: ['lines', 12, 'sku'], field: 'lines[12].sku' },
  ])('$path -> $field', ({ path, field }) => {
    // Act
    const result = formatFieldPath(path);

    // Assess
    expect(result).toBe(field);
  });
});

describe('validate', () => {
  const valid = {
    customerId: 'c',
    customerEmail: 'ada@example.com',
    currency: 'EUR',
    lines: [{ sku: 'A', qty: 1, unitPriceCents: 1 }],
  };

  it('returns the parsed value', () => {
    // Act
    const body = validate(createOrderBodySchema, valid);

    // Assess
    expect(body).toEqual(valid);
  });

  it.each([
    {
      name: 'a wrong nested type',
      value: { ...valid, lines: [{ sku: 'A', qty: '1', unitPriceCents: 1 }] },
      field: 'lines[0].qty',
    },
    { name: 'an unknown key', value: { ...valid, isAdmin: true }, field: 'isAdmin' },
    {
      name: 'an unknown nested key',
      value: { ...valid, lines: [{ sku: 'A', qty: 1, unitPriceCents: 1, x: 1 }] },
      field: 'lines[0].x',
    },
    {
      name: 'an over-long unknown key, shortened',
      value: { ...valid, ['k'.repeat(100)]: 1 },
      field: 'k'.repeat(64),
    },
    { name: 'not an object', value: [], field: null },
  ])('names the field of $name', ({ value, field }) => {
    // Act
    const error = httpErrorOf(() => validate(createOrderBodySchema, value));

    // Assess
    expect(error).toMatchObject({ statusCode: 400, field });
  });

  it('names the given field for a header or path parameter', () => {
    // Act
    const error = httpErrorOf(() => validate(createOrderBodySchema.shape.customerId, 'bad id', 'customerId'));

    // Assess
    expect(error).toMatchObject({ statusCode: 400, field: 'customerId' });
  });
});

describe('parseIfMatch', () => {
  it.each([
    { value: undefined, parsed: undefined },
    { value: '*', parsed: { kind: 'any' } },
    { value: '"3"', parsed: { kind: 'version', version: 3 } },
    { value: '3', parsed: { kind: 'version', version: 3 } },
    { value: '"123456789012345"', parsed: { kind: 'version', version: 123456789012345 } },
  ])('$value -> $parsed', ({ value, parsed }) => {
    // Act
    const result = parseIfMatch(value);

    // Assess
    expect(result).toEqual(parsed);
  });

  it.each(['', 'abc', '"0"', '0', '-1', '1.5', 'W/"3"', '"3", "4"', '"3', '1234567890123456', '"٣"'])(
    'refuses %j',
    (value) => {
      // Act
      const error = httpErrorOf(() => parseIfMatch(value));

      // Assess
      expect(error).toMatchObject({ statusCode: 400, field: 'If-Match' });
    },
  );
});

describe('readQueryParameters', () => {
  it('merges the single- and multi-value maps into one value per name', () => {
    // Act
    const parameters = readQueryParameters({
      queryStringParameters: { q: 'ada', limit: '5' },
      multiValueQueryStringParameters: { q: ['ada'], limit: ['5', '5'], status: ['PAID'] },
    });

    // Assess
    expect(parameters).toEqual({ q: 'ada', limit: '5', status: 'PAID' });
  });

  it('answers no parameters for an event without a query string', () => {
    // Act
    const parameters = readQueryParameters({
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
    });

    // Assess
    expect(parameters).toEqual({});
  });

  it('refuses a parameter repeated with different values, naming it', () => {
    // Act
    const error = httpErrorOf(() =>
      readQueryParameters({
        queryStringParameters: { status: 'SHIPPED' },
        multiValueQueryStringParameters: { status: ['PAID', 'SHIPPED'] },
      }),
    );

    // Assess
    expect(error).toMatchObject({ statusCode: 400, field: 'status' });
  });

  it('keeps a parameter named __proto__ a plain key', () => {
    // Act
    const parameters = readQueryParameters({
      queryStringParameters: JSON.parse('{"__proto__":"x"}') as Record<string, string>,
      multiValueQueryStringParameters: null,
    });

    // Assess
    expect(Object.getPrototypeOf(parameters)).toBe(Object.prototype);
    expect(Object.keys(parameters)).toEqual(['__proto__']);
  });
});

describe('refuseUnknownQueryParameters', () => {
  it('accepts known parameters', () => {
    // Act
    const refusing = (): void => refuseUnknownQueryParameters({ q: 'a' }, ['q', 'limit']);

    // Assess
    expect(refusing).not.toThrow();
  });

  it('names the first unknown parameter in field and up to five in the message, cut to 64 characters', () => {
    // Prepare
    const long = 'x'.repeat(100);
    const parameters = Object.fromEntries([long, 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => [name, '1']));

    // Act
    const error = httpErrorOf(() => refuseUnknownQueryParameters(parameters, ['q']));

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.field).toBe('x'.repeat(64));
    expect(error.message).toBe(
      `Unknown query parameters: ${'x'.repeat(64)}, b, c, d, e and 2 more; known: q`,
    );
  });
});
