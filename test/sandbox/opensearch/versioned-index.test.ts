import { describe, expect, it } from 'vitest';
import { ORDERS_INDEX_MAPPINGS } from '../../../lambdas/shared/search/orders-index.js';
import { parseMappings } from '../../../sandbox/opensearch/mappings.js';
import { DEFAULT_GC_DELETES_MS, VersionedIndex } from '../../../sandbox/opensearch/versioned-index.js';

/** An index on a clock the test moves. */
function indexWithClock(options: { strict?: boolean } = {}): {
  index: VersionedIndex;
  clock: { now: number };
} {
  const clock = { now: 1_000_000 };
  const index = new VersionedIndex({
    name: 'orders',
    clock: () => clock.now,
    ...(options.strict === true ? { mappings: parseMappings(ORDERS_INDEX_MAPPINGS) } : {}),
  });
  return { index, clock };
}

describe('VersionedIndex: external versioning', () => {
  it('external_gte accepts an equal or higher version and refuses a lower one with 409', () => {
    // Prepare
    const { index } = indexWithClock();
    index.index('o-1', { v: 3 }, { version: 3, versionType: 'external_gte' });

    // Act
    const equal = index.index('o-1', { v: 33 }, { version: 3, versionType: 'external_gte' });
    const lower = index.index('o-1', { v: 2 }, { version: 2, versionType: 'external_gte' });
    const higher = index.index('o-1', { v: 5 }, { version: 5, versionType: 'external_gte' });

    // Assess
    expect(equal).toMatchObject({ ok: true, status: 200, result: 'updated', version: 3 });
    expect(lower).toMatchObject({
      ok: false,
      status: 409,
      error: {
        type: 'version_conflict_engine_exception',
        reason: '[o-1]: version conflict, current version [3] is higher than the one provided [2]',
        index: 'orders',
      },
    });
    expect(higher).toMatchObject({ ok: true, result: 'updated', version: 5 });
    expect(index.get('o-1')).toMatchObject({ version: 5, source: { v: 5 } });
  });

  it('external needs a strictly higher version', () => {
    // Prepare
    const { index } = indexWithClock();
    const created = index.index('o-1', { v: 1 }, { version: 1, versionType: 'external' });

    // Act
    const equal = index.index('o-1', { v: 11 }, { version: 1, versionType: 'external' });

    // Assess
    expect(created).toMatchObject({ ok: true, status: 201, result: 'created', version: 1 });
    expect(equal).toMatchObject({
      ok: false,
      status: 409,
      error: {
        reason: '[o-1]: version conflict, current version [1] is higher or equal to the one provided [1]',
      },
    });
    expect(index.get('o-1')?.source).toEqual({ v: 1 });
  });

  it('refuses a missing, negative or internal-typed version with 400', () => {
    // Prepare
    const { index } = indexWithClock();

    // Act
    const results = [
      index.index('o-1', {}, { versionType: 'external_gte' }),
      index.index('o-1', {}, { version: -1, versionType: 'external' }),
      index.index('o-1', {}, { version: 2 }),
      index.index('o-1', {}, { version: 2, versionType: 'external', opType: 'create' }),
    ];

    // Assess
    expect(results.map((result) => [result.status, !result.ok && result.error.type])).toEqual([
      [400, 'action_request_validation_exception'],
      [400, 'action_request_validation_exception'],
      [400, 'action_request_validation_exception'],
      [400, 'action_request_validation_exception'],
    ]);
    expect(index.count).toBe(0);
  });
});

describe('VersionedIndex: internal versioning', () => {
  it('increments the version on every write, and create fails when the document exists', () => {
    // Prepare
    const { index } = indexWithClock();

    // Act
    const first = index.index('a', { n: 1 });
    const second = index.index('a', { n: 2 });
    const create = index.index('a', { n: 3 }, { opType: 'create' });
    const createOther = index.index('b', { n: 1 }, { opType: 'create' });

    // Assess
    expect([first, second].map((result) => result.ok && result.version)).toEqual([1, 2]);
    expect(create).toMatchObject({
      status: 409,
      error: { reason: '[a]: version conflict, document already exists (current version [2])' },
    });
    expect(createOther).toMatchObject({ status: 201, version: 1 });
  });
});

describe('VersionedIndex: deletes and gc_deletes', () => {
  it('remembers a deleted version for gc_deletes, then forgets it: a stale write comes back', () => {
    // Prepare
    const { index, clock } = indexWithClock();
    index.index('o-1', { status: 'PAID' }, { version: 2, versionType: 'external_gte' });
    const deleted = index.delete('o-1');

    // Act: a stale version 1 within gc_deletes, then once it has passed.
    clock.now += DEFAULT_GC_DELETES_MS - 1;
    const within = index.index('o-1', { status: 'PLACED' }, { version: 1, versionType: 'external_gte' });
    clock.now += 1;
    const after = index.index('o-1', { status: 'PLACED' }, { version: 1, versionType: 'external_gte' });

    // Assess
    expect(deleted).toMatchObject({ ok: true, status: 200, result: 'deleted', version: 3 });
    expect(within).toMatchObject({ ok: false, status: 409 });
    expect(after).toMatchObject({ ok: true, status: 201, result: 'created', version: 1 });
    expect(index.get('o-1')?.source).toEqual({ status: 'PLACED' });
  });

  it('a tombstone document is a live document: it wins over a stale write whenever it lands', () => {
    // Prepare
    const { index, clock } = indexWithClock();
    index.index('o-1', { deleted: true }, { version: 3, versionType: 'external_gte' });

    // Act
    clock.now += DEFAULT_GC_DELETES_MS * 100;
    const stale = index.index('o-1', { deleted: false }, { version: 2, versionType: 'external_gte' });

    // Assess
    expect(stale).toMatchObject({ ok: false, status: 409 });
    expect(index.get('o-1')).toMatchObject({ version: 3, source: { deleted: true } });
  });

  it('a delete of a missing document answers not_found and still records its version', () => {
    // Prepare
    const { index } = indexWithClock();

    // Act
    const deleted = index.delete('o-1', { version: 7, versionType: 'external' });
    const stale = index.index('o-1', {}, { version: 6, versionType: 'external_gte' });

    // Assess
    expect(deleted).toMatchObject({ ok: true, status: 404, result: 'not_found', version: 7 });
    expect(stale).toMatchObject({ ok: false, status: 409 });
    expect(index.deletedVersions().get('o-1')).toEqual({
      version: 7,
      expiresAt: 1_000_000 + DEFAULT_GC_DELETES_MS,
    });
  });

  it('an external delete must beat the stored version', () => {
    // Prepare
    const { index } = indexWithClock();
    index.index('o-1', {}, { version: 4, versionType: 'external' });

    // Act
    const older = index.delete('o-1', { version: 3, versionType: 'external' });

    // Assess
    expect(older).toMatchObject({ ok: false, status: 409 });
    expect(index.get('o-1')?.version).toBe(4);
  });
});

