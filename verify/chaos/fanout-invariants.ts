import { type EmailKind, ORDER_EMAIL_ID, POSSIBLE_DUPLICATE } from '../../lambdas/order-fanout/messages.js';
import type { Reservation, ReservationState } from '../../lambdas/order-fanout/ports.js';
import { POISON_CUSTOMER_PREFIX } from '../../sandbox/traffic.js';
import { changeRank, MAX_PROBLEMS } from './invariants.js';
import type { ProbeEffect } from './probe-consumer.js';

/**
 * The order fan-out's invariants after a chaos run (docs/pipelines/order-fanout.md), as one pure function of what the run
 * left behind: each order's history (the probe's effects, verified lossless by invariants.ts), the files of the SNS,
 * SES and SQS stand-ins, the reservation and stock items of the Inventory table, and the initial stock.
 *
 * What the fan-out had to do follows from the history and the reservation items (which record every stock decision
 * by the change key `<orderId>:<eventName>:<version>`):
 * - SNS, per change: INSERT -> exactly one of OrderPlaced / OrderBackordered (at version 1); a MODIFY that changed the
 *   status -> OrderStatusChanged (its status and previousStatus those of the history), and for BACKORDERED -> PLACED
 *   an OrderBackordered when that change found stock short; REMOVE -> OrderDeleted. Each delivered (by eventId).
 * - e-mails: `placed` iff the order's stock was ever reserved (reservation RESERVED or RELEASED), `shipped` per change
 *   to SHIPPED, `cancelled` per change to CANCELLED. Each is identified by the e-mail id it carries (header
 *   X-Order-Email-Id, `<orderId>:<version>:email-<kind>`), which must be that of the change that calls for it.
 * - warehouse (SQS FIFO): OrderPlaced iff reserved, OrderCancelled iff released, by deduplication id
 *   `<changeKey>:<type>`; enqueued (a send SQS dropped as a duplicate does not count as enqueued).
 * - duplicates, per sink: deliveries per effect id after the service's own deduplication (SNS FIFO and SQS FIFO drop a
 *   repeat within 5 minutes: the topic and queue files hold what was delivered; SES does not deduplicate). An effect
 *   delivered more than once whose extra copies all carry the possible-duplicate mark (POSSIBLE_DUPLICATE: the
 *   fan-out re-sent an effect it had claimed and not confirmed) is an accounted duplicate, reported; any other extra
 *   copy is unexplained, a failure (`duplicates`, `unexplainedDuplicates`).
 * - order: per order and sink, in file order (first sends), the changes never go backwards.
 * - reservations: every decision names a change of the order that asks for it; a reservation that a later cancel or
 *   unshipped delete should have released is RELEASED.
 * - stock, per SKU: available == initial - reserved + released (from every reservation item) and never negative.
 *
 * Poison orders (customerId `poison-...`) are excluded from the per-order checks: the probe refuses them, so their
 * history is incomplete. Their reservations still count in the stock check, which needs no history.
 */

/** A reservation item as scanned from the Inventory table (key `#reservation#<orderId>`). */
export type ScannedReservation = Pick<
  Reservation,
  'orderId' | 'state' | 'lines' | 'reservedBy' | 'releasedBy' | 'shortBy'
>;

/** The parts of an SNS file line the checks read. */
export interface ObservedEvent {
  readonly message: unknown;
  readonly attributes: Readonly<Record<string, string>>;
}

