import type { TrafficOperation } from '../../sandbox/traffic.js';
import type { OrderTruth } from './invariants.js';
import { isPoisonCustomer } from './probe-consumer.js';

/**
 * The Orders table's truth at the end of a chaos run, from a scan (the orders that exist, with their last version)
 * and the traffic log (the orders that were deleted, and at which version). Pure, for its own tests.
 *
 * A deleted order's last version is the `If-Match` version of its DELETE: the delete is conditional on it, so if
 * the delete happened at all, the order was at exactly that version. A DELETE without a response (status 0) counts
 * when the order is gone from the table: nothing else removes orders.
 */

/** The part of an Orders item the truth needs. */
export interface ScannedOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly version: number;
}

export interface DerivedTruth {
  readonly orders: readonly OrderTruth[];
  /** Orders the log knows of that the table cannot account for; each makes the run fail. */
  readonly problems: readonly string[];
}

function ifMatchVersion(operation: TrafficOperation): number | undefined {
  const header = Object.entries(operation.headers).find(([name]) => name.toLowerCase() === 'if-match')?.[1];
  const version = Number(header?.replaceAll('"', ''));
  return Number.isSafeInteger(version) && version >= 1 ? version : undefined;
}

/** Derives each order's truth; see the module comment. */
export function deriveOrderTruth(
  scanned: readonly ScannedOrder[],
  log: readonly TrafficOperation[],
): DerivedTruth {
  const orders = new Map<string, OrderTruth>();
  for (const item of scanned) {
    orders.set(item.orderId, {
      orderId: item.orderId,
      poison: isPoisonCustomer(item.customerId),
      finalVersion: item.version,
      deleted: false,
    });
  }

  const problems: string[] = [];
  const customerOf = new Map<string, string>();
  const deletedAt = new Map<string, number>();
  for (const operation of log) {
    if (operation.orderId === undefined) continue;
    if (operation.customerId !== undefined) customerOf.set(operation.orderId, operation.customerId);
    if (operation.kind === 'deleteOrder' && (operation.status === 204 || operation.status === 0)) {
      const version = ifMatchVersion(operation);
      if (version !== undefined) deletedAt.set(operation.orderId, version);
    }
  }
  for (const orderId of customerOf.keys()) {
    if (orders.has(orderId)) continue;
    const version = deletedAt.get(orderId);
    if (version === undefined) {
      problems.push(
        `order ${orderId} is in the traffic log but neither in the table nor deleted by a DELETE`,
      );
      continue;
    }
    orders.set(orderId, {
      orderId,
      poison: isPoisonCustomer(customerOf.get(orderId)),
      finalVersion: version,
      deleted: true,
    });
  }
  return { orders: [...orders.values()], problems };
}
