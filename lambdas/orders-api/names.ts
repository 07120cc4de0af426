/**
 * The orders API's service name: its Powertools service (logs, traces, metric dimensions), the name of its trace
 * segment and of its logger in the sandbox. In a file of its own with no imports, so that the CDK app can name the
 * function without pulling in its runtime.
 */
export const ORDERS_API_SERVICE_NAME = 'orders-api';
