import { describe, expect, it, vi } from 'vitest';
import { LazyOrderSearch } from '../../../../lambdas/orders-api/adapters/lazy-order-search.js';
import type { OrderSearch, OrderSearchQuery } from '../../../../lambdas/shared/search/orders-index.js';
import { InMemoryOrderSearch } from '../in-memory-order-search.js';

const QUERY: OrderSearchQuery = { q: 'ada', limit: 10 };

describe('LazyOrderSearch', () => {
  it('loads nothing until the first search', () => {
    // Prepare
    const load = vi.fn(async (): Promise<OrderSearch> => new InMemoryOrderSearch());

    // Act
    new LazyOrderSearch(load);

    // Assess
    expect(load).not.toHaveBeenCalled();
  });

  it('loads once, on the first search, and hands every search to what it loaded', async () => {
    // Prepare
    const inner = new InMemoryOrderSearch();
    const load = vi.fn(async (): Promise<OrderSearch> => inner);
    const search = new LazyOrderSearch(load);

    // Act
    const pages = [await search.search(QUERY), await search.search({ ...QUERY, status: 'PLACED' })];

    // Assess
    expect(load).toHaveBeenCalledTimes(1);
    expect(inner.queries).toEqual([QUERY, { ...QUERY, status: 'PLACED' }]);
    expect(pages).toEqual([{ items: [] }, { items: [] }]);
  });

  it('shares one load between searches that start together', async () => {
    // Prepare
    const load = vi.fn(async (): Promise<OrderSearch> => new InMemoryOrderSearch());
    const search = new LazyOrderSearch(load);

    // Act
    await Promise.all([search.search(QUERY), search.search(QUERY), search.search(QUERY)]);

    // Assess
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('fails the search whose load fails, and loads again on the next one', async () => {
    // Prepare
    const outage = new Error('could not load');
    const load = vi
      .fn<() => Promise<OrderSearch>>()
      .mockRejectedValueOnce(outage)
      .mockResolvedValue(new InMemoryOrderSearch());
    const search = new LazyOrderSearch(load);

    // Act
    const first = search.search(QUERY);
    await expect(first).rejects.toBe(outage);
    const second = await search.search(QUERY);

    // Assess
    expect(second).toEqual({ items: [] });
    expect(load).toHaveBeenCalledTimes(2);
  });
});
