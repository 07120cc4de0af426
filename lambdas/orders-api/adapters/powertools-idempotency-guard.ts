import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyInconsistentStateError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import {
  type IdempotencyGuard,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  type IdempotentRequest,
} from '../ports.js';

export interface PowertoolsIdempotencyGuardOptions {
  /** Where the records live, e.g. a DynamoDBPersistenceLayer on the Idempotency table. */
  readonly persistenceStore: BasePersistenceLayer;
  /** How long a completed request is answered from its record. Default 24 hours. */
  readonly expiresAfterSeconds?: number;
  /**
   * Prefix of the stored keys. Fixed rather than Powertools' default (the Lambda function name), which CDK
   * regenerates on replacement and would orphan every live key.
   */
  readonly keyPrefix?: string;
}

/** The hashed part of a record: who and which key, plus the payload that retries must repeat. */
interface HashedRequest {
  readonly scope: string;
  readonly key: string;
  readonly payload: unknown;
}

/**
 * {@link IdempotencyGuard} on Powertools idempotency: records keyed by hash(scope, key), payload validation on the
 * validated request, the in-progress lock bounded by the invocation's remaining time.
 */
export class PowertoolsIdempotencyGuard implements IdempotencyGuard {
  private readonly persistenceStore: BasePersistenceLayer;
  private readonly expiresAfterSeconds: number;
  private readonly keyPrefix: string;

  public constructor(options: PowertoolsIdempotencyGuardOptions) {
    this.persistenceStore = options.persistenceStore;
    this.expiresAfterSeconds = options.expiresAfterSeconds ?? 24 * 60 * 60;
    this.keyPrefix = options.keyPrefix ?? 'orders-api.create-order';
  }

  public async run<T>(request: IdempotentRequest, work: () => Promise<T>): Promise<T> {
    // A config per call: it carries the invocation's context, and the sandbox serves concurrent requests from one
    // process, where a shared config's registered context would be another request's.
    const config = new IdempotencyConfig({
      eventKeyJmesPath: '[scope, key]',
      payloadValidationJmesPath: 'payload',
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds: this.expiresAfterSeconds,
      hashFunction: 'sha256',
      lambdaContext: request.context,
    });
    const runOnce = makeIdempotent(async (_hashed: HashedRequest, fn: () => Promise<T>): Promise<T> => fn(), {
      persistenceStore: this.persistenceStore,
      config,
      keyPrefix: this.keyPrefix,
      dataIndexArgument: 0,
    });
    try {
      return await runOnce({ scope: request.scope, key: request.key, payload: request.payload }, work);
    } catch (error) {
      if (error instanceof IdempotencyValidationError) {
        throw new IdempotencyKeyReusedError({ cause: error });
      }
      // Inconsistent state (a record expiring mid-request) survived Powertools' own retries: as good as busy.
      if (
        error instanceof IdempotencyAlreadyInProgressError ||
        error instanceof IdempotencyInconsistentStateError
      ) {
        throw new IdempotencyInProgressError({ cause: error });
      }
      throw error;
    }
  }
}
