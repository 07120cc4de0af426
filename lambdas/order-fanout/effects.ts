import {
  type EmailKind,
  formatMoney,
  MESSAGE_SCHEMA_VERSION,
  messageLines,
  type OrderEmail,
  type OrderEvent,
  type WarehouseMessage,
} from './messages.js';
import type { OrderChange } from './order-change.js';
import type { EffectKind } from './ports.js';
import type { StockDecision, StockLine } from './stock-plan.js';

/**
 * The effects of one change, once its stock step is decided. Pure: the same change and decision always give the same
 * messages with the same ids, so a re-delivered change is recognised by the ledger and by SQS's deduplication.
 */

export type PlannedEffect =
  | { readonly kind: 'event' | 'backorder-event'; readonly event: OrderEvent }
  | { readonly kind: 'email'; readonly email: OrderEmail }
  | { readonly kind: 'warehouse'; readonly message: WarehouseMessage }
  /** Move the order to BACKORDERED, conditional on the version the change carries. */
  | { readonly kind: 'backorder' };

/** Thrown when a change that needs a stock decision has none: a bug in the caller, never a data problem. */
export class MissingStockDecisionError extends Error {
  public constructor(changeKey: string) {
    super(`No stock decision for change ${changeKey}`);
    this.name = 'MissingStockDecisionError';
  }
}

function eventId(change: OrderChange, type: OrderEvent['type']): string {
  return `${change.order.orderId}:${change.order.version}:${type}`;
}

function common(change: OrderChange): Omit<OrderEvent, 'type' | 'eventId' | 'status'> & {
  readonly status: OrderChange['order']['status'];
} {
  const { order } = change;
  return {
    schemaVersion: MESSAGE_SCHEMA_VERSION,
    orderId: order.orderId,
    customerId: order.customerId,
    version: order.version,
    status: order.status,
    occurredAt: change.occurredAt,
  };
}

function placedEvent(change: OrderChange): OrderEvent {
  const { order } = change;
  return {
    ...common(change),
    eventId: eventId(change, 'OrderPlaced'),
    type: 'OrderPlaced',
    currency: order.currency,
    totalCents: order.totalCents,
    lines: messageLines(order.lines),
  };
}

function backorderedEvent(change: OrderChange, shortSkus: readonly string[]): OrderEvent {
  return {
    ...common(change),
    eventId: eventId(change, 'OrderBackordered'),
    type: 'OrderBackordered',
    status: 'BACKORDERED',
    shortSkus,
  };
}

function email(change: OrderChange, kind: EmailKind): PlannedEffect {
  const { order } = change;
  return {
    kind: 'email',
    email: {
      emailId: `${order.orderId}:${order.version}:email-${kind}`,
      kind,
      to: order.customerEmail,
      data: {
        orderId: order.orderId,
        customerId: order.customerId,
        total: formatMoney(order.totalCents, order.currency),
        lineCount: String(order.lines.length),
      },
    },
  };
}

function warehousePlaced(change: OrderChange): PlannedEffect {
  const { order } = change;
  return {
    kind: 'warehouse',
    message: {
      groupId: order.orderId,
      deduplicationId: `${change.changeKey}:OrderPlaced`,
      body: {
        schemaVersion: MESSAGE_SCHEMA_VERSION,
        type: 'OrderPlaced',
        orderId: order.orderId,
        version: order.version,
        lines: messageLines(order.lines),
      },
    },
  };
}

function warehouseCancelled(
  change: OrderChange,
  lines: readonly StockLine[],
  reason: 'cancelled' | 'deleted',
): PlannedEffect {
  const { order } = change;
  return {
    kind: 'warehouse',
    message: {
      groupId: order.orderId,
      deduplicationId: `${change.changeKey}:OrderCancelled`,
      body: {
        schemaVersion: MESSAGE_SCHEMA_VERSION,
        type: 'OrderCancelled',
        orderId: order.orderId,
        version: order.version,
        lines: messageLines(lines),
        reason,
      },
    },
  };
}

/** What a placement does once its stock is decided; `primary` is whether its event is the change's own event. */
function placementEffects(change: OrderChange, decision: StockDecision, primary: boolean): PlannedEffect[] {
  switch (decision.kind) {
    case 'reserved':
      return [
        ...(primary ? [{ kind: 'event', event: placedEvent(change) } as const] : []),
        email(change, 'placed'),
        warehousePlaced(change),
      ];
    case 'already-reserved':
      return primary ? [{ kind: 'event', event: placedEvent(change) }] : [];
    case 'short':
      return [
        { kind: primary ? 'event' : 'backorder-event', event: backorderedEvent(change, decision.shortSkus) },
        { kind: 'backorder' },
      ];
    default:
      throw new MissingStockDecisionError(change.changeKey);
  }
}

/**
 * Every effect of a change (docs/pipelines/order-fanout.md). `decision` is the stock decision of the change's stock intent
 * (see stockIntentOf); it is required exactly when the change has one.
 */
export function planEffects(change: OrderChange, decision: StockDecision | undefined): PlannedEffect[] {
  const { order } = change;
  const decided = (): StockDecision => {
    if (decision === undefined) throw new MissingStockDecisionError(change.changeKey);
    return decision;
  };
  switch (change.kind) {
    case 'unchanged':
      return [];
    case 'placed':
      return placementEffects(change, decided(), true);
    case 'status-changed': {
      const effects: PlannedEffect[] = [
        {
          kind: 'event',
          event: {
            ...common(change),
            eventId: eventId(change, 'OrderStatusChanged'),
            type: 'OrderStatusChanged',
            previousStatus: change.previousStatus ?? order.status,
          },
        },
      ];
      if (order.status === 'SHIPPED') effects.push(email(change, 'shipped'));
      if (order.status === 'CANCELLED') {
        effects.push(email(change, 'cancelled'));
        const released = decided();
        if (released.kind === 'released')
          effects.push(warehouseCancelled(change, released.lines, 'cancelled'));
      }
      if (order.status === 'PLACED' && change.previousStatus === 'BACKORDERED') {
        effects.push(...placementEffects(change, decided(), false));
      }
      return effects;
    }
    case 'deleted': {
      const effects: PlannedEffect[] = [
        {
          kind: 'event',
          event: {
            ...common(change),
            eventId: eventId(change, 'OrderDeleted'),
            type: 'OrderDeleted',
            removedBy: change.removedBy ?? 'user',
          },
        },
      ];
      if (decision?.kind === 'released') effects.push(warehouseCancelled(change, decision.lines, 'deleted'));
      return effects;
    }
  }
}

/** The kinds of a list of effects, for the ledger. */
export function kindsOf(effects: readonly PlannedEffect[]): EffectKind[] {
  return effects.map((effect) => effect.kind);
}