describe('VersionedIndex: strict mappings', () => {
  const order = {
    orderId: 'o-1',
    customerId: 'c-1',
    customerEmail: 'ada@example.com',
    currency: 'EUR',
    totalCents: 100,
    status: 'PLACED',
    version: 1,
    createdAt: '2024-05-01T12:00:00.000Z',
    updatedAt: '2024-05-01T12:00:00.000Z',
    lines: [{ sku: 'A', qty: 1, unitPriceCents: 100 }],
    deleted: false,
  };

  it.each([
    [
      'an unknown field',
      { ...order, note: 'x' },
      'strict_dynamic_mapping_exception',
      /dynamic introduction of \[note\] within \[_doc\]/,
    ],
    [
      'an unknown field of a line',
      { ...order, lines: [{ sku: 'A', qty: 1, unitPriceCents: 1, x: 1 }] },
      'strict_dynamic_mapping_exception',
      /\[x\] within \[lines\]/,
    ],
    [
      'a string for a long',
      { ...order, totalCents: 'lots' },
      'mapper_parsing_exception',
      /field \[totalCents\] of type \[long\]/,
    ],
    [
      'a fraction for a long',
      { ...order, version: 1.5 },
      'mapper_parsing_exception',
      /\[version\] of type \[long\]/,
    ],
    [
      'an integer out of range',
      { ...order, lines: [{ sku: 'A', qty: 2 ** 31, unitPriceCents: 1 }] },
      'mapper_parsing_exception',
      /\[lines.qty\] of type \[integer\]/,
    ],
    [
      'a word for a boolean',
      { ...order, deleted: 'no' },
      'mapper_parsing_exception',
      /\[deleted\] of type \[boolean\]/,
    ],
    [
      'a non-date for a date',
      { ...order, updatedAt: 'yesterday' },
      'mapper_parsing_exception',
      /\[updatedAt\] of type \[date\]/,
    ],
    [
      'epoch millis for a strict_date_optional_time date',
      { ...order, createdAt: 1_714_564_800_000 },
      'mapper_parsing_exception',
      /\[createdAt\]/,
    ],
    [
      'an object for a keyword',
      { ...order, status: { S: 'PLACED' } },
      'mapper_parsing_exception',
      /\[status\] of type \[keyword\]/,
    ],
    [
      'a value for an object',
      { ...order, lines: 'A' },
      'mapper_parsing_exception',
      /object mapping for \[lines\]/,
    ],
  ])('refuses %s with 400', (_name, source, type, reason) => {
    // Prepare
    const { index } = indexWithClock({ strict: true });

    // Act
    const result = index.index('o-1', source, { version: 1, versionType: 'external_gte' });

    // Assess
    expect(result).toMatchObject({ ok: false, status: 400, error: { type } });
    expect(!result.ok && result.error.reason).toMatch(reason);
    expect(index.count).toBe(0);
  });

  it('accepts the order documents and tombstones the sync writes, nulls and numeric strings', () => {
    // Prepare
    const { index } = indexWithClock({ strict: true });

    // Act
    const results = [
      index.index('o-1', order, { version: 1, versionType: 'external_gte' }),
      index.index(
        'o-2',
        { orderId: 'o-2', version: 4, deleted: true, deletedAt: '2024-05-01T12:00:00Z', removedBy: 'ttl' },
        { version: 4, versionType: 'external_gte' },
      ),
      index.index('o-3', { ...order, orderId: 'o-3', customerEmail: null, totalCents: '100' }),
    ];

    // Assess
    expect(results.map((result) => result.ok)).toEqual([true, true, true]);
  });

  it('maps new fields from their first value under dynamic mappings, then enforces them', () => {
    // Prepare
    const { index } = indexWithClock();
    index.index('a', { count: 1, when: '2024-05-01T12:00:00Z', name: 'x', nested: { flag: true } });

    // Act
    const wrong = index.index('b', { count: 'many' });
    const date = index.index('c', { when: 'not a date' });

    // Assess
    expect(index.mappings.properties).toMatchObject({
      count: { type: 'long' },
      when: { type: 'date' },
      name: { type: 'text', fields: { keyword: { type: 'keyword' } } },
      nested: { type: 'object', properties: { flag: { type: 'boolean' } } },
    });
    expect(wrong).toMatchObject({ ok: false, status: 400, error: { type: 'mapper_parsing_exception' } });
    expect(date).toMatchObject({ ok: false, status: 400 });
  });
});
