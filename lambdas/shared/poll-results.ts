import * as z from './zod.js';

/**
 * The PollResults item: one per poll, written only by the vote aggregator (one conditional UpdateItem per poll per
 * batch) and read by the orders API with a single GetItem. Both sides import this module, so the layout is defined
 * once.
 *
 * | attribute | type | meaning                                                                                  |
 * |-----------|------|------------------------------------------------------------------------------------------|
 * | pollId    | S    | partition key                                                                            |
 * | counts    | M    | option -> number of current votes (`ADD counts.#option :delta`)                          |
 * | total     | N    | number of current votes, all options                                                     |
 * | lastSeq   | S    | stream sequence number watermark of the last applied record, zero-padded to 40 digits    |
 * | asOf      | S    | ISO-8601 UTC time of the last applied change                                             |
 * | records   | N    | number of stream records applied (votes and reconcile markers): grows by exactly the     |
 * |           |      | records of each applied update, so a re-delivery that writes nothing leaves it unchanged |
 * | reconcileToken | S | optional: token of the last reconcile marker applied (see the vote aggregator's ports)  |
 *
 * `records` and `reconcileToken` came after the first items were written: the schema keeps them optional so that
 * those items still parse.
 */
export const POLL_RESULTS_ATTRIBUTES = {
  pollId: 'pollId',
  counts: 'counts',
  total: 'total',
  lastSeq: 'lastSeq',
  asOf: 'asOf',
  records: 'records',
  reconcileToken: 'reconcileToken',
} as const;

/**
 * DynamoDB stream sequence numbers are decimal strings of 21 to 40 digits. Padded to the maximum width they compare
 * correctly as strings, which is what a condition expression (`lastSeq < :firstSeq`) does.
 */
export const SEQUENCE_NUMBER_WIDTH = 40;

/** Thrown when a value that should be a stream sequence number is not one. */
export class InvalidSequenceNumberError extends Error {
  public constructor(value: string) {
    super(`Not a DynamoDB stream sequence number: ${JSON.stringify(value.slice(0, 64))}`);
    this.name = 'InvalidSequenceNumberError';
  }
}

/** Zero-pads a stream sequence number to {@link SEQUENCE_NUMBER_WIDTH} digits, so that string order = numeric order. */
export function padSequenceNumber(sequenceNumber: string): string {
  if (!/^[0-9]{1,40}$/.test(sequenceNumber)) {
    throw new InvalidSequenceNumberError(sequenceNumber);
  }
  return sequenceNumber.padStart(SEQUENCE_NUMBER_WIDTH, '0');
}

export interface PollResultsItem {
  readonly pollId: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
  readonly lastSeq: string;
  readonly asOf: string;
  /** Absent on items written before the attribute existed. */
  readonly records?: number;
  readonly reconcileToken?: string;
}

/**
 * Counts are not bounded below: a negative count would be drift for the reconcile command to report, and the reader
 * should show it rather than fail the request.
 */
export const pollResultsItemSchema = z.object({
  pollId: z.string().check(z.minLength(1)),
  counts: z.record(z.string(), z.int()),
  total: z.int(),
  lastSeq: z.string().check(z.regex(/^[0-9]{40}$/)),
  asOf: z.iso.datetime(),
  records: z.optional(z.int().check(z.nonnegative())),
  reconcileToken: z.optional(z.string().check(z.minLength(1))),
});

/** Parses a stored item, throwing a ZodError when it does not have the layout above. */
export function parsePollResultsItem(item: unknown): PollResultsItem {
  return pollResultsItemSchema.parse(item);
}

/** What the API returns: the watermark is an implementation detail of the aggregator and stays internal. */
export interface PollResultsView {
  readonly pollId: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
  readonly asOf: string;
}

export function toPollResultsView(item: PollResultsItem): PollResultsView {
  return { pollId: item.pollId, counts: item.counts, total: item.total, asOf: item.asOf };
}
