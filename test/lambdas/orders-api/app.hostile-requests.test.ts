import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padSequenceNumber } from '../../../lambdas/shared/poll-results.js';
import {
  type ApiEventInit,
  orderBody,
  orderLine,
  responseHeader,
  responseJson,
} from '../../support/api-events.js';
import { localDynamoDb } from '../../support/dynamodb.js';
import { type ApiHarness, createApiHarness } from './api-harness.js';

/**
 * Malformed and hostile requests: each must get its exact status and `field`, never a 500, and leave every table as
 * it was. The tables hold one order, one vote and one poll result, so requests against existing items are covered.
 */

interface Seed {
  readonly orderId: string;
}

interface HostileCase {
  readonly name: string;
  readonly request: (seed: Seed) => ApiEventInit;
  readonly status: number;
  readonly field: string | null;
}

const UNKNOWN_ORDER_ID = '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e';
const POLL = 'seeded-poll';
const VOTER = 'seeded-voter';

const post = (body: unknown, extra: Partial<ApiEventInit> = {}): ApiEventInit => ({
  method: 'POST',
  path: '/orders',
  body,
  ...extra,
});
const patch = (orderId: string, body: unknown, extra: Partial<ApiEventInit> = {}): ApiEventInit => ({
  method: 'PATCH',
  path: `/orders/${orderId}`,
  body,
  ...extra,
});
const putVote = (
  body: unknown,
  pollId = POLL,
  voterId = VOTER,
  extra: Partial<ApiEventInit> = {},
): ApiEventInit => ({
  method: 'PUT',
  path: `/polls/${pollId}/votes/${voterId}`,
  body,
  ...extra,
});
const withLine = (line: Record<string, unknown>): Record<string, unknown> =>
  orderBody({ lines: [orderLine(line)] });

