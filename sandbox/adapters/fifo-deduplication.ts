import { createHash } from 'node:crypto';

/**
 * FIFO deduplication as SNS FIFO topics and SQS FIFO queues do it, shared by their stand-ins: a message whose
 * deduplication id (explicit, or the SHA-256 of the body with content-based deduplication) was accepted less than
 * 5 minutes before, within the same topic or queue (or the same message group of it, when deduplication is scoped to
 * groups), is accepted but not delivered; it is answered with the first message's id and sequence number.
 */

/** The deduplication interval of both services. */
export const FIFO_DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;

/** What the first message with a deduplication id got. */
export interface FirstMessage {
  readonly messageId: string;
  readonly sequenceNumber: string | undefined;
  /** When it was accepted, in the clock's milliseconds. */
  readonly at: number;
}

/** The deduplication id of a FIFO message: the explicit one, or the SHA-256 of its body (content-based). */
export function deduplicationIdOf(explicit: string | undefined, body: string): string {
  return explicit ?? createHash('sha256').update(body).digest('hex');
}

/** The ids accepted per topic or queue, and their sequence numbers. */
export class FifoDeduplication {
  readonly #windowMs: number;
  readonly #firstSequenceNumber: bigint;
  readonly #seen = new Map<string, Map<string, FirstMessage>>();
  readonly #sequence = new Map<string, bigint>();

  /** `firstSequenceNumber`: the number before the first one handed out (the services' are 20-odd digits). */
  public constructor(windowMs: number, firstSequenceNumber: bigint) {
    this.#windowMs = windowMs;
    this.#firstSequenceNumber = firstSequenceNumber;
  }

  /** The key of a message in its topic or queue: the id, within its group when `perGroup`. */
  public static key(deduplicationId: string, groupId: string | undefined, perGroup: boolean): string {
    return perGroup ? `${groupId}\u0000${deduplicationId}` : deduplicationId;
  }

  /** The first message of `resource` with this key, when it was accepted within the window before `now`. */
  public duplicateOf(resource: string, key: string, now: number): FirstMessage | undefined {
    const first = this.#seen.get(resource)?.get(key);
    return first !== undefined && now - first.at < this.#windowMs ? first : undefined;
  }

  /** Records a delivered message as the first of its key. */
  public remember(resource: string, key: string, first: FirstMessage): void {
    const seen = this.#seen.get(resource) ?? new Map<string, FirstMessage>();
    seen.set(key, first);
    this.#seen.set(resource, seen);
  }

  /** The next sequence number of `resource`, increasing per topic or queue. */
  public nextSequenceNumber(resource: string): string {
    const next = (this.#sequence.get(resource) ?? this.#firstSequenceNumber) + 1n;
    this.#sequence.set(resource, next);
    return next.toString();
  }
}
