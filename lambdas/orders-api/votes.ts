import * as z from '../shared/zod.js';

/** One voter's current choice in one poll: an item of the Votes table (partition `pollId`, sort `voterId`). */
export interface Vote {
  readonly pollId: string;
  readonly voterId: string;
  readonly option: string;
  /** ISO-8601 UTC time of the last change of the choice. */
  readonly votedAt: string;
}

export type VoteKey = Pick<Vote, 'pollId' | 'voterId'>;

export type PutVoteOutcome =
  | { readonly kind: 'created'; readonly vote: Vote }
  | { readonly kind: 'changed'; readonly vote: Vote; readonly previous: Vote }
  /** The same option again: nothing was written; `vote` is the stored one. */
  | { readonly kind: 'unchanged'; readonly vote: Vote };

/** The stored item as readers accept it (not strict, so a later attribute does not break them). */
export const voteItemSchema = z.object({
  pollId: z.string().check(z.minLength(1)),
  voterId: z.string().check(z.minLength(1)),
  option: z.string().check(z.minLength(1)),
  votedAt: z.iso.datetime(),
});

export function parseVoteItem(item: unknown): Vote {
  return voteItemSchema.parse(item);
}