/** The parts of an outbox line the checks read. */
export interface ObservedEmail {
  readonly template?: string;
  readonly data?: Readonly<Record<string, unknown>>;
  /** Message tags by name (the possible-duplicate mark). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Custom headers by name (the e-mail id). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The parts of a queue (or duplicates) file line the checks read. */
export interface ObservedQueueMessage {
  readonly body: unknown;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  /** Message attributes by name (the possible-duplicate mark). */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** The sinks whose deliveries the duplicate check counts. */
export type Sink = 'sns' | 'ses' | 'sqs';
export type PerSink = Readonly<Record<Sink, number>>;

export interface FanoutInvariantInput {
  /** The probe's effects in file order (duplicates of an eventID included): every order's history. */
  readonly history: readonly ProbeEffect[];
  /** Orders the probe refuses (poison), from the traffic's truth. */
  readonly poisonOrderIds: ReadonlySet<string>;
  /** The lines of the `order-events` topic file (what SNS delivered), in file order. */
  readonly events: readonly ObservedEvent[];
  /** The events SNS accepted but did not deliver, as duplicates within its 5-minute window. */
  readonly eventDuplicates: readonly ObservedEvent[];
  /** The lines of the SES outbox, in file order. */
  readonly emails: readonly ObservedEmail[];
  /** The SES template name of each kind (the function's EMAIL_TEMPLATE_* variables). */
  readonly emailTemplates: Readonly<Record<EmailKind, string>>;
  /** The warehouse queue's messages, in file order. */
  readonly warehouse: readonly ObservedQueueMessage[];
  /** The warehouse messages SQS answered successful but dropped as duplicates. */
  readonly warehouseDuplicates: readonly ObservedQueueMessage[];
  readonly reservations: readonly ScannedReservation[];
  /** `available` of every SKU item of the Inventory table at the end. */
  readonly stock: Readonly<Record<string, number>>;
  /** The stock written at start. */
  readonly initialStock: Readonly<Record<string, number>>;
  /** Dead letters in the fan-out's DLQ: it refuses nothing the API writes, so any is a failure. */
  readonly deadLetters: number;
  /** Records the fan-out's mapping gave up on (on-failure messages, by batch size). */
  readonly onFailureRecords: number;
}

export interface FanoutReport {
  /** Orders checked (poison ones excluded) and their changes. */
  readonly orders: number;
  readonly changes: number;
  /** Poison orders left out of the per-order checks. */
  readonly poisonOrdersExcluded: number;
  readonly events: number;
  readonly emails: number;
  readonly warehouseMessages: number;
  /** Warehouse sends SQS dropped as duplicates (its own deduplication: not deliveries, no failure). */
  readonly warehouseDuplicatesDropped: number;
  /** Event publishes SNS dropped as duplicates (its own deduplication: not deliveries, no failure). */
  readonly eventDuplicatesDropped: number;
  /** Distinct effects delivered per sink (events, e-mails, enqueued warehouse messages), poison orders left out. */
  readonly effectsDelivered: PerSink;
  /** Extra deliveries of an effect whose every extra copy carries the possible-duplicate mark, per sink. */
  readonly accountedDuplicates: PerSink;
  /** Extra deliveries of an effect not all marked: must be 0 (the same number as `duplicates`). */
  readonly unexplainedDuplicates: number;
  /** Reservation items by state. */
  readonly reservations: Readonly<Record<ReservationState, number>>;
  /** OrderBackordered events: changes that found stock short. */
  readonly backorders: number;
  readonly skus: number;
  /**
   * Unexplained extra deliveries of an effect, of any sink, after the services' deduplication: each extra copy when
   * not every extra copy carries the possible-duplicate mark. Accounted duplicates are not counted here.
   */
  readonly duplicates: number;
  /** Effects the history and the reservations call for that were never sent. */
  readonly missing: number;
  /** Effects of a change the order never had, or that the history and the reservations do not call for. */
  readonly unexpected: number;
  /** Sends that came after a later change's send of the same order, in the same sink. */
  readonly orderViolations: number;
  /** Lines the checks cannot read, or whose content contradicts the history (status, attributes, group, version). */
  readonly malformed: number;
  /** Reservation items that contradict the history (a decision of no such change, stock never released, ...). */
  readonly reservationProblems: number;
  /** SKUs whose stock is not initial - reserved + released, or is negative. */
  readonly stockMismatches: number;
  readonly deadLetters: number;
  readonly onFailureRecords: number;
  readonly ok: boolean;
  /** Up to MAX_PROBLEMS examples. */
  readonly problems: readonly string[];
}

type Counter =
  | 'duplicates'
  | 'missing'
  | 'unexpected'
  | 'orderViolations'
  | 'malformed'
  | 'reservationProblems'
  | 'stockMismatches';

/** One change of an order's history. */
interface Change {
  readonly orderId: string;
  readonly eventName: ProbeEffect['eventName'];
  readonly version: number;
  readonly status: string | undefined;
  readonly previousStatus: string | undefined;
  /** The fan-out's change key `<orderId>:<eventName>:<version>`. */
  readonly key: string;
  readonly rank: number;
}

/** Statuses whose delete releases reserved stock (nothing was shipped). */
const UNSHIPPED = new Set(['PLACED', 'PAID', 'BACKORDERED']);

function fanoutChangeKey(orderId: string, eventName: string, version: number): string {
  return `${orderId}:${eventName}:${version}`;
}

function isStatusChange(change: Change): boolean {
  return change.eventName === 'MODIFY' && change.status !== change.previousStatus;
}

function isPlacement(change: Change): boolean {
  return (
    change.eventName === 'INSERT' ||
    (isStatusChange(change) && change.previousStatus === 'BACKORDERED' && change.status === 'PLACED')
  );
}

function isRelease(change: Change): boolean {
  return (
    (isStatusChange(change) && change.status === 'CANCELLED') ||
    (change.eventName === 'REMOVE' && UNSHIPPED.has(change.status ?? ''))
  );
}

/** Each order's changes in history order, duplicates of an eventID dropped. */
function historiesOf(effects: readonly ProbeEffect[]): Map<string, Change[]> {
  const seen = new Set<string>();
  const histories = new Map<string, Change[]>();
  for (const effect of effects) {
    if (seen.has(effect.eventId)) continue;
    seen.add(effect.eventId);
    const list = histories.get(effect.orderId) ?? [];
    list.push({
      orderId: effect.orderId,
      eventName: effect.eventName,
      version: effect.version,
      status: effect.status,
      previousStatus: effect.previousStatus,
      key: fanoutChangeKey(effect.orderId, effect.eventName, effect.version),
      rank: changeRank(effect),
    });
    histories.set(effect.orderId, list);
  }
  for (const list of histories.values()) list.sort((a, b) => a.rank - b.rank);
  return histories;
}

interface ParsedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly orderId: string;
  readonly customerId: string | undefined;
  readonly version: number;
  readonly status: string | undefined;
  readonly previousStatus: string | undefined;
  readonly attributes: Readonly<Record<string, string>>;
}

function parseEvent(line: ObservedEvent): ParsedEvent | undefined {
  const message = line.message as Record<string, unknown> | null;
  if (typeof message !== 'object' || message === null) return undefined;
  const { eventId, type, orderId, version, status, previousStatus, customerId } = message;
  if (typeof eventId !== 'string' || typeof type !== 'string' || typeof orderId !== 'string')
    return undefined;
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) return undefined;
  return {
    eventId,
    type,
    orderId,
    customerId: typeof customerId === 'string' ? customerId : undefined,
    version,
    status: typeof status === 'string' ? status : undefined,
    previousStatus: typeof previousStatus === 'string' ? previousStatus : undefined,
    attributes: line.attributes ?? {},
  };
}

