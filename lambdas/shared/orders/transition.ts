import { canTransition, type Order, type OrderStatus } from './order.js';
import type { OrdersRepository } from './orders-repository.js';

/**
 * Moving an order to another status, shared by the orders API (PATCH) and the stream consumers (e.g. the fan-out
 * moving an order to BACKORDERED): read, check the transition table, then write on the condition that version and
 * status are still the ones read.
 */

export interface TransitionRequest {
  readonly orderId: string;
  readonly to: OrderStatus;
  /**
   * Optimistic locking: the change applies only to this version (If-Match, or the version of a stream image).
   * Without it a lost race is retried from the newer state, up to `maxAttempts` times.
   */
  readonly expectedVersion?: number;
  /** ISO-8601 UTC time of the change. */
  readonly at: string;
  /** Attempts when racing other writers without `expectedVersion`. Default 3. */
  readonly maxAttempts?: number;
  /** A state already in hand (a stream's new image, say), used instead of a first read. */
  readonly current?: Order;
}

export type TransitionOutcome =
  | { readonly kind: 'changed'; readonly order: Order }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'version-mismatch'; readonly current: Order }
  | { readonly kind: 'forbidden'; readonly current: Order }
  /** Other writers won every attempt; the caller may retry later. */
  | { readonly kind: 'contended'; readonly current: Order };

export const DEFAULT_TRANSITION_ATTEMPTS = 3;

export async function transitionOrder(
  orders: OrdersRepository,
  request: TransitionRequest,
): Promise<TransitionOutcome> {
  const maxAttempts = Math.max(1, request.maxAttempts ?? DEFAULT_TRANSITION_ATTEMPTS);
  let current = request.current ?? (await orders.get(request.orderId));
  for (let attempt = 1; ; attempt++) {
    if (current === undefined) {
      return { kind: 'not-found' };
    }
    if (request.expectedVersion !== undefined && current.version !== request.expectedVersion) {
      return { kind: 'version-mismatch', current };
    }
    if (!canTransition(current.status, request.to)) {
      return { kind: 'forbidden', current };
    }
    if (attempt > maxAttempts) {
      return { kind: 'contended', current };
    }
    const outcome = await orders.changeStatus({
      orderId: request.orderId,
      expectedVersion: current.version,
      expectedStatus: current.status,
      to: request.to,
      at: request.at,
    });
    if (outcome.kind === 'written') {
      return { kind: 'changed', order: outcome.order };
    }
    // The failed condition hands back the item as it is now: decide again from that state, without another read.
    current = outcome.current;
  }
}