const CASES: readonly HostileCase[] = [
  // Body framing
  { name: 'POST without a body', request: () => post(undefined), status: 400, field: null },
  {
    name: 'POST with an empty body',
    request: () => post('', { headers: { 'Content-Type': 'application/json' } }),
    status: 400,
    field: null,
  },
  { name: 'truncated JSON', request: () => post('{"customerId":'), status: 400, field: null },
  {
    name: 'JSON with a trailing comma',
    request: () => post('{"customerId":"c",}'),
    status: 400,
    field: null,
  },
  { name: 'two JSON documents', request: () => post('{}{}'), status: 400, field: null },
  { name: 'a JSON array', request: () => post([orderBody()]), status: 400, field: null },
  { name: 'JSON null', request: () => post('null'), status: 400, field: null },
  { name: 'a JSON string', request: () => post('"order"'), status: 400, field: null },
  { name: 'a JSON number', request: () => post('42'), status: 400, field: null },
  {
    name: 'deeply nested arrays',
    request: () => post(`${'['.repeat(5000)}${']'.repeat(5000)}`),
    status: 400,
    field: null,
  },
  {
    name: 'a body over 16 KiB',
    request: () => post(orderBody({ customerId: 'x'.repeat(17_000) })),
    status: 413,
    field: null,
  },
  {
    name: 'a base64 body over 16 KiB',
    request: () => post(orderBody({ pad: 'x'.repeat(17_000) }), { base64: true }),
    status: 413,
    field: null,
  },
  {
    name: 'a base64 flag on a body that is not base64',
    request: () => post(orderBody(), { isBase64Encoded: true }),
    status: 400,
    field: null,
  },
  {
    name: 'base64 bytes that are not UTF-8',
    request: () =>
      post(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]).toString('base64'), { isBase64Encoded: true }),
    status: 400,
    field: null,
  },
  // Content-Type
  {
    name: 'no Content-Type',
    request: () => post(orderBody(), { headers: { 'Content-Type': null } }),
    status: 415,
    field: 'Content-Type',
  },
  {
    name: 'Content-Type text/plain',
    request: () => post(orderBody(), { headers: { 'Content-Type': 'text/plain' } }),
    status: 415,
    field: 'Content-Type',
  },
  {
    name: 'a form Content-Type',
    request: () => post('customerId=c', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
    status: 415,
    field: 'Content-Type',
  },
  {
    name: 'a Latin-1 charset',
    request: () => post(orderBody(), { headers: { 'content-type': 'application/json; charset=iso-8859-1' } }),
    status: 415,
    field: 'Content-Type',
  },
  {
    name: 'two different Content-Types',
    request: () => post(orderBody(), { multiValueHeaders: { 'Content-Type': ['text/plain'] } }),
    status: 400,
    field: 'Content-Type',
  },
  // Shape of the order
  {
    name: 'an unknown field',
    request: () => post(orderBody({ isAdmin: true })),
    status: 400,
    field: 'isAdmin',
  },
  {
    name: 'a __proto__ key',
    request: () => post(`{"__proto__":{"isAdmin":true},${JSON.stringify(orderBody()).slice(1)}`),
    status: 400,
    field: '__proto__',
  },
  {
    name: 'a constructor.prototype key in a line',
    request: () => post(withLine({ constructor: { prototype: { x: 1 } } })),
    status: 400,
    field: 'lines[0].constructor',
  },
  {
    name: 'a client-chosen status',
    request: () => post(orderBody({ status: 'DELIVERED' })),
    status: 400,
    field: 'status',
  },
  {
    name: 'a client-chosen total',
    request: () => post(orderBody({ totalCents: 1 })),
    status: 400,
    field: 'totalCents',
  },
  {
    name: 'a missing customerId',
    request: () => post(orderBody({ customerId: undefined })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'a numeric customerId',
    request: () => post(orderBody({ customerId: 42 })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'a NoSQL operator as customerId',
    request: () => post(orderBody({ customerId: { $ne: null } })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'an empty customerId',
    request: () => post(orderBody({ customerId: '' })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'a 129-character customerId',
    request: () => post(orderBody({ customerId: 'c'.repeat(129) })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'a Cyrillic look-alike in customerId',
    request: () => post(orderBody({ customerId: 'сust-1' })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'a zero-width space in customerId',
    request: () => post(orderBody({ customerId: 'cust\u200B1' })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'a right-to-left override in customerId',
    request: () => post(orderBody({ customerId: 'cust\u202E1' })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'a lone surrogate in customerId',
    request: () => post('{"customerId":"\\ud800","customerEmail":"a@b.co","currency":"EUR","lines":[]}'),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'a path-like customerId',
    request: () => post(orderBody({ customerId: '..' })),
    status: 400,
    field: 'customerId',
  },
  {
    name: 'an invalid email',
    request: () => post(orderBody({ customerEmail: 'not-an-email' })),
    status: 400,
    field: 'customerEmail',
  },
  {
    name: 'a header injection in the email',
    request: () => post(orderBody({ customerEmail: 'ada@example.com\r\nBcc: all@example.com' })),
    status: 400,
    field: 'customerEmail',
  },
  {
    name: 'a lower-case currency',
    request: () => post(orderBody({ currency: 'eur' })),
    status: 400,
    field: 'currency',
  },
  {
    name: 'a four-letter currency',
    request: () => post(orderBody({ currency: 'EURO' })),
    status: 400,
    field: 'currency',
  },
  { name: 'no lines', request: () => post(orderBody({ lines: [] })), status: 400, field: 'lines' },
  {
    name: 'lines as an object',
    request: () => post(orderBody({ lines: { 0: orderLine() } })),
    status: 400,
    field: 'lines',
  },
  {
    name: '101 lines',
    request: () =>
      post(orderBody({ lines: Array.from({ length: 101 }, (_, i) => orderLine({ sku: `S${i}` })) })),
    status: 400,
    field: 'lines',
  },
  {
    name: 'a line that is an array',
    request: () => post(orderBody({ lines: [['SKU-1', 1, 100]] })),
    status: 400,
    field: 'lines[0]',
  },
  { name: 'a zero quantity', request: () => post(withLine({ qty: 0 })), status: 400, field: 'lines[0].qty' },
  {
    name: 'a negative quantity',
    request: () => post(withLine({ qty: -1 })),
    status: 400,
    field: 'lines[0].qty',
  },
  {
    name: 'a fractional quantity',
    request: () => post(withLine({ qty: 1.5 })),
    status: 400,
    field: 'lines[0].qty',
  },
  {
    name: 'a quantity as a string',
    request: () => post(withLine({ qty: '2' })),
    status: 400,
    field: 'lines[0].qty',
  },
  {
    name: 'a quantity over the bound',
    request: () => post(withLine({ qty: 10_001 })),
    status: 400,
    field: 'lines[0].qty',
  },
  {
    name: 'a huge quantity',
    request: () => post(JSON.stringify(withLine({ qty: 1 })).replace('"qty":1', '"qty":1e308')),
    status: 400,
    field: 'lines[0].qty',
  },
  {
    name: 'a quantity beyond 2^64',
    request: () =>
      post(JSON.stringify(withLine({ qty: 1 })).replace('"qty":1', '"qty":123456789012345678901234567890')),
    status: 400,
    field: 'lines[0].qty',
  },
  {
    name: 'a negative price',
    request: () => post(withLine({ unitPriceCents: -100 })),
    status: 400,
    field: 'lines[0].unitPriceCents',
  },
  {
    name: 'a price over the bound',
    request: () => post(withLine({ unitPriceCents: 100_000_001 })),
    status: 400,
    field: 'lines[0].unitPriceCents',
  },
  {
    name: 'a price in decimal units',
    request: () => post(withLine({ unitPriceCents: 12.5 })),
    status: 400,
    field: 'lines[0].unitPriceCents',
  },
  {
    name: 'a null price',
    request: () => post(withLine({ unitPriceCents: null })),
    status: 400,
    field: 'lines[0].unitPriceCents',
  },
  {
    name: 'a SKU with a slash',
    request: () => post(withLine({ sku: 'a/b' })),
    status: 400,
    field: 'lines[0].sku',
  },
  {
    name: 'an unknown field in a line',
    request: () => post(withLine({ discount: 100 })),
    status: 400,
    field: 'lines[0].discount',
  },
  {
    name: 'a duplicate SKU',
    request: () =>
      post(
        orderBody({
          lines: [orderLine({ sku: 'A' }), orderLine({ sku: 'B' }), orderLine({ sku: 'A', qty: 2 })],
        }),
      ),
    status: 400,
    field: 'lines[2].sku',
  },
  // Idempotency-Key
  {
    name: 'an empty Idempotency-Key',
    request: () => post(orderBody(), { headers: { 'Idempotency-Key': '' } }),
    status: 400,
    field: 'Idempotency-Key',
  },
  {
    name: 'a 129-character Idempotency-Key',
    request: () => post(orderBody(), { headers: { 'Idempotency-Key': 'k'.repeat(129) } }),
    status: 400,
    field: 'Idempotency-Key',
  },
  {
    name: 'an Idempotency-Key with spaces',
    request: () => post(orderBody(), { headers: { 'Idempotency-Key': 'my key' } }),
    status: 400,
    field: 'Idempotency-Key',
  },
  {
    name: 'a non-ASCII Idempotency-Key',
    request: () => post(orderBody(), { headers: { 'Idempotency-Key': 'ключ' } }),
    status: 400,
    field: 'Idempotency-Key',
  },
  {
    name: 'two Idempotency-Keys in two spellings',
    request: () =>
      post(orderBody(), {
        headers: { 'Idempotency-Key': 'a' },
        multiValueHeaders: { 'idempotency-key': ['b'] },
      }),
    status: 400,
    field: 'Idempotency-Key',
  },
  {
    name: 'a valid Idempotency-Key with an invalid body',
    request: () => post(withLine({ qty: 0 }), { headers: { 'Idempotency-Key': 'valid-key' } }),
    status: 400,
    field: 'lines[0].qty',
  },
  // Orders by id
  {
    name: 'GET with an id that is no UUID',
    request: () => ({ method: 'GET', path: '/orders/not-a-uuid' }),
    status: 400,
    field: 'orderId',
  },
  {
    name: 'GET with an encoded path step',
    request: () => ({ method: 'GET', path: '/orders/%2e%2e' }),
    status: 400,
    field: 'orderId',
  },
  {
    name: 'GET of an unknown order',
    request: () => ({ method: 'GET', path: `/orders/${UNKNOWN_ORDER_ID}` }),
    status: 404,
    field: null,
  },
  {
    name: 'PATCH to an unknown status',
    request: (s) => patch(s.orderId, { status: 'REFUNDED' }),
    status: 400,
    field: 'status',
  },
  {
    name: 'PATCH to a lower-case status',
    request: (s) => patch(s.orderId, { status: 'paid' }),
    status: 400,
    field: 'status',
  },
  {
    name: 'PATCH with a status array',
    request: (s) => patch(s.orderId, { status: ['PAID'] }),
    status: 400,
    field: 'status',
  },
  { name: 'PATCH with an empty object', request: (s) => patch(s.orderId, {}), status: 400, field: 'status' },
  {
    name: 'PATCH that also sets the version',
    request: (s) => patch(s.orderId, { status: 'PAID', version: 99 }),
    status: 400,
    field: 'version',
  },
  {
    name: 'PATCH as text/plain',
    request: (s) => patch(s.orderId, { status: 'PAID' }, { headers: { 'Content-Type': 'text/plain' } }),
    status: 415,
    field: 'Content-Type',
  },
  {
    name: 'PATCH with a stale If-Match',
    request: (s) => patch(s.orderId, { status: 'PAID' }, { headers: { 'If-Match': '"7"' } }),
    status: 412,
    field: 'If-Match',
  },
  {
    name: 'PATCH with a garbage If-Match',
    request: (s) => patch(s.orderId, { status: 'PAID' }, { headers: { 'If-Match': 'abc' } }),
    status: 400,
    field: 'If-Match',
  },
  {
    name: 'PATCH with a weak If-Match',
    request: (s) => patch(s.orderId, { status: 'PAID' }, { headers: { 'If-Match': 'W/"1"' } }),
    status: 400,
    field: 'If-Match',
  },
  {
    name: 'PATCH with an If-Match list',
    request: (s) => patch(s.orderId, { status: 'PAID' }, { headers: { 'If-Match': '"1", "2"' } }),
    status: 400,
    field: 'If-Match',
  },
  {
    name: 'PATCH with a forbidden transition',
    request: (s) => patch(s.orderId, { status: 'DELIVERED' }),
    status: 409,
    field: 'status',
  },
  {
    name: 'PATCH to the current status',
    request: (s) => patch(s.orderId, { status: 'PLACED' }),
    status: 409,
    field: 'status',
  },
  {
    name: 'PATCH of an unknown order',
    request: () => patch(UNKNOWN_ORDER_ID, { status: 'PAID' }),
    status: 404,
    field: null,
  },
  {
    name: 'DELETE with a stale If-Match',
    request: (s) => ({ method: 'DELETE', path: `/orders/${s.orderId}`, headers: { 'If-Match': '2' } }),
    status: 412,
    field: 'If-Match',
  },
  {
    name: 'DELETE of an unknown order',
    request: () => ({ method: 'DELETE', path: `/orders/${UNKNOWN_ORDER_ID}` }),
    status: 404,
    field: null,
  },
  // Routing
  {
    name: 'DELETE on the collection',
    request: () => ({ method: 'DELETE', path: '/orders' }),
    status: 405,
    field: null,
  },
  {
    name: 'GET on the collection',
    request: () => ({ method: 'GET', path: '/orders' }),
    status: 405,
    field: null,
  },
  {
    name: 'PUT on an order',
    request: (s) => ({ method: 'PUT', path: `/orders/${s.orderId}`, body: orderBody() }),
    status: 405,
    field: null,
  },
  {
    name: 'a method named like a prototype member',
    request: () => ({ method: 'constructor', path: '/orders' }),
    status: 405,
    field: null,
  },
  {
    name: 'POST on poll results',
    request: () => ({ method: 'POST', path: `/polls/${POLL}/results`, body: {} }),
    status: 405,
    field: null,
  },
  { name: 'an unknown path', request: () => ({ method: 'GET', path: '/admin' }), status: 404, field: null },
  {
    name: 'a path below an order',
    request: (s) => ({ method: 'GET', path: `/orders/${s.orderId}/lines` }),
    status: 404,
    field: null,
  },
  // Votes and results
  { name: 'a vote without option', request: () => putVote({}), status: 400, field: 'option' },
  { name: 'a numeric option', request: () => putVote({ option: 1 }), status: 400, field: 'option' },
  {
    name: 'a non-ASCII option',
    request: () => putVote({ option: 'margheritа' }),
    status: 400,
    field: 'option',
  },
  {
    name: 'a vote with an extra field',
    request: () => putVote({ option: 'a', weight: 100 }),
    status: 400,
    field: 'weight',
  },
  { name: 'a vote as an array', request: () => putVote([{ option: 'a' }]), status: 400, field: null },
  {
    name: 'a percent-encoded pollId',
    request: () => putVote({ option: 'a' }, 'poll%2F1'),
    status: 400,
    field: 'pollId',
  },
  {
    name: 'a 129-character voterId',
    request: () => putVote({ option: 'a' }, POLL, 'v'.repeat(129)),
    status: 400,
    field: 'voterId',
  },
  {
    name: 'a vote without Content-Type',
    request: () => putVote({ option: 'a' }, POLL, VOTER, { headers: { 'Content-Type': null } }),
    status: 415,
    field: 'Content-Type',
  },
  {
    name: 'DELETE of a vote never cast',
    request: () => ({ method: 'DELETE', path: `/polls/${POLL}/votes/nobody` }),
    status: 404,
    field: null,
  },
  {
    name: 'results of an unknown poll',
    request: () => ({ method: 'GET', path: '/polls/no-such-poll/results' }),
    status: 404,
    field: null,
  },
  {
    name: 'results of an invalid pollId',
    request: () => ({ method: 'GET', path: '/polls/.hidden/results' }),
    status: 400,
    field: 'pollId',
  },
];

let harness: ApiHarness;
let seed: Seed;

beforeAll(async () => {
  harness = await createApiHarness();
  const order = await harness.call({ method: 'POST', path: '/orders', body: orderBody() });
  const vote = await harness.call({
    method: 'PUT',
    path: `/polls/${POLL}/votes/${VOTER}`,
    body: { option: 'a' },
  });
  if (order.statusCode !== 201 || vote.statusCode !== 201) {
    throw new Error(`Seeding failed: ${order.statusCode} ${vote.statusCode}`);
  }
  await localDynamoDb().documentClient.send(
    new PutCommand({
      TableName: harness.tables.PollResults,
      Item: {
        pollId: POLL,
        counts: { a: 1 },
        total: 1,
        lastSeq: padSequenceNumber('1'),
        asOf: '2030-01-01T00:00:00.000Z',
      },
    }),
  );
  seed = { orderId: (responseJson(order) as { orderId: string }).orderId };
});

afterAll(async () => {
  await harness.tables.drop();
});

describe('malformed and hostile requests', () => {
  it('has at least 50 cases, each named once', () => {
    // Assess
    expect(CASES.length).toBeGreaterThanOrEqual(50);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES)('$name -> $status ($field)', async ({ request, status, field }) => {
    // Prepare
    const before = await harness.snapshot();

    // Act
    const response = await harness.call(request(seed));

    // Assess
    expect({ status: response.statusCode, body: responseJson(response) }).toEqual({
      status,
      body: { error: expect.any(String), field },
    });
    expect(responseHeader(response, 'Content-Type')).toBe('application/json; charset=utf-8');
    expect(harness.logger.entries).toEqual([]);
    expect(await harness.snapshot()).toEqual(before);
  });
});