interface ParsedWarehouse {
  readonly deduplicationId: string;
  readonly marked: boolean;
  readonly groupId: string | undefined;
  readonly type: string;
  readonly orderId: string;
  readonly version: number;
  readonly reason: string | undefined;
}

function parseWarehouse(line: ObservedQueueMessage): ParsedWarehouse | undefined {
  const body = line.body as Record<string, unknown> | null;
  if (typeof body !== 'object' || body === null || line.messageDeduplicationId === undefined)
    return undefined;
  const { type, orderId, version, reason } = body;
  if (typeof type !== 'string' || typeof orderId !== 'string' || typeof version !== 'number')
    return undefined;
  return {
    deduplicationId: line.messageDeduplicationId,
    marked: line.attributes?.[POSSIBLE_DUPLICATE.attribute] === POSSIBLE_DUPLICATE.value,
    groupId: line.messageGroupId,
    type,
    orderId,
    version,
    reason: typeof reason === 'string' ? reason : undefined,
  };
}

/** What a change key names: order, event name and version, and its rank. */
function parseChangeKey(
  key: string,
): { orderId: string; eventName: string; version: number; rank: number } | undefined {
  const match = /^(.+):(INSERT|MODIFY|REMOVE):(\d+)$/.exec(key);
  if (match === null) return undefined;
  const eventName = match[2] as ProbeEffect['eventName'];
  const version = Number(match[3]);
  const orderId = match[1]!;
  return { orderId, eventName, version, rank: changeRank({ orderId, version, eventName }) };
}

