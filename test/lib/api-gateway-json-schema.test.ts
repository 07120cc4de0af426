import { JsonSchemaType, JsonSchemaVersion } from 'aws-cdk-lib/aws-apigateway';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  createOrderBodySchema,
  patchOrderBodySchema,
  putVoteBodySchema,
} from '../../lambdas/orders-api/schemas.js';
import { JsonSchemaConversionError, toApiGatewayJsonSchema } from '../../lib/api-gateway-json-schema.js';
import { thrownBy } from '../fixtures/cdk-app.js';

/** Every key used anywhere in a JSON value, property names of `properties` maps excluded. */
function keywordsOf(value: unknown, insideProperties = false): Set<string> {
  const found = new Set<string>();
  if (Array.isArray(value)) {
    for (const item of value) {
      for (const keyword of keywordsOf(item)) found.add(keyword);
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (!insideProperties) found.add(key);
      for (const keyword of keywordsOf(child, !insideProperties && key === 'properties')) found.add(keyword);
    }
  }
  return found;
}

describe('toApiGatewayJsonSchema', () => {
  it.each([
    ['createOrderBodySchema', createOrderBodySchema],
    ['patchOrderBodySchema', patchOrderBodySchema],
    ['putVoteBodySchema', putVoteBodySchema],
  ])('converts the draft-4 JSON Schema of %s without loss', (_name, schema) => {
    // Prepare
    const { $schema, ...document } = z.toJSONSchema(schema, { target: 'draft-4' }) as Record<string, unknown>;

    // Act
    const converted = toApiGatewayJsonSchema({ $schema, ...document });

    // Assess
    expect($schema).toBe(JsonSchemaVersion.DRAFT4);
    expect(converted).toEqual({ schema: JsonSchemaVersion.DRAFT4, ...document });
    expect(converted.additionalProperties).toBe(false);
  });

  it('keeps the order body constraints API Gateway is to enforce', () => {
    // Act
    const converted = toApiGatewayJsonSchema(z.toJSONSchema(createOrderBodySchema, { target: 'draft-4' }));

    // Assess
    expect(converted.required).toEqual(['customerId', 'customerEmail', 'lines', 'currency']);
    expect(converted.properties?.lines).toMatchObject({
      type: JsonSchemaType.ARRAY,
      minItems: 1,
      items: {
        type: JsonSchemaType.OBJECT,
        additionalProperties: false,
        required: ['sku', 'qty', 'unitPriceCents'],
      },
    });
    expect(converted.properties?.currency).toMatchObject({
      pattern: '^[A-Z]{3}$',
      minLength: 3,
      maxLength: 3,
    });
  });

  it('uses no keyword outside draft 4 in any of the API schemas', () => {
    // Prepare
    const draft4Keywords = new Set([
      'schema', // CDK's name for $schema
      'type',
      'properties',
      'required',
      'additionalProperties',
      'items',
      'minItems',
      'maxItems',
      'minLength',
      'maxLength',
      'pattern',
      'minimum',
      'maximum',
      'enum',
    ]);

    // Act
    const used = [createOrderBodySchema, patchOrderBodySchema, putVoteBodySchema].flatMap((schema) => [
      ...keywordsOf(toApiGatewayJsonSchema(z.toJSONSchema(schema, { target: 'draft-4' }))),
    ]);

    // Assess
    expect(used.filter((keyword) => !draft4Keywords.has(keyword))).toEqual([]);
  });

  it('adds the draft-4 $schema when the document has none', () => {
    // Act
    const converted = toApiGatewayJsonSchema({ type: 'string' });

    // Assess
    expect(converted).toEqual({ schema: JsonSchemaVersion.DRAFT4, type: JsonSchemaType.STRING });
  });

  it.each<[string, unknown, string]>([
    ['a document that is no object', [], '#'],
    ['another JSON Schema draft', { $schema: 'https://json-schema.org/draft/2020-12/schema' }, '#/$schema'],
    ['a $ref', { properties: { a: { $ref: '#/definitions/a' } } }, '#/properties/a/$ref'],
    ['definitions', { definitions: {} }, '#/definitions'],
    ['a format', { properties: { email: { type: 'string', format: 'email' } } }, '#/properties/email/format'],
    ['const (draft 6)', { const: 1 }, '#/const'],
    ['an unknown type', { type: 'date' }, '#/type'],
    ['an unknown type in a list', { type: ['string', 'bigint'] }, '#/type'],
    ['required names that are not strings', { required: [1] }, '#/required'],
    ['properties that are not an object', { properties: [] }, '#/properties'],
    ['an empty anyOf', { anyOf: [] }, '#/anyOf'],
    ['items that are not a schema', { items: 'string' }, '#/items'],
    [
      'a nested unsupported keyword',
      { items: [{ type: 'string' }, { contentEncoding: 'base64' }] },
      '#/items/1/contentEncoding',
    ],
  ])('refuses %s, naming where', (_case, document, path) => {
    // Act
    const error = thrownBy(() => toApiGatewayJsonSchema(document));

    // Assess
    expect(error).toBeInstanceOf(JsonSchemaConversionError);
    expect(error.message).toMatch(`JSON Schema at ${path}: `);
  });
});
