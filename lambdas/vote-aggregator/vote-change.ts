import { PermanentError } from '../shared/errors.js';
import { isSafeId, SAFE_ID_MAX_LENGTH } from '../shared/identifiers.js';
import { InvalidSequenceNumberError, padSequenceNumber } from '../shared/poll-results.js';
import type { ChangeRecord } from '../shared/stream/change-record.js';
import type { DecodedItem } from '../shared/stream/lossless.js';
import { RECONCILE_MARKER_VOTER_ID, type VoteChange } from './ports.js';

/** The attributes of a Votes item the aggregator reads (lambdas/orders-api/votes.ts). */
export const VOTE_ATTRIBUTES = {
  pollId: 'pollId',
  voterId: 'voterId',
  option: 'option',
  /** Of a reconcile marker item only. */
  token: 'token',
} as const;

/** A non-empty string attribute of an image, or a PermanentError naming where it was missing. */
function requireString(item: DecodedItem | undefined, where: string, attribute: string): string {
  if (item === undefined) {
    throw new PermanentError(`Vote record has no ${where} (needed for "${attribute}")`);
  }
  const value = item[attribute];
  if (typeof value !== 'string' || value === '') {
    throw new PermanentError(`Vote record's ${where} has no non-empty string "${attribute}"`);
  }
  return value;
}

/**
 * The option of an image: a non-empty string that is a valid identifier (lambdas/shared/identifiers.ts), the rule the
 * API enforces on `option`. A vote written to the table some other way with another name (e.g. `__proto__`) can
 * never be counted under it: PermanentError, so only that record goes to the DLQ.
 */
function requireOption(item: DecodedItem | undefined, where: string): string {
  const option = requireString(item, where, VOTE_ATTRIBUTES.option);
  if (!isSafeId(option)) {
    throw new PermanentError(
      `Vote record's ${where} has an invalid "${VOTE_ATTRIBUTES.option}" ${JSON.stringify(option.slice(0, 64))}: ` +
        `options are 1-${SAFE_ID_MAX_LENGTH} ASCII letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return option;
}

function paddedSequence(record: ChangeRecord): string {
  try {
    return padSequenceNumber(record.sequenceNumber);
  } catch (err) {
    if (err instanceof InvalidSequenceNumberError) {
      throw new PermanentError(
        `Vote record's sequenceNumber is not a stream sequence number: ${err.message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

/**
 * The vote change of one Votes stream record:
 * - INSERT: `after` = the new image's option (a vote cast);
 * - MODIFY: `before` = the old image's option, `after` = the new image's (equal when only `votedAt` changed);
 * - REMOVE: `before` = the old image's option (a vote retracted).
 *
 * Keys give pollId and voterId. A record without what its kind needs (a key, an image, an option) throws
 * PermanentError naming the missing field: it can never be counted, whatever the retry.
 *
 * A reconcile marker (voterId RECONCILE_MARKER_VOTER_ID) is no vote: its INSERT or MODIFY yields `markerToken` (the
 * new image's `token`) and neither `before` nor `after`. Its REMOVE (the reconcile command cleaning up) yields a
 * change that counts nothing and records no token: it still moves the watermark like any other applied record.
 *
 * Options are open: the system has no poll definitions (no Polls table), so any valid identifier (the API's rule,
 * requireOption) is counted under its own name. An unknown option never fails a record; a missing, non-string or
 * invalid one does, and only that record.
 */
export function toVoteChange(record: ChangeRecord): VoteChange {
  const pollId = requireString(record.keys, 'keys', VOTE_ATTRIBUTES.pollId);
  const voterId = requireString(record.keys, 'keys', VOTE_ATTRIBUTES.voterId);
  const common = {
    pollId,
    voterId,
    sequence: paddedSequence(record),
    sequenceNumber: record.sequenceNumber,
    time: record.approximateCreationTime,
  };
  if (voterId === RECONCILE_MARKER_VOTER_ID) {
    return record.eventName === 'REMOVE'
      ? common
      : { ...common, markerToken: requireString(record.newImage, 'new image', VOTE_ATTRIBUTES.token) };
  }
  switch (record.eventName) {
    case 'INSERT':
      return { ...common, after: requireOption(record.newImage, 'new image') };
    case 'MODIFY':
      return {
        ...common,
        before: requireOption(record.oldImage, 'old image'),
        after: requireOption(record.newImage, 'new image'),
      };
    case 'REMOVE':
      return { ...common, before: requireOption(record.oldImage, 'old image') };
  }
}