/** An order e-mail as the checks read it. */
interface ParsedEmail {
  readonly kind: EmailKind;
  /** From its X-Order-Email-Id header. */
  readonly emailId: string;
  /** Whether it carries the possible-duplicate tag. */
  readonly marked: boolean;
}

/** Counts occurrences by key. */
function tally<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}

/** Checks the fan-out's observations; see the module comment. */
export function checkFanoutInvariants(input: FanoutInvariantInput): FanoutReport {
  const counts: Record<Counter, number> = {
    duplicates: 0,
    missing: 0,
    unexpected: 0,
    orderViolations: 0,
    malformed: 0,
    reservationProblems: 0,
    stockMismatches: 0,
  };
  const problems: string[] = [];
  const problem = (counter: Counter, text: string, weight = 1): void => {
    counts[counter] += weight;
    if (problems.length < MAX_PROBLEMS) problems.push(`${counter}: ${text}`);
  };
  const effectsDelivered: Record<Sink, number> = { sns: 0, ses: 0, sqs: 0 };
  const accountedDuplicates: Record<Sink, number> = { sns: 0, ses: 0, sqs: 0 };
  /**
   * Counts the deliveries of each effect id of one sink (in file order): an effect delivered more than once is
   * accounted when every copy after the first carries the mark, otherwise each extra copy is an unexplained duplicate.
   */
  const checkDuplicates = <T>(
    sink: Sink,
    what: string,
    deliveries: readonly T[],
    idOf: (delivery: T) => string,
    marked: (delivery: T) => boolean,
  ): void => {
    const byId = new Map<string, T[]>();
    for (const delivery of deliveries)
      byId.set(idOf(delivery), [...(byId.get(idOf(delivery)) ?? []), delivery]);
    effectsDelivered[sink] += byId.size;
    for (const [id, copies] of byId) {
      const extra = copies.slice(1);
      if (extra.length === 0) continue;
      const unmarked = extra.filter((copy) => !marked(copy)).length;
      if (unmarked === 0) accountedDuplicates[sink] += extra.length;
      else {
        problem(
          'duplicates',
          `${what} ${id} delivered ${copies.length} times, ${unmarked} extra ${unmarked === 1 ? 'copy' : 'copies'} without the possible-duplicate mark`,
          extra.length,
        );
      }
    }
  };

  const histories = historiesOf(input.history);
  const poison = (orderId: string, customerId?: string): boolean =>
    input.poisonOrderIds.has(orderId) || (customerId?.startsWith(POISON_CUSTOMER_PREFIX) ?? false);
  for (const orderId of [...histories.keys()]) {
    if (poison(orderId)) histories.delete(orderId);
  }
  const reservations = new Map(input.reservations.map((reservation) => [reservation.orderId, reservation]));
  const changeOf = (key: string | undefined): Change | undefined => {
    const parsed = key === undefined ? undefined : parseChangeKey(key);
    return parsed === undefined
      ? undefined
      : histories.get(parsed.orderId)?.find((change) => change.key === key);
  };
  /** An order the checks know nothing of: neither history nor poison. */
  const phantom = (orderId: string): boolean => !histories.has(orderId);

  // ---- SNS: exactly one event per eventId, each of a change the history calls for it.
  const events = input.events.flatMap((line, index) => {
    const parsed = parseEvent(line);
    if (parsed === undefined) {
      problem('malformed', `SNS line ${index + 1} is not an order event`);
      return [];
    }
    return poison(parsed.orderId, parsed.customerId) ? [] : [parsed];
  });
  checkDuplicates(
    'sns',
    'SNS event',
    events,
    (event) => event.eventId,
    (event) => event.attributes[POSSIBLE_DUPLICATE.attribute] === POSSIBLE_DUPLICATE.value,
  );
  const eventsByOrder = new Map<string, ParsedEvent[]>();
  for (const event of events) {
    if (event.attributes.eventType !== event.type || event.attributes.status !== event.status) {
      problem(
        'malformed',
        `SNS event ${event.eventId} has attributes ${JSON.stringify(event.attributes)} for type ${event.type}, status ${event.status}`,
      );
    }
    if (event.eventId !== `${event.orderId}:${event.version}:${event.type}`) {
      problem('malformed', `SNS event id ${event.eventId} does not name its order, version and type`);
    }
    const list = eventsByOrder.get(event.orderId) ?? [];
    list.push(event);
    eventsByOrder.set(event.orderId, list);
  }
  for (const [orderId, orderEvents] of eventsByOrder) {
    if (phantom(orderId)) {
      for (const event of unique(orderEvents.map((e) => e.eventId))) {
        problem('unexpected', `SNS event ${event} of an order with no history`);
      }
    }
  }

  let changesChecked = 0;
  let backorders = 0;
  for (const [orderId, history] of histories) {
    changesChecked += history.length;
    const reservation = reservations.get(orderId);
    const orderEvents = eventsByOrder.get(orderId) ?? [];
    const present = new Map(orderEvents.map((event) => [event.eventId, event]));
    /** eventId -> the change it belongs to and what it must say. */
    const allowed = new Map<string, { change: Change; status?: string; previousStatus?: string }>();
    const requireEvent = (
      eventId: string,
      change: Change,
      status?: string,
      previousStatus?: string,
    ): void => {
      allowed.set(eventId, { change, status, previousStatus });
      if (!present.has(eventId)) problem('missing', `SNS event ${eventId}`);
    };
    for (const change of history) {
      const id = (type: string): string => `${orderId}:${change.version}:${type}`;
      if (change.eventName === 'INSERT') {
        const placed = id('OrderPlaced');
        const backordered = id('OrderBackordered');
        allowed.set(placed, { change, status: 'PLACED' });
        allowed.set(backordered, { change, status: 'BACKORDERED' });
        const found = [placed, backordered].filter((eventId) => present.has(eventId));
        if (found.length === 0) problem('missing', `SNS OrderPlaced or OrderBackordered of ${change.key}`);
        if (found.length === 2)
          problem('unexpected', `both OrderPlaced and OrderBackordered of ${change.key}`);
        if (present.has(placed) && reservation?.reservedBy !== change.key) {
          problem(
            'reservationProblems',
            `${placed} published but the reservation was not made by ${change.key}`,
          );
        }
        if (present.has(backordered) && !(reservation?.shortBy.includes(change.key) ?? false)) {
          problem('reservationProblems', `${backordered} published but ${change.key} is not in shortBy`);
        }
      } else if (isStatusChange(change)) {
        requireEvent(id('OrderStatusChanged'), change, change.status, change.previousStatus);
        if (isPlacement(change) && (reservation?.shortBy.includes(change.key) ?? false)) {
          requireEvent(id('OrderBackordered'), change, 'BACKORDERED');
        }
      } else if (change.eventName === 'REMOVE') {
        requireEvent(id('OrderDeleted'), change, change.status);
      }
    }
    for (const event of unique(orderEvents.map((e) => e.eventId))) {
      const expected = allowed.get(event);
      const actual = present.get(event)!;
      if (expected === undefined) {
        problem('unexpected', `SNS event ${event}: the order's history does not call for it`);
        continue;
      }
      if (actual.type === 'OrderBackordered') backorders += 1;
      if (expected.status !== undefined && actual.status !== expected.status) {
        problem(
          'malformed',
          `SNS event ${event} says status ${actual.status}, the history ${expected.status}`,
        );
      }
      if (expected.previousStatus !== undefined && actual.previousStatus !== expected.previousStatus) {
        problem(
          'malformed',
          `SNS event ${event} says previousStatus ${actual.previousStatus}, the history ${expected.previousStatus}`,
        );
      }
    }
    checkOrder(
      'SNS',
      orderId,
      unique(orderEvents.map((e) => e.eventId)).map((eventId) => ({
        id: eventId,
        rank: allowed.get(eventId)?.change.rank,
      })),
      problem,
    );
  }

  // ---- SES: per order and kind, as many e-mails as the history and the reservation call for (0 or 1).
  const kindByTemplate = new Map(
    Object.entries(input.emailTemplates).map(([kind, template]) => [template, kind as EmailKind]),
  );
  const emailsByOrder = new Map<string, ParsedEmail[]>();
  const sentEmails: ParsedEmail[] = [];
  input.emails.forEach((email, index) => {
    const kind = email.template === undefined ? undefined : kindByTemplate.get(email.template);
    const orderId = email.data?.orderId;
    const customerId = email.data?.customerId;
    const emailId = email.headers?.[ORDER_EMAIL_ID.header];
    if (kind === undefined || typeof orderId !== 'string' || emailId === undefined) {
      problem(
        'malformed',
        `SES line ${index + 1} is not an order e-mail with its id (template ${email.template}, id ${emailId})`,
      );
      return;
    }
    if (poison(orderId, typeof customerId === 'string' ? customerId : undefined)) return;
    const parsed: ParsedEmail = {
      kind,
      emailId,
      marked: email.tags?.[POSSIBLE_DUPLICATE.tag] === POSSIBLE_DUPLICATE.value,
    };
    sentEmails.push(parsed);
    const list = emailsByOrder.get(orderId) ?? [];
    list.push(parsed);
    emailsByOrder.set(orderId, list);
  });
  // SES does not deduplicate: every e-mail it accepted was delivered.
  checkDuplicates(
    'ses',
    'e-mail',
    sentEmails,
    (email) => email.emailId,
    (email) => email.marked,
  );
  for (const [orderId, sent] of emailsByOrder) {
    if (phantom(orderId))
      problem('unexpected', `SES e-mails ${sent.map((e) => e.kind).join(', ')} of an order with no history`);
  }
  for (const [orderId, history] of histories) {
    const reservation = reservations.get(orderId);
    const expected = new Map<EmailKind, Change>();
    const reservedBy = changeOf(reservation?.reservedBy);
    if (reservedBy !== undefined) expected.set('placed', reservedBy);
    for (const change of history) {
      if (isStatusChange(change) && change.status === 'SHIPPED') expected.set('shipped', change);
      if (isStatusChange(change) && change.status === 'CANCELLED') expected.set('cancelled', change);
    }
    const sent = emailsByOrder.get(orderId) ?? [];
    for (const kind of ['placed', 'shipped', 'cancelled'] as const) {
      const ids = unique(sent.filter((email) => email.kind === kind).map((email) => email.emailId));
      const change = expected.get(kind);
      const emailId =
        change === undefined ? `${orderId}:?:email-${kind}` : `${orderId}:${change.version}:email-${kind}`;
      if (change === undefined && ids.length > 0) {
        problem('unexpected', `e-mail ${ids.join(', ')}: the history and the reservation do not call for it`);
      } else if (change !== undefined && ids.length === 0) {
        problem('missing', `e-mail ${emailId}`);
      } else if (ids.some((id) => id !== emailId)) {
        problem(
          'malformed',
          `e-mail ${kind} of order ${orderId} has id ${ids.join(', ')}, the change ${emailId}`,
        );
      }
    }
    const firstSends = unique(sent.map((email) => email.kind));
    checkOrder(
      'SES',
      orderId,
      firstSends.map((kind) => ({ id: `email-${kind}`, rank: expected.get(kind)?.rank })),
      problem,
    );
  }

  // ---- SQS: per deduplication id, exactly one enqueued and exactly one sent.
  const parseAll = (lines: readonly ObservedQueueMessage[], what: string): ParsedWarehouse[] =>
    lines.flatMap((line, index) => {
      const parsed = parseWarehouse(line);
      if (parsed === undefined) {
        problem('malformed', `${what} line ${index + 1} is not a warehouse message`);
        return [];
      }
      return poison(parsed.orderId) ? [] : [parsed];
    });
  const enqueued = parseAll(input.warehouse, 'warehouse queue');
  const dropped = parseAll(input.warehouseDuplicates, 'warehouse duplicates');
  const enqueuedCounts = tally(enqueued, (message) => message.deduplicationId);
  // What SQS dropped was never delivered: only the enqueued messages count.
  checkDuplicates(
    'sqs',
    'warehouse message',
    enqueued,
    (message) => message.deduplicationId,
    (message) => message.marked,
  );
  const warehouseByOrder = new Map<string, ParsedWarehouse[]>();
  for (const message of enqueued) {
    const list = warehouseByOrder.get(message.orderId) ?? [];
    list.push(message);
    warehouseByOrder.set(message.orderId, list);
  }
  for (const message of dropped) {
    if (!warehouseByOrder.has(message.orderId)) warehouseByOrder.set(message.orderId, []);
  }
  for (const orderId of warehouseByOrder.keys()) {
    if (phantom(orderId))
      problem('unexpected', `warehouse messages of order ${orderId}, which has no history`);
  }
  for (const [orderId] of histories) {
    const reservation = reservations.get(orderId);
    const expected = new Map<string, { change: Change; type: string; reason?: string }>();
    const reservedBy = changeOf(reservation?.reservedBy);
    if (reservedBy !== undefined) {
      expected.set(`${reservedBy.key}:OrderPlaced`, { change: reservedBy, type: 'OrderPlaced' });
    }
    const releasedBy = reservation?.state === 'RELEASED' ? changeOf(reservation.releasedBy) : undefined;
    if (releasedBy !== undefined) {
      expected.set(`${releasedBy.key}:OrderCancelled`, {
        change: releasedBy,
        type: 'OrderCancelled',
        reason: releasedBy.eventName === 'REMOVE' ? 'deleted' : 'cancelled',
      });
    }
    const messages = warehouseByOrder.get(orderId) ?? [];
    const ids = new Set([
      ...messages.map((message) => message.deduplicationId),
      ...dropped.filter((message) => message.orderId === orderId).map((message) => message.deduplicationId),
    ]);
    for (const [id, spec] of expected) {
      if (!ids.has(id)) problem('missing', `warehouse ${spec.type} ${id}`);
      else if (!enqueuedCounts.has(id))
        problem('missing', `warehouse ${spec.type} ${id} was sent but never enqueued`);
    }
    for (const id of ids) {
      if (!expected.has(id))
        problem('unexpected', `warehouse message ${id}: no reservation or release calls for it`);
    }
    for (const message of messages) {
      const spec = expected.get(message.deduplicationId);
      if (spec === undefined) continue;
      if (
        message.groupId !== orderId ||
        message.type !== spec.type ||
        message.version !== spec.change.version ||
        message.reason !== spec.reason
      ) {
        problem(
          'malformed',
          `warehouse message ${message.deduplicationId}: group ${message.groupId}, type ${message.type}, ` +
            `version ${message.version}, reason ${message.reason}`,
        );
      }
    }
    checkOrder(
      'SQS',
      orderId,
      unique(messages.map((message) => message.deduplicationId)).map((id) => ({
        id,
        rank: parseChangeKey(id.slice(0, id.lastIndexOf(':')))?.rank,
      })),
      problem,
    );
  }

  // ---- Reservations against the history.
  for (const [orderId, history] of histories) {
    const reservation = reservations.get(orderId);
    if (reservation === undefined) {
      problem('reservationProblems', `order ${orderId} has no reservation item (its INSERT decides one)`);
      continue;
    }
    const reservedBy = reservation.reservedBy === undefined ? undefined : changeOf(reservation.reservedBy);
    if (reservation.reservedBy !== undefined && (reservedBy === undefined || !isPlacement(reservedBy))) {
      problem(
        'reservationProblems',
        `order ${orderId} reserved by ${reservation.reservedBy}, not a placement`,
      );
    }
    for (const key of reservation.shortBy) {
      const change = changeOf(key);
      if (change === undefined || !isPlacement(change)) {
        problem('reservationProblems', `order ${orderId} short by ${key}, not a placement of its history`);
      }
    }
    const releasedBy = reservation.releasedBy === undefined ? undefined : changeOf(reservation.releasedBy);
    if ((reservation.state === 'RELEASED') !== (reservation.releasedBy !== undefined)) {
      problem(
        'reservationProblems',
        `order ${orderId} is ${reservation.state} with releasedBy ${reservation.releasedBy}`,
      );
    }
    if (reservation.releasedBy !== undefined && (releasedBy === undefined || !isRelease(releasedBy))) {
      problem('reservationProblems', `order ${orderId} released by ${reservation.releasedBy}, not a release`);
    }
    if (reservation.state === 'RESERVED' && reservedBy !== undefined) {
      const release = history.find((change) => change.rank > reservedBy.rank && isRelease(change));
      if (release !== undefined) {
        problem('reservationProblems', `order ${orderId} still holds its stock after ${release.key}`);
      }
    }
    for (const change of history.filter(isPlacement)) {
      const decided =
        reservation.reservedBy === change.key ||
        reservation.shortBy.includes(change.key) ||
        (change.eventName === 'MODIFY' && reservedBy !== undefined && reservedBy.rank < change.rank);
      if (!decided) problem('reservationProblems', `${change.key} has no stock decision`);
    }
  }
  for (const reservation of input.reservations) {
    if (!poison(reservation.orderId) && phantom(reservation.orderId)) {
      problem('unexpected', `reservation of order ${reservation.orderId}, which has no history`);
    }
  }

  // ---- Stock per SKU: initial - reserved + released, never negative.
  const expectedStock = new Map(Object.entries(input.initialStock));
  for (const reservation of input.reservations) {
    const reserved = reservation.reservedBy !== undefined && reservation.state !== 'BACKORDERED';
    const released = reservation.state === 'RELEASED';
    if (!reserved) continue;
    for (const { sku, qty } of reservation.lines) {
      expectedStock.set(sku, (expectedStock.get(sku) ?? 0) - qty + (released ? qty : 0));
    }
  }
  const skus = new Set([...expectedStock.keys(), ...Object.keys(input.stock)]);
  for (const sku of [...skus].sort()) {
    const actual = input.stock[sku] ?? 0;
    const expected = expectedStock.get(sku) ?? 0;
    if (actual < 0) problem('stockMismatches', `SKU ${sku} has negative stock ${actual}`);
    else if (actual !== expected) {
      problem(
        'stockMismatches',
        `SKU ${sku} has ${actual} available, initial - reserved + released = ${expected}`,
      );
    }
  }

  // Not counters of their own: the numbers are in the report, these lines only say why it failed.
  const note = (text: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  if (input.deadLetters > 0) note(`dead letters: ${input.deadLetters} records in the fan-out's DLQ`);
  if (input.onFailureRecords > 0)
    note(`on-failure: ${input.onFailureRecords} records left the stream unprocessed`);

  const byState: Record<ReservationState, number> = { RESERVED: 0, BACKORDERED: 0, RELEASED: 0 };
  for (const reservation of input.reservations) byState[reservation.state] += 1;
  const ok =
    Object.values(counts).every((count) => count === 0) &&
    input.deadLetters === 0 &&
    input.onFailureRecords === 0;
  return {
    orders: histories.size,
    changes: changesChecked,
    poisonOrdersExcluded: input.poisonOrderIds.size,
    events: input.events.length,
    emails: input.emails.length,
    warehouseMessages: input.warehouse.length,
    warehouseDuplicatesDropped: input.warehouseDuplicates.length,
    eventDuplicatesDropped: input.eventDuplicates.length,
    effectsDelivered,
    accountedDuplicates,
    unexplainedDuplicates: counts.duplicates,
    reservations: byState,
    backorders,
    skus: skus.size,
    ...counts,
    deadLetters: input.deadLetters,
    onFailureRecords: input.onFailureRecords,
    ok,
    problems,
  };
}

/** Reports each send (in file order) whose change ranks below an earlier send's of the same order and sink. */
function checkOrder(
  sink: string,
  orderId: string,
  sends: readonly { readonly id: string; readonly rank: number | undefined }[],
  problem: (counter: Counter, text: string) => void,
): void {
  let highest: { id: string; rank: number } | undefined;
  for (const send of sends) {
    if (send.rank === undefined) continue;
    if (highest !== undefined && send.rank < highest.rank) {
      problem('orderViolations', `${sink} of order ${orderId}: ${send.id} came after ${highest.id}`);
    } else {
      highest = { id: send.id, rank: send.rank };
    }
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
