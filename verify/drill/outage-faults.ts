import { createHash } from 'node:crypto';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../../lambdas/vote-aggregator/names.js';
import type { ServiceFaultHook } from '../../sandbox/adapters/service-faults.js';
import type { ConsumerFunctionWrapper } from '../../sandbox/consumer-function.js';
import type { LocalOpenSearchFaults } from '../../sandbox/opensearch/local-opensearch.js';

/**
 * The downstream outage of the outage drill (outage-drill.ts), one switch for every fault it injects, so that the
 * outage starts and ends at one moment for every consumer:
 * - the SNS, SES, SQS and S3 stand-ins answer every call with their throttling error (503 SlowDown for S3): the
 *   order fan-out and the audit log retry until the mapping gives up (on-failure letters, ranges);
 * - the local OpenSearch's `orders` mapping is "broken" for about half of the orders (a keyed hash of the order id):
 *   their bulk items are answered 400 `mapper_parsing_exception`, which the search sync classifies as permanent and
 *   dead-letters in full (runtime letters); the other half is answered 429 (throttled), retried until given up;
 * - the vote aggregator's DynamoDB is unreachable: its function throws, the whole batch fails and is retried until
 *   given up.
 * Outside the outage nothing fails.
 */

/** The vote aggregator's invocation during the drill's outage: its DynamoDB does not answer. */
export class DrillOutageError extends Error {
  public constructor(consumerName: string) {
    super(`${consumerName}: DynamoDB is unreachable (the outage drill's injected outage)`);
    this.name = 'DrillOutageError';
  }
}

/** What the outage injected, for the report. */
export interface OutageFaultCounts {
  /** SNS, SES, SQS and S3 calls answered with a throttling error. */
  serviceCalls: number;
  /** Bulk items answered 400 mapper_parsing_exception (permanent). */
  searchItemsRefused: number;
  /** Bulk items answered 429 (transient). */
  searchItemsRejected: number;
  /** Invocations of the vote aggregator that threw. */
  functionErrors: number;
}

/** Whether the drill's broken mapping refuses this order's document (about half of the orders, by a hash of the id). */
export function refusedByBrokenMapping(orderId: string): boolean {
  return (createHash('sha256').update(orderId).digest()[0]! & 1) === 0;
}

export class OutageFaults {
  #active = false;
  readonly #counts: OutageFaultCounts = {
    serviceCalls: 0,
    searchItemsRefused: 0,
    searchItemsRejected: 0,
    functionErrors: 0,
  };

  public get active(): boolean {
    return this.#active;
  }

  public start(): void {
    this.#active = true;
  }

  public end(): void {
    this.#active = false;
  }

  public counts(): OutageFaultCounts {
    return { ...this.#counts };
  }

  /** The stand-ins' hook: every call fails during the outage, before anything is written. */
  public readonly serviceFaults: ServiceFaultHook = {
    failCall: () => {
      if (!this.#active) return false;
      this.#counts.serviceCalls += 1;
      return true;
    },
    // A whole call fails first; entries of a call that got through are never failed on their own.
    failEntry: () => false,
  };

  /** The local OpenSearch's hook: per bulk item, 400 for the orders the broken mapping refuses, 429 for the others. */
  public readonly searchFaults: LocalOpenSearchFaults = {
    // The index bootstrap and the API's searches stay up: only the writes of the search sync are under test.
    failRequest: () => false,
    refuseBulkItemMapping: ({ id }) => {
      if (!this.#active || !refusedByBrokenMapping(id)) return false;
      this.#counts.searchItemsRefused += 1;
      return true;
    },
    rejectBulkItem: ({ id }) => {
      if (!this.#active || refusedByBrokenMapping(id)) return false;
      this.#counts.searchItemsRejected += 1;
      return true;
    },
  };

  /** Wraps the vote aggregator's function: it throws during the outage, as when its DynamoDB does not answer. */
  public readonly wrapFunction: ConsumerFunctionWrapper = (consumerName, fn) => {
    if (consumerName !== VOTE_AGGREGATOR_CONSUMER_NAME) return fn;
    return async (event, context) => {
      if (this.#active) {
        this.#counts.functionErrors += 1;
        throw new DrillOutageError(consumerName);
      }
      return fn(event, context);
    };
  };
}
