import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  createOrderBodySchema,
  idempotencyKeySchema,
  orderIdSchema,
  patchOrderBodySchema,
  putVoteBodySchema,
  SEARCH_QUERY_PARAMETERS,
  searchOrdersQuerySchema,
} from '../../../lambdas/orders-api/schemas.js';

describe('body schemas as API Gateway models', () => {
  it.each([
    { name: 'createOrderBodySchema', schema: createOrderBodySchema },
    { name: 'patchOrderBodySchema', schema: patchOrderBodySchema },
    { name: 'putVoteBodySchema', schema: putVoteBodySchema },
  ])('$name converts to a closed draft-4 schema', ({ schema }) => {
    // Act
    const jsonSchema = z.toJSONSchema(schema, { target: 'draft-4' });

    // Assess
    expect(jsonSchema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(jsonSchema.type).toBe('object');
    expect(jsonSchema.additionalProperties).toBe(false);
  });

  it('bounds quantity and price in the model, as integers', () => {
    // Act
    const jsonSchema = z.toJSONSchema(createOrderBodySchema, { target: 'draft-4' });

    // Assess
    expect(jsonSchema).toMatchObject({
      properties: {
        lines: {
          maxItems: 99,
          items: {
            properties: {
              qty: { type: 'integer', minimum: 1, maximum: 10_000 },
              unitPriceCents: { type: 'integer', minimum: 0, maximum: 100_000_000 },
            },
          },
        },
      },
    });
  });
});

describe('identifier schemas', () => {
  it.each([
    { value: '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e', ok: true },
    { value: '0B8E1C9E-4F6A-4D2B-9C1E-2F3A4B5C6D7E', ok: true },
    { value: '0b8e1c9e4f6a4d2b9c1e2f3a4b5c6d7e', ok: false },
    { value: '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e ', ok: false },
    { value: 'g b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7', ok: false },
  ])('order id $value valid: $ok', ({ value, ok }) => {
    // Act
    const result = orderIdSchema.safeParse(value);

    // Assess
    expect(result.success).toBe(ok);
  });

  it.each([
    { value: 'a', ok: true },
    { value: '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e', ok: true },
    { value: 'dGVzdA==', ok: true },
    { value: 'k'.repeat(128), ok: true },
    { value: 'k'.repeat(129), ok: false },
    { value: '', ok: false },
    { value: 'has space', ok: false },
    { value: 'ключ', ok: false },
    { value: 'a\nb', ok: false },
  ])('idempotency key $value valid: $ok', ({ value, ok }) => {
    // Act
    const result = idempotencyKeySchema.safeParse(value);

    // Assess
    expect(result.success).toBe(ok);
  });
});

describe('searchOrdersQuerySchema', () => {
  it('knows exactly the documented parameters', () => {
    // Assess
    expect(SEARCH_QUERY_PARAMETERS).toEqual(['q', 'status', 'customerId', 'limit', 'cursor']);
  });

  it.each([
    { input: {}, output: { limit: 20 } },
    { input: { limit: '1' }, output: { limit: 1 } },
    { input: { limit: '100' }, output: { limit: 100 } },
    { input: { limit: '007' }, output: { limit: 7 } },
    { input: { q: ' ada ' }, output: { q: 'ada', limit: 20 } },
    { input: { q: '' }, output: { limit: 20 } },
    { input: { q: 'a'.repeat(200) }, output: { q: 'a'.repeat(200), limit: 20 } },
    { input: { q: 'café Ω' }, output: { q: 'café Ω', limit: 20 } },
    {
      input: { status: 'BACKORDERED', customerId: 'cust_1.a-b' },
      output: { status: 'BACKORDERED', customerId: 'cust_1.a-b', limit: 20 },
    },
    { input: { cursor: 'a'.repeat(512) }, output: { cursor: 'a'.repeat(512), limit: 20 } },
  ])('accepts $input', ({ input, output }) => {
    // Act
    const result = searchOrdersQuerySchema.parse(input);

    // Assess
    expect(result).toEqual(output);
  });

  it.each([
    { input: { limit: '0' }, path: 'limit' },
    { input: { limit: '101' }, path: 'limit' },
    { input: { limit: '1000' }, path: 'limit' },
    { input: { limit: ' 5' }, path: 'limit' },
    { input: { limit: '0x10' }, path: 'limit' },
    { input: { q: 'a'.repeat(201) }, path: 'q' },
    { input: { q: 'line\nbreak' }, path: 'q' },
    { input: { q: 'c1\u0085control' }, path: 'q' },
    { input: { status: 'shipped' }, path: 'status' },
    { input: { customerId: '.hidden' }, path: 'customerId' },
    { input: { cursor: 'a'.repeat(513) }, path: 'cursor' },
    { input: { cursor: 'a=b' }, path: 'cursor' },
    { input: { other: '1' }, path: '' },
  ])('refuses $input at $path', ({ input, path }) => {
    // Act
    const result = searchOrdersQuerySchema.safeParse(input);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });
});
