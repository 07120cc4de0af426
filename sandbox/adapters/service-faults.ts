import { createHash } from 'node:crypto';

/**
 * What the local stand-ins of SNS, SES, SQS and S3 share: the fault hook the chaos run plugs in, the counters every
 * stand-in keeps, and the keys faults are decided on. The hook is a port: the stand-ins know nothing of seeds or
 * rates (chaos/faults.ts implements it with keyed hashes), and without one they never fail on their own.
 */

/** The stand-in services that can have faults injected. */
export type LocalServiceName = 'sns' | 'ses' | 'sqs' | 's3';

/** One fault decision: which service and operation, and what is being decided. */
export interface ServiceFaultTarget {
  readonly service: LocalServiceName;
  /** The API operation, e.g. `PublishBatch`. */
  readonly operation: string;
  /**
   * Identifies what is decided (an entry's content, or a whole call's entries) and stays the same when the same
   * content is sent again, so a decider can count attempts and give a retry a fresh chance.
   */
  readonly key: string;
}

/**
 * Port: decides injected transient faults. A failed call throws the service's own throttling error before anything
 * is written; a failed entry is answered failed with a throttling code (SenderFault false) and is not written.
 */
export interface ServiceFaultHook {
  failCall(target: ServiceFaultTarget): boolean;
  failEntry(target: ServiceFaultTarget): boolean;
}

/** The hook of a run without fault injection. */
export const NO_SERVICE_FAULTS: ServiceFaultHook = Object.freeze({
  failCall: () => false,
  failEntry: () => false,
});

/** A short stable digest of some values: the key of an entry's or a call's content. */
export function contentKey(...parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** What a stand-in counts, cumulative since it was created. */
export interface LocalServiceStats {
  /** Calls per API operation, whether they succeeded, failed validation or had a fault injected. */
  readonly calls: Readonly<Record<string, number>>;
  /** All calls. */
  readonly totalCalls: number;
  /** Entries (of batch calls) and single messages received. */
  readonly entries: number;
  /** Entries answered successful. */
  readonly accepted: number;
  /** Entries answered failed, for any reason (validation or an injected fault). */
  readonly failedEntries: number;
  /** Whole calls that threw an injected throttling error. */
  readonly injectedCallFaults: number;
  /** Entries answered failed by an injected fault. */
  readonly injectedEntryFaults: number;
}

/** The mutable counters behind LocalServiceStats. */
export class ServiceStatsRecorder {
  readonly #calls = new Map<string, number>();
  #entries = 0;
  #accepted = 0;
  #failedEntries = 0;
  #injectedCallFaults = 0;
  #injectedEntryFaults = 0;

  public call(operation: string): void {
    this.#calls.set(operation, (this.#calls.get(operation) ?? 0) + 1);
  }

  public entries(count: number): void {
    this.#entries += count;
  }

  public accepted(): void {
    this.#accepted += 1;
  }

  public failedEntry(injected: boolean): void {
    this.#failedEntries += 1;
    if (injected) this.#injectedEntryFaults += 1;
  }

  public injectedCallFault(): void {
    this.#injectedCallFaults += 1;
  }

  public snapshot(): LocalServiceStats {
    const calls = Object.fromEntries([...this.#calls].sort(([a], [b]) => a.localeCompare(b)));
    return {
      calls,
      totalCalls: [...this.#calls.values()].reduce((sum, count) => sum + count, 0),
      entries: this.#entries,
      accepted: this.#accepted,
      failedEntries: this.#failedEntries,
      injectedCallFaults: this.#injectedCallFaults,
      injectedEntryFaults: this.#injectedEntryFaults,
    };
  }
}

/** Thrown for a command a stand-in does not implement: the code under test uses an API the sandbox lacks. */
export class UnsupportedLocalCommandError extends Error {
  public constructor(service: string, command: unknown) {
    const name = (command as { constructor?: { name?: string } } | null)?.constructor?.name ?? typeof command;
    super(`The local ${service} stand-in does not implement ${name}`);
    this.name = 'UnsupportedLocalCommandError';
  }
}

/** The text of a message attribute as a stand-in stores it (binary values base64). */
export function attributeText(value: {
  readonly StringValue?: string | undefined;
  readonly BinaryValue?: Uint8Array | undefined;
}): string {
  if (value.StringValue !== undefined) return value.StringValue;
  if (value.BinaryValue !== undefined) return Buffer.from(value.BinaryValue).toString('base64');
  return '';
}

/** A message body as a stand-in stores it: the JSON value it encodes, or the text itself when it is not JSON. */
export function parsedBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The request-level rules SNS PublishBatch and SQS SendMessageBatch share, with each service's own errors. */
export interface BatchRequestRules<Entry> {
  readonly maxEntries: number;
  /** Largest total of the entries' bodies, in bytes. */
  readonly maxPayloadBytes: number;
  readonly bodyOf: (entry: Entry) => string | undefined;
  readonly errors: {
    readonly empty: () => Error;
    readonly tooMany: () => Error;
    readonly invalidId: (id: string) => Error;
    readonly idsNotDistinct: () => Error;
    readonly tooLong: (bytes: number) => Error;
  };
}

/** Batch entry ids as both services accept them. */
const BATCH_ENTRY_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * Checks a batch request as the services do before looking at any entry, throwing the service's error for an empty
 * or oversized batch, an invalid or repeated entry id, or a payload over the limit. Returns the entry ids.
 */
export function checkBatchRequest<Entry extends { readonly Id?: string }>(
  entries: readonly Entry[],
  rules: BatchRequestRules<Entry>,
): string[] {
  if (entries.length === 0) throw rules.errors.empty();
  if (entries.length > rules.maxEntries) throw rules.errors.tooMany();
  const ids = entries.map((entry) => entry.Id ?? '');
  const badId = ids.find((id) => !BATCH_ENTRY_ID_PATTERN.test(id));
  if (badId !== undefined) throw rules.errors.invalidId(badId);
  if (new Set(ids).size !== ids.length) throw rules.errors.idsNotDistinct();
  const totalBytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(rules.bodyOf(entry) ?? ''), 0);
  if (totalBytes > rules.maxPayloadBytes) throw rules.errors.tooLong(totalBytes);
  return ids;
}
