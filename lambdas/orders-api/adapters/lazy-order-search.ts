import type { OrderSearch, OrderSearchPage, OrderSearchQuery } from '../../shared/search/orders-index.js';

/**
 * An OrderSearch that builds the real one on its first search, for a composition root whose search adapter is
 * costly to load and serves one route only (the orders API's `GET /orders/search`): the other routes' cold starts
 * do not pay for it. Concurrent first searches share one load; a load that fails is not remembered, so the next
 * search tries again (and the route answers that search's failure as any other).
 */
export class LazyOrderSearch implements OrderSearch {
  readonly #load: () => Promise<OrderSearch>;
  #loaded: Promise<OrderSearch> | undefined;

  public constructor(load: () => Promise<OrderSearch>) {
    this.#load = load;
  }

  public async search(query: OrderSearchQuery): Promise<OrderSearchPage> {
    this.#loaded ??= this.#load().catch((error: unknown) => {
      this.#loaded = undefined;
      throw error;
    });
    const search = await this.#loaded;
    return search.search(query);
  }
}
