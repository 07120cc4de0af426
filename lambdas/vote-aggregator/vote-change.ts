import { PermanentError } from '../shared/errors.js';
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
 * Options are free-form: the system has no poll definitions (no Polls table), so any non-empty string an API write
 * put in the Votes table is counted under its own name. An unknown option can therefore never fail a record; only a
 * missing or non-string one does.
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
      return { ...common, after: requireString(record.newImage, 'new image', VOTE_ATTRIBUTES.option) };
    case 'MODIFY':
      return {
        ...common,
        before: requireString(record.oldImage, 'old image', VOTE_ATTRIBUTES.option),
        after: requireString(record.newImage, 'new image', VOTE_ATTRIBUTES.option),
      };
    case 'REMOVE':
      return { ...common, before: requireString(record.oldImage, 'old image', VOTE_ATTRIBUTES.option) };
  }
}
