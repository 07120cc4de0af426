import { ENV, requireEnv } from '../shared/env.js';
import { TransientError } from '../shared/errors.js';
import type { SearchClient } from '../shared/search/opensearch-client-options.js';
import { describeClientError, OpenSearchIndex } from '../shared/search/opensearch-index.js';
import { type IndexOperation, ORDERS_INDEX, type SearchIndex } from '../shared/search/orders-index.js';
import { ensureOrdersIndex, onceUntilSuccess } from '../shared/search/orders-index-bootstrap.js';
import type { RecordOutcome } from '../shared/stream/stream-handler.js';
import type { SearchSyncHandlerOptions } from './sync.js';

/**
 * The environment variables of the search sync, by name: `process.env` in the Lambda, the variables the sandbox
 * resolves from the synthesized template locally. A missing one throws MissingEnvironmentError.
 */
export type SearchSyncEnvironment = Readonly<Record<string, string | undefined>>;

/** What the search sync's handler needs besides its name and DLQ. */
export type SearchSyncPorts = Pick<SearchSyncHandlerOptions, 'index'>;

/** The logging of the composition; a Powertools Logger satisfies it. */
export interface SearchSyncAdaptersLogger {
  info(message: string, attributes: Record<string, unknown>): void;
}

export interface SearchSyncAdaptersOptions {
  /** Told when the bootstrap creates the index or extends its mapping: changes an operator wants in the log. */
  readonly logger?: SearchSyncAdaptersLogger;
}

/** An environment variable holds a value the function cannot work with: a deployment error, thrown at cold start. */
export class InvalidEnvironmentError extends Error {
  public constructor(name: string, value: string, expected: string) {
    super(`Environment variable ${name} must be ${expected}, got "${value}"`);
    this.name = 'InvalidEnvironmentError';
  }
}

/**
 * The index is not ready (the bootstrap failed): transient, whatever the cause. A network error or a 5xx passes, and
 * a mapping conflict or a missing permission is an operator's fix, after which every record goes through; the
 * iterator-age alarm tells the operator meanwhile.
 */
export class SearchIndexNotReadyError extends TransientError {
  public constructor(cause: unknown) {
    super(`The "${ORDERS_INDEX}" index could not be prepared: ${describeClientError(cause)}`, { cause });
    this.name = 'SearchIndexNotReadyError';
  }
}

/**
 * The search sync's adapters on an OpenSearch client: the one composition shared by the Lambda (`handler.ts`, a
 * signed client) and the local sandbox (an unsigned client of its local OpenSearch), so both run the same adapters.
 *
 * The index is an OpenSearchIndex that runs ensureOrdersIndex (with SEARCH_INDEX_REPLICAS) before its first bulk
 * request: once per container when it succeeds; a failed bootstrap is not remembered, so the next batch tries again.
 * Lazily rather than at cold start, so that a domain that is briefly unreachable fails a batch (retried) rather than
 * the function's initialisation.
 */
export function createSearchSyncAdapters(
  client: SearchClient,
  env: SearchSyncEnvironment,
  options: SearchSyncAdaptersOptions = {},
): SearchSyncPorts {
  const replicas = parseReplicas(requireEnv(ENV.SEARCH_INDEX_REPLICAS, env));
  const ensureIndex = onceUntilSuccess(async (): Promise<void> => {
    const result = await ensureOrdersIndex(client, { replicas });
    if (result.kind !== 'exists' || result.addedFields.length > 0) {
      options.logger?.info('Prepared the search index', { index: ORDERS_INDEX, replicas, ...result });
    }
  });
  return { index: new BootstrappedSearchIndex(new OpenSearchIndex(client), ensureIndex) };
}

/** A SearchIndex that prepares the index before its first write. */
export class BootstrappedSearchIndex implements SearchIndex {
  readonly #index: SearchIndex;
  readonly #ensureIndex: () => Promise<void>;

  public constructor(index: SearchIndex, ensureIndex: () => Promise<void>) {
    this.#index = index;
    this.#ensureIndex = ensureIndex;
  }

  public async bulkIndex(operations: readonly IndexOperation[]): Promise<RecordOutcome[]> {
    try {
      await this.#ensureIndex();
    } catch (error) {
      throw new SearchIndexNotReadyError(error);
    }
    return this.#index.bulkIndex(operations);
  }
}

function parseReplicas(value: string): number {
  // Digits only: Number() would take "", " 1", "1e0" and "0x1".
  if (!/^[0-9]{1,2}$/.test(value)) {
    throw new InvalidEnvironmentError(
      ENV.SEARCH_INDEX_REPLICAS,
      value,
      'a whole number of replicas (0 to 99)',
    );
  }
  return Number(value);
}
