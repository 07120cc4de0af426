import type { Context } from 'aws-lambda';
import type { OrdersRepository } from '../shared/orders/orders-repository.js';
import type { PollResultsView } from '../shared/poll-results.js';
import type { PutVoteOutcome, Vote, VoteKey } from './votes.js';

/**
 * The ports of the orders API: everything `createOrdersApi` needs from the outside world. The Lambda, the local
 * sandbox and the tests plug in adapters; the API code never touches an SDK client.
 */

/**
 * The search port of `GET /orders/search` (lambdas/shared/search/orders-index.ts): it throws InvalidCursorError for a
 * cursor it did not issue (answered 400 naming `cursor`); any other failure is answered 503.
 */
export type { OrderSearch, OrderSearchPage, OrderSearchQuery } from '../shared/search/orders-index.js';
export { InvalidCursorError } from '../shared/search/orders-index.js';
export type { OrdersRepository };

export interface VotesRepository {
  /**
   * Records the voter's choice. A vote for the option already recorded writes nothing (no stream record, so the
   * aggregator never sees a change that is not one) and comes back as `unchanged` with the stored vote.
   */
  put(vote: Vote): Promise<PutVoteOutcome>;
  /** Deletes the vote; false when there was none. */
  delete(key: VoteKey): Promise<boolean>;
}

export interface PollResultsReader {
  /** The aggregated results of one poll (a single GetItem), or undefined when nothing was aggregated yet. */
  get(pollId: string): Promise<PollResultsView | undefined>;
}

export interface IdempotentRequest {
  /** Who is asking: keys of different callers never collide. */
  readonly scope: string;
  /** The client's Idempotency-Key. */
  readonly key: string;
  /** The validated request; a retry with the same key must carry an equal payload. */
  readonly payload: unknown;
  /** The invocation's context, so an interrupted attempt's lock expires with the invocation. */
  readonly context: Context;
}

/**
 * Runs work at most once per (scope, key) while the key's record lives, answering retries with the first result.
 * Throws {@link IdempotencyKeyReusedError} when the key comes back with another payload and
 * {@link IdempotencyInProgressError} while the first attempt is still running.
 */
export interface IdempotencyGuard {
  run<T>(request: IdempotentRequest, work: () => Promise<T>): Promise<T>;
}

/** The key was used before with a different request. */
export class IdempotencyKeyReusedError extends Error {
  public constructor(options?: ErrorOptions) {
    super('This Idempotency-Key was already used with a different request', options);
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** A request with the same key is still being processed. */
export class IdempotencyInProgressError extends Error {
  public constructor(options?: ErrorOptions) {
    super('A request with this Idempotency-Key is still in progress', options);
    this.name = 'IdempotencyInProgressError';
  }
}

export type Clock = () => Date;
export type IdGenerator = () => string;

/** The slice of a logger the API uses; Powertools' Logger satisfies it. */
export interface ApiLogger {
  error(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}
