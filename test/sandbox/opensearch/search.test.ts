import { describe, expect, it } from 'vitest';
import type { Order } from '../../../lambdas/shared/orders/order.js';
import { searchRequestBody } from '../../../lambdas/shared/search/opensearch-order-search.js';
import {
  ORDERS_INDEX_MAPPINGS,
  tombstoneDocument,
  toOrderDocument,
} from '../../../lambdas/shared/search/orders-index.js';
import { parseMappings } from '../../../sandbox/opensearch/mappings.js';
import {
  analyze,
  countDocuments,
  executeSearch,
  parseSimpleQueryString,
  SearchRequestError,
} from '../../../sandbox/opensearch/search.js';
import { VersionedIndex } from '../../../sandbox/opensearch/versioned-index.js';
import { storedOrder } from '../../support/orders.js';

function order(n: number, overrides: Partial<Order> = {}): Order {
  return storedOrder({
    orderId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    updatedAt: `2030-01-01T00:00:0${n}.000Z`,
    ...overrides,
  });
}

/** The `orders` index with its real mappings and the given orders (and tombstones) in it. */
function ordersIndex(orders: readonly Order[], deleted: readonly Order[] = []): VersionedIndex {
  const index = new VersionedIndex({ name: 'orders', mappings: parseMappings(ORDERS_INDEX_MAPPINGS) });
  for (const item of orders) {
    const result = index.index(item.orderId, toOrderDocument(item), {
      version: item.version,
      versionType: 'external_gte',
    });
    expect(result.ok).toBe(true);
  }
  for (const item of deleted) {
    const tombstone = tombstoneDocument(item.orderId, item.version, '2030-01-02T00:00:00.000Z', 'user');
    index.index(item.orderId, tombstone, { version: tombstone.version, versionType: 'external_gte' });
  }
  return index;
}

function search(
  index: VersionedIndex,
  body: unknown,
  parameters?: URLSearchParams,
): ReturnType<typeof executeSearch> {
  return executeSearch('orders', index.mappings, index.documents(), body, parameters);
}

function ids(response: ReturnType<typeof executeSearch>): string[] {
  return response.hits.hits.map((hit) => hit._id.slice(-1));
}

describe('executeSearch: the queries of the API (OpenSearchOrderSearch)', () => {
  const orders = [
    order(1, { customerId: 'cust-a', customerEmail: 'ada@example.com', status: 'PAID' }),
    order(2, {
      customerId: 'cust-b',
      customerEmail: 'bob@example.com',
      lines: [{ sku: 'SKU-0007', qty: 1, unitPriceCents: 5 }],
    }),
    order(3, { customerId: 'cust-a', customerEmail: 'Lovelace-Ada@Example.org' }),
    order(4, { customerId: 'cust-c', customerEmail: 'ada@example.com' }),
  ];

  it('excludes tombstones and sorts by updatedAt desc, then order id', () => {
    // Prepare
    const index = ordersIndex(orders, [order(5, { updatedAt: '2031-01-01T00:00:00.000Z' })]);

    // Act
    const response = search(index, searchRequestBody({ limit: 10 }));

    // Assess
    expect(ids(response)).toEqual(['4', '3', '2', '1']);
    expect(response.hits.hits[0]?.sort).toEqual([Date.parse('2030-01-01T00:00:04.000Z'), orders[3]!.orderId]);
    expect(response.hits.total).toBeUndefined();
  });

  it.each([
    ['status', { status: 'PAID' as const }, ['1']],
    ['customerId', { customerId: 'cust-a' }, ['3', '1']],
    ['an e-mail: every word of it', { q: 'ada@example.com' }, ['4', '1']],
    ['a word of an e-mail, case-insensitively', { q: 'ADA' }, ['4', '3', '1']],
    ['an order id, whatever its case', { q: order(2).orderId.toUpperCase() }, ['2']],
    ['a customer id', { q: 'cust-c' }, ['4']],
    ['a SKU of any line', { q: 'SKU-0007' }, ['2']],
    ['a prefix', { q: 'lovel*' }, ['3']],
    ['an OR of words', { q: 'bob | lovelace' }, ['3', '2']],
    ['a negation', { q: 'ada -example.org' }, ['4', '1']],
    ['a phrase', { q: '"lovelace ada"' }, ['3']],
    ['words out of a phrase', { q: '"ada lovelace"' }, []],
    ['a dotted word as one token', { q: 'example' }, []],
    ['a group', { q: '(bob | lovelace) example.com' }, ['2']],
  ])('filters by %s', (_name, query, expected) => {
    // Prepare
    const index = ordersIndex(orders);

    // Act
    const response = search(index, searchRequestBody({ limit: 10, ...query }));

    // Assess
    expect(ids(response)).toEqual(expected);
  });

  it('pages with size and search_after from the last sort values', () => {
    // Prepare
    const index = ordersIndex(orders);
    const first = search(index, searchRequestBody({ limit: 2 }));
    const last = first.hits.hits[1]!.sort as [number, string];

    // Act
    const second = search(index, searchRequestBody({ limit: 2 }, last));

    // Assess
    expect(ids(first)).toEqual(['4', '3', '2']);
    expect(ids(second)).toEqual(['2', '1']);
  });
});

