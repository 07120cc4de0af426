import {
  InvalidCursorError,
  type OrderDocument,
  type OrderSearch,
  type OrderSearchPage,
  type OrderSearchQuery,
} from '../../../lambdas/shared/search/orders-index.js';

/**
 * OrderSearch in memory, for the API's tests: the port's contract (live orders only, newest `updatedAt` first then
 * by order id, `q` on the e-mail's words or exactly on an id, an opaque cursor, InvalidCursorError for a cursor it did
 * not issue) without OpenSearch. It records every query and can be told to fail like an outage.
 */
export class InMemoryOrderSearch implements OrderSearch {
  public readonly queries: OrderSearchQuery[] = [];
  /** Thrown by every search while set. */
  public failWith: Error | undefined;
  readonly #documents = new Map<string, OrderDocument>();

  public constructor(documents: readonly OrderDocument[] = []) {
    for (const document of documents) this.put(document);
  }

  public put(document: OrderDocument): void {
    this.#documents.set(document.orderId, document);
  }

  public async search(query: OrderSearchQuery): Promise<OrderSearchPage> {
    this.queries.push(query);
    if (this.failWith !== undefined) {
      throw this.failWith;
    }
    const after = query.cursor === undefined ? undefined : decode(query.cursor);
    const matching = [...this.#documents.values()]
      .filter((document) => query.status === undefined || document.status === query.status)
      .filter((document) => query.customerId === undefined || document.customerId === query.customerId)
      .filter((document) => matchesText(document, query.q))
      .sort(compare)
      .filter((document) => after === undefined || compare(document, after) > 0);
    const items = matching.slice(0, query.limit);
    const last = items.at(-1);
    return matching.length > query.limit && last !== undefined
      ? { items, nextCursor: encode({ updatedAt: last.updatedAt, orderId: last.orderId }) }
      : { items };
  }
}

type Position = Pick<OrderDocument, 'updatedAt' | 'orderId'>;

function compare(a: Position, b: Position): number {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt < b.updatedAt ? 1 : -1;
  return a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0;
}

function matchesText(document: OrderDocument, q: string | undefined): boolean {
  const text = q?.trim();
  if (text === undefined || text === '') return true;
  const email = document.customerEmail.toLowerCase();
  const words = text.toLowerCase().split(/\s+/);
  return (
    words.every((word) => email.includes(word)) ||
    document.orderId === text.toLowerCase() ||
    document.customerId === text ||
    document.lines.some((line) => line.sku === text)
  );
}

function encode(position: Position): string {
  return Buffer.from(JSON.stringify([position.updatedAt, position.orderId])).toString('base64url');
}

function decode(cursor: string): Position {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      encode({ updatedAt: value[0], orderId: value[1] }) === cursor
    ) {
      return { updatedAt: value[0], orderId: value[1] };
    }
  } catch {
    // Not JSON: not ours.
  }
  throw new InvalidCursorError();
}
