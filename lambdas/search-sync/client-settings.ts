/**
 * The settings of the search sync's OpenSearch client, read by its composition root (handler.ts) and by the sandbox's
 * twin of it, so that the local run times out and retries as the deployed one does. Kept in a file of its own with no
 * imports, so that the sandbox can read them without loading the handler (which reads its environment at import).
 *
 * A bulk request of a batch of 100 orders is well under a second; 15 s, retried once, stays inside the function's
 * 60-second timeout with the bootstrap's requests, so a stuck request fails the batch (reported and retried by the
 * ESM) rather than timing the invocation out.
 */
export const SEARCH_SYNC_OPENSEARCH_CLIENT = Object.freeze({
  requestTimeoutMs: 15_000,
  maxRetries: 1,
} as const);
