/**
 * The settings of the orders API's OpenSearch client (`GET /orders/search`), read by its composition root
 * (handler.ts) and by the sandbox's wiring of the API, so that the local run times out and retries as the deployed
 * one does. Kept in a file of its own with no imports, so that the sandbox can read them without loading the handler
 * (which reads its environment at import).
 *
 * A search answers in milliseconds; 3 s, retried once, leaves room inside the function's 10-second timeout to answer
 * 503 in JSON instead of letting API Gateway time out.
 */
export const ORDERS_API_SEARCH_CLIENT = Object.freeze({
  requestTimeoutMs: 3_000,
  maxRetries: 1,
} as const);
