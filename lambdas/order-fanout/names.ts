/**
 * The consumer name of the order fan-out: its CONSUMER_NAME, metric service, DLQ letters and dashboard titles. In a
 * file of its own with no imports, so that the CDK app can name the consumer without pulling in its runtime.
 */
export const ORDER_FANOUT_CONSUMER_NAME = 'order-fanout';
