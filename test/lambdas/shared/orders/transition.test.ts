import { describe, expect, it } from 'vitest';
import type { Order, OrderStatus } from '../../../../lambdas/shared/orders/order.js';
import type {
  ConditionalDeleteOutcome,
  ConditionalWriteOutcome,
  CreateOrderOutcome,
  OrdersRepository,
  StatusChange,
} from '../../../../lambdas/shared/orders/orders-repository.js';
import { transitionOrder } from '../../../../lambdas/shared/orders/transition.js';
import { storedOrder } from '../../../support/orders.js';

const ORDER_ID = '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e';
const AT = '2030-01-02T03:04:05.000Z';

function order(overrides: Partial<Order> = {}): Order {
  return storedOrder({ orderId: ORDER_ID, ...overrides });
}

/**
 * An Orders table in memory with DynamoDB's conditional semantics, and a hook that plays a concurrent writer
 * between the read and the write: the only way to make races deterministic.
 */
class InMemoryOrders implements OrdersRepository {
  public readonly items = new Map<string, Order>();
  public gets = 0;
  public writes = 0;

  public constructor(
    initial: Order | undefined,
    private readonly beforeWrite: (repo: InMemoryOrders) => void = () => undefined,
  ) {
    if (initial !== undefined) {
      this.items.set(initial.orderId, initial);
    }
  }

  public async get(orderId: string): Promise<Order | undefined> {
    this.gets++;
    return this.items.get(orderId);
  }

  public async create(created: Order): Promise<CreateOrderOutcome> {
    const existing = this.items.get(created.orderId);
    if (existing !== undefined) {
      return { kind: 'exists', existing };
    }
    this.items.set(created.orderId, created);
    return { kind: 'created', order: created };
  }

  public async changeStatus(change: StatusChange): Promise<ConditionalWriteOutcome> {
    this.beforeWrite(this);
    this.writes++;
    const current = this.items.get(change.orderId);
    if (current?.version !== change.expectedVersion || current.status !== change.expectedStatus) {
      return { kind: 'conflict', current };
    }
    const updated = { ...current, status: change.to, version: current.version + 1, updatedAt: change.at };
    this.items.set(change.orderId, updated);
    return { kind: 'written', order: updated };
  }

  public async delete(orderId: string): Promise<ConditionalDeleteOutcome> {
    const current = this.items.get(orderId);
    this.items.delete(orderId);
    return current === undefined ? { kind: 'conflict', current } : { kind: 'deleted', order: current };
  }

  /** What a concurrent writer does: a status change with a version bump. */
  public concurrentChange(status: OrderStatus): void {
    const current = this.items.get(ORDER_ID);
    if (current !== undefined) {
      this.items.set(ORDER_ID, { ...current, status, version: current.version + 1 });
    }
  }
}

describe('transitionOrder', () => {
  it('changes the status, increments the version and sets updatedAt', async () => {
    // Prepare
    const repo = new InMemoryOrders(order());

    // Act
    const outcome = await transitionOrder(repo, { orderId: ORDER_ID, to: 'PAID', at: AT });

    // Assess
    expect(outcome).toEqual({ kind: 'changed', order: order({ status: 'PAID', version: 2, updatedAt: AT }) });
    expect(repo.items.get(ORDER_ID)).toEqual(order({ status: 'PAID', version: 2, updatedAt: AT }));
  });

  it('reports a missing order without writing', async () => {
    // Prepare
    const repo = new InMemoryOrders(undefined);

    // Act
    const outcome = await transitionOrder(repo, { orderId: ORDER_ID, to: 'PAID', at: AT });

    // Assess
    expect(outcome).toEqual({ kind: 'not-found' });
    expect(repo.writes).toBe(0);
  });

  it('reports a version other than the expected one without writing', async () => {
    // Prepare
    const repo = new InMemoryOrders(order({ version: 4 }));

    // Act
    const outcome = await transitionOrder(repo, {
      orderId: ORDER_ID,
      to: 'PAID',
      at: AT,
      expectedVersion: 3,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'version-mismatch', current: order({ version: 4 }) });
    expect(repo.writes).toBe(0);
  });

  it('refuses a forbidden transition without writing', async () => {
    // Prepare
    const repo = new InMemoryOrders(order({ status: 'SHIPPED', version: 3 }));

    // Act
    const outcome = await transitionOrder(repo, { orderId: ORDER_ID, to: 'CANCELLED', at: AT });

    // Assess
    expect(outcome).toEqual({ kind: 'forbidden', current: order({ status: 'SHIPPED', version: 3 }) });
    expect(repo.writes).toBe(0);
  });

  it('retries a lost race from the state the failed condition returned', async () => {
    // Prepare: a concurrent writer moves the order to BACKORDERED before our first write only.
    let raced = false;
    const repo = new InMemoryOrders(order(), (self) => {
      if (!raced) {
        raced = true;
        self.concurrentChange('BACKORDERED');
      }
    });

    // Act
    const outcome = await transitionOrder(repo, { orderId: ORDER_ID, to: 'CANCELLED', at: AT });

    // Assess
    expect(outcome).toEqual({
      kind: 'changed',
      order: order({ status: 'CANCELLED', version: 3, updatedAt: AT }),
    });
    expect(repo.writes).toBe(2);
    expect(repo.gets).toBe(1);
  });

  it('re-checks the transition table after a lost race', async () => {
    // Prepare: the concurrent writer ships the order, after which CANCELLED is forbidden.
    const repo = new InMemoryOrders(order({ status: 'PAID' }), (self) => {
      if (self.items.get(ORDER_ID)?.status === 'PAID') {
        self.concurrentChange('SHIPPED');
      }
    });

    // Act
    const outcome = await transitionOrder(repo, { orderId: ORDER_ID, to: 'CANCELLED', at: AT });

    // Assess
    expect(outcome).toEqual({ kind: 'forbidden', current: order({ status: 'SHIPPED', version: 2 }) });
    expect(repo.writes).toBe(1);
  });

  it('does not retry a lost race when a version was expected', async () => {
    // Prepare
    const repo = new InMemoryOrders(order(), (self) => self.concurrentChange('BACKORDERED'));

    // Act
    const outcome = await transitionOrder(repo, {
      orderId: ORDER_ID,
      to: 'PAID',
      at: AT,
      expectedVersion: 1,
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'version-mismatch',
      current: order({ status: 'BACKORDERED', version: 2 }),
    });
    expect(repo.writes).toBe(1);
  });

  it.each([1, 2, 5])('gives up as contended after %i lost races', async (maxAttempts) => {
    // Prepare: every write loses to a writer flipping PLACED <-> BACKORDERED, both of which allow CANCELLED.
    const repo = new InMemoryOrders(order(), (self) =>
      self.concurrentChange(self.items.get(ORDER_ID)?.status === 'PLACED' ? 'BACKORDERED' : 'PLACED'),
    );

    // Act
    const outcome = await transitionOrder(repo, { orderId: ORDER_ID, to: 'CANCELLED', at: AT, maxAttempts });

    // Assess
    expect(outcome.kind).toBe('contended');
    expect(repo.writes).toBe(maxAttempts);
  });

  it('starts from a given state without reading', async () => {
    // Prepare
    const repo = new InMemoryOrders(order({ version: 7 }));

    // Act
    const outcome = await transitionOrder(repo, {
      orderId: ORDER_ID,
      to: 'BACKORDERED',
      at: AT,
      expectedVersion: 7,
      current: order({ version: 7 }),
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'changed',
      order: order({ status: 'BACKORDERED', version: 8, updatedAt: AT }),
    });
    expect(repo.gets).toBe(0);
  });
});
