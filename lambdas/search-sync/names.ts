/**
 * The consumer name of the search sync: its CONSUMER_NAME, metric service, DLQ letters and dashboard titles. Kept in a
 * file of its own with no imports, so that the CDK app can name the consumer without pulling the sync's runtime
 * dependencies (Powertools) into synth.
 */
export const SEARCH_SYNC_CONSUMER_NAME = 'search-sync';
