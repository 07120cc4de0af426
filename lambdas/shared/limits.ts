/**
 * Service limits shared by the CDK app and the Lambda code, so the infrastructure and the code that relies on it can
 * never disagree.
 */

/**
 * The largest SQS message, in bytes, counting the body and every message attribute (name, type and value).
 * The CDK side sets each DLQ's `maxMessageSizeBytes` from this constant, and the stream runtime truncates a dead
 * letter that would exceed it.
 */
export const SQS_MAX_MESSAGE_BYTES = 262_144;