describe('executeSearch: strictness', () => {
  it.each([
    [
      'an unsupported query',
      { query: { wildcard: { orderId: 'a*' } } },
      'local_server_unsupported_exception',
    ],
    [
      'an unsupported body part',
      { aggs: { n: { terms: { field: 'status' } } } },
      'local_server_unsupported_exception',
    ],
    ['an unknown body key', { querry: {} }, 'parsing_exception'],
    ['a bool with an unknown clause', { query: { bool: { musts: [] } } }, 'parsing_exception'],
    ['a sort on a text field', { sort: ['customerEmail'] }, 'illegal_argument_exception'],
    ['a sort on _id', { sort: ['_id'] }, 'illegal_argument_exception'],
    ['search_after without a sort', { search_after: [1] }, 'illegal_argument_exception'],
    [
      'search_after of the wrong length',
      { sort: ['updatedAt'], search_after: [1, 'x'] },
      'illegal_argument_exception',
    ],
    [
      'a term on a long that is not a number',
      { query: { term: { version: 'two' } } },
      'query_shard_exception',
    ],
    ['a window over 10,000', { from: 9_999, size: 2 }, 'illegal_argument_exception'],
    [
      'fuzziness',
      { query: { simple_query_string: { query: 'ada~1', fields: ['customerEmail'] } } },
      'local_server_unsupported_exception',
    ],
  ])('refuses %s with a 400', (_name, body, type) => {
    // Prepare
    const index = ordersIndex([order(1)]);

    // Act
    const run = (): unknown => search(index, body);

    // Assess
    expect(run).toThrow(SearchRequestError);
    try {
      run();
    } catch (error) {
      expect((error as SearchRequestError).status).toBe(400);
      expect((error as SearchRequestError).errorCause.type).toBe(type);
    }
  });

  it('matches nothing for a term on an unmapped field, as OpenSearch does', () => {
    // Prepare
    const index = ordersIndex([order(1)]);

    // Act
    const response = search(index, { query: { term: { nope: 'x' } } });

    // Assess
    expect(response.hits.hits).toEqual([]);
  });

  it('counts total hits, scores without a sort, and filters _source', () => {
    // Prepare
    const index = ordersIndex([order(1), order(2)]);

    // Act
    const response = search(index, { query: { match_all: {} }, _source: ['orderId', 'lines.sku'], size: 1 });

    // Assess
    expect(response.hits.total).toEqual({ value: 2, relation: 'eq' });
    expect(response.hits.hits).toEqual([
      {
        _index: 'orders',
        _id: order(1).orderId,
        _score: 1,
        _source: { orderId: order(1).orderId, lines: [{ sku: 'A' }] },
      },
    ]);
  });
});

describe('countDocuments', () => {
  it('counts every live document, or those a query matches', () => {
    // Prepare
    const index = ordersIndex([order(1), order(2, { status: 'PAID' })], [order(3)]);

    // Act
    const all = countDocuments(index.mappings, index.documents(), undefined);
    const paid = countDocuments(index.mappings, index.documents(), { query: { term: { status: 'PAID' } } });

    // Assess
    expect([all, paid]).toEqual([3, 1]);
  });
});

describe('analyze', () => {
  it('splits like the standard analyzer: e-mails at @, dotted words kept, lower case', () => {
    // Act
    const tokens = analyze("Ada.Lovelace@Example.ORG, o'neil  SKU-0007");

    // Assess
    expect(tokens).toEqual(['ada.lovelace', 'example.org', "o'neil", 'sku', '0007']);
  });
});

describe('parseSimpleQueryString', () => {
  const all = new Set(['ALL']);

  it('binds operators left to right, starting a new parent when the operator changes', () => {
    // Act
    const tree = parseSimpleQueryString('a | b c', all, 'and');

    // Assess
    expect(tree).toEqual({
      kind: 'bool',
      occur: 'must',
      clauses: [
        {
          kind: 'bool',
          occur: 'should',
          clauses: [
            { kind: 'term', text: 'a', prefix: false },
            { kind: 'term', text: 'b', prefix: false },
          ],
        },
        { kind: 'term', text: 'c', prefix: false },
      ],
    });
  });

  it('keeps a dash inside a term, negates a leading one, and escapes with a backslash', () => {
    // Act
    const tree = parseSimpleQueryString('SKU-1 -x \\-y', all, 'or');

    // Assess
    expect(tree).toEqual({
      kind: 'bool',
      occur: 'should',
      clauses: [
        { kind: 'term', text: 'SKU-1', prefix: false },
        { kind: 'not', node: { kind: 'term', text: 'x', prefix: false } },
        { kind: 'term', text: '-y', prefix: false },
      ],
    });
  });

  it('takes the whole query as one literal term with flags NONE (whitespace is an operator too)', () => {
    // Act
    const tree = parseSimpleQueryString('-a* "b', new Set(['NONE']), 'or');

    // Assess
    expect(tree).toEqual({ kind: 'term', text: '-a* "b', prefix: false });
  });
});
