import type { Order, OrderStatus } from './order.js';

/**
 * The port through which order code reads and writes the Orders table. Every write is conditional, and a failed
 * condition is an outcome rather than an exception: callers decide between retry, 404, 409 and 412.
 */
export interface OrdersRepository {
  /** A strongly consistent read, so a client that just wrote sees its write and If-Match compares fresh versions. */
  get(orderId: string): Promise<Order | undefined>;
  /** Creates the order unless one with its id exists; then returns the existing one instead. */
  create(order: Order): Promise<CreateOrderOutcome>;
  /**
   * Sets the status and `updatedAt` and increments `version`, on the condition that the stored version and status
   * are still the ones the caller decided on.
   */
  changeStatus(change: StatusChange): Promise<ConditionalWriteOutcome>;
  /** Deletes the order if it exists and, when `expectedVersion` is given, has that version. */
  delete(orderId: string, expectedVersion?: number): Promise<ConditionalDeleteOutcome>;
}

export type CreateOrderOutcome =
  | { readonly kind: 'created'; readonly order: Order }
  | { readonly kind: 'exists'; readonly existing: Order };

export interface StatusChange {
  readonly orderId: string;
  /** The version the decision was based on; the write happens only if it is still current. */
  readonly expectedVersion: number;
  /** The status the decision was based on (the transition table was checked against it). */
  readonly expectedStatus: OrderStatus;
  readonly to: OrderStatus;
  /** ISO-8601 UTC time of the change, stored as `updatedAt`. */
  readonly at: string;
}

/** `current` is the item as it was when the condition failed, or undefined when the order does not exist. */
export type ConditionalWriteOutcome =
  | { readonly kind: 'written'; readonly order: Order }
  | { readonly kind: 'conflict'; readonly current: Order | undefined };

export type ConditionalDeleteOutcome =
  | { readonly kind: 'deleted'; readonly order: Order }
  | { readonly kind: 'conflict'; readonly current: Order | undefined };
