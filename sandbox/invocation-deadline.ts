import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import type { StreamFunction } from './esm/types.js';

/**
 * Lambda freezes a function whose invocation timed out: it sends nothing more. The local runner cannot freeze a
 * promise; it gives up on the invocation and goes on (a retry of the batch may start at once) while the abandoned
 * invocation keeps running. Left alone, that invocation would keep writing to the sinks and the tables concurrently
 * with its own retry, something Lambda never does, and the chaos run would report the sandbox's artefacts as the
 * consumer's bugs.
 *
 * So the sandbox runs each invocation in an async context that carries its deadline, and the local clients (the
 * SNS/SES/SQS stand-ins and the counting DynamoDB client) refuse a call made by an invocation past its deadline. A
 * call already under way when the deadline passes completes, as a request in flight does when Lambda freezes.
 */

export interface InvocationScope {
  readonly consumerName: string;
  /** When the invocation times out, in the clock's milliseconds. */
  readonly deadlineMs: number;
  readonly clock: () => number;
}

const scopes = new AsyncLocalStorage<InvocationScope>();

/**
 * Below this many milliseconds left, a call is refused: the runner's timer may fire a little before the clock reads
 * the deadline, and a refused call costs only a retry.
 */
export const DEADLINE_MARGIN_MS = 20;

/** Thrown for a call made by an invocation whose deadline has passed (the runner has given up on it). */
export class InvocationDeadlinePassedError extends Error {
  public constructor(consumerName: string, what: string) {
    super(
      `${what} refused: the invocation of ${consumerName} is past its deadline (Lambda would have frozen it)`,
    );
    this.name = 'InvocationDeadlinePassedError';
  }
}

/** The invocation the current async context belongs to; undefined outside of one (the API, tests, tools). */
export function currentInvocation(): InvocationScope | undefined {
  return scopes.getStore();
}

/** Throws InvocationDeadlinePassedError when called from an invocation whose deadline has (nearly) passed. */
export function assertInvocationAlive(what: string): void {
  const scope = scopes.getStore();
  if (scope !== undefined && scope.deadlineMs - scope.clock() < DEADLINE_MARGIN_MS) {
    throw new InvocationDeadlinePassedError(scope.consumerName, what);
  }
}

/**
 * Runs every invocation of `fn` in a scope with its deadline (now + the context's remaining time), so that the local
 * clients it calls can refuse work after the deadline. Behaves exactly like `fn` otherwise.
 */
export function withInvocationDeadline(
  consumerName: string,
  fn: StreamFunction,
  clock: () => number = Date.now,
): StreamFunction {
  return (event: DynamoDBStreamEvent, context: Context) => {
    const remaining =
      typeof context?.getRemainingTimeInMillis === 'function'
        ? context.getRemainingTimeInMillis()
        : Number.POSITIVE_INFINITY;
    return scopes.run({ consumerName, deadlineMs: clock() + remaining, clock }, () => fn(event, context));
  };
}
