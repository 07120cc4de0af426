// The base class of every zod error, imported from zod's core rather than reached as `z.core.$ZodError`: a member
// of the nested `z.core` namespace makes esbuild keep all of it, the 64 locales included (about 330 KB minified).
import { $ZodError } from 'zod/v4/core';
import * as z from './zod.js';

/**
 * How a failed stream record is treated (docs/architecture.md, contract 4):
 * - `permanent`: the record can never succeed; it goes to the consumer's DLQ and counts as handled, so it never
 *   blocks the shard.
 * - `transient`: retrying may succeed; the record is reported as a batch item failure and the ESM retries it.
 */
export type FailureKind = 'permanent' | 'transient';

/**
 * A record that can never succeed however often it is retried: a schema violation, a 4xx from a sink that rejects
 * the content itself. Throw it from consumer code to send the record to the DLQ with `reason`.
 */
export class PermanentError extends Error {
  public readonly reason: string;

  public constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'PermanentError';
    this.reason = reason;
  }
}

/**
 * A failure that a later attempt may not hit: throttling, a 5xx, a timeout, a sink that is down. Throw it from
 * consumer code to have the record retried by the event source mapping.
 */
export class TransientError extends Error {
  public readonly reason: string;

  public constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'TransientError';
    this.reason = reason;
  }
}

/**
 * A batch contains a record that cannot be reported as a batch item failure (no `dynamodb.SequenceNumber`).
 * Returning an empty or made-up `itemIdentifier` would make Lambda fail or mis-checkpoint the batch, so the runtime
 * throws this before processing anything and the whole batch is retried.
 */
export class UnreportableRecordError extends Error {
  public constructor(
    public readonly position: number,
    public readonly eventId: string | undefined,
  ) {
    super(
      `Stream record at position ${position} (eventID ${eventId ?? 'unknown'}) has no dynamodb.SequenceNumber, ` +
        'so its failure could not be reported; failing the whole batch',
    );
    this.name = 'UnreportableRecordError';
  }
}

/**
 * Throttling names. The AWS SDK's own list (@smithy/service-error-classification THROTTLING_ERROR_CODES) plus the
 * spellings other services use. A throttled request succeeds once the rate drops.
 */
const THROTTLING_ERROR_NAMES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'TooManyRequestsException',
  'TransactionInProgressException',
  // A DynamoDB transaction that lost a race with another one on the same item succeeds when retried.
  'TransactionConflictException',
  // SQS: KMS throttled the data key request; too many in-flight messages.
  'KmsThrottled',
  'KMS.ThrottlingException',
  'OverLimit',
  // SNS: KMS throttled the topic key.
  'KMSThrottlingException',
]);

/** Timeouts and dropped connections (SDK TRANSIENT_ERROR_CODES and Node.js socket error codes). */
const NETWORK_ERROR_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  // The SDK throws AbortError when a request is aborted, e.g. by a per-call deadline near the Lambda timeout.
  'AbortError',
]);
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Authentication, authorisation and configuration errors. They are 4xx, but the record is fine: an operator fixes
 * the IAM policy, the key, the expired session or the missing resource, and every record then succeeds. Treating
 * them as permanent would send every record of the shard to the DLQ during the outage, so they are transient and
 * the iterator-age alarm tells the operator.
 */
const AUTH_OR_CONFIG_ERROR_NAMES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AuthFailure',
  'AuthorizationError',
  'ExpiredToken',
  'ExpiredTokenException',
  'IncompleteSignature',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
  'NotAuthorized',
  'RequestExpired',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSNotFoundException',
  'KMS.AccessDeniedException',
  'KMS.DisabledException',
  'KMS.KMSInvalidStateException',
  // SQS's own spellings of the KMS errors (its error model), and SNS's opt-in one.
  'KMS.InvalidStateException',
  'KMS.NotFoundException',
  'KMS.OptInRequired',
  'KMSOptInRequired',
  // SQS spells its KMS errors without the Exception suffix; InvalidSecurity is a request not made over HTTPS/SigV4.
  'KmsAccessDenied',
  'KmsDisabled',
  'KmsInvalidState',
  'KmsNotFound',
  'KmsOptInRequired',
  'InvalidSecurity',
  'ResourceNotFoundException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'NotFoundException',
  'NoSuchBucket',
  'MailFromDomainNotVerifiedException',
  'AccountSendingPausedException',
  // SESv2's names for a paused or suspended account: an operator (or AWS support) resumes sending.
  'SendingPausedException',
  'AccountSuspendedException',
]);

/**
 * The JavaScript engine's own error types. Thrown from our code or a library's while building or reading a request
 * (a marshaller meeting a value it cannot encode, the SDK failing to deserialize a response), they are bugs: the
 * record and the service are not at fault. The SDK attaches the response's `$metadata` (status 400 and all) to a
 * deserialization failure, which must not make it look like the service refusing the request.
 */
const BUILT_IN_ERROR_TYPES: readonly (abstract new (...args: never[]) => Error)[] = [
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
];

function isBuiltInError(err: unknown): boolean {
  return BUILT_IN_ERROR_TYPES.some((type) => err instanceof type);
}

/** Status codes that are 4xx yet not about the request's content: timeout, throttling, auth and missing resource. */
const TRANSIENT_CLIENT_STATUS_CODES: ReadonlySet<number> = new Set([401, 403, 404, 408, 429]);

/** The fields of an AWS SDK v3 ServiceException (and of Node.js system errors) that classification reads. */
const sdkErrorShape = z.looseObject({
  name: z.optional(z.string()),
  code: z.optional(z.string()),
  $fault: z.optional(z.enum(['client', 'server'])),
  $retryable: z.optional(z.looseObject({})),
  $metadata: z.optional(z.looseObject({ httpStatusCode: z.optional(z.number()) })),
});

/**
 * Decides whether a failure of a stream record is permanent (DLQ, then the record counts as handled) or transient
 * (reported, the ESM retries). When in doubt it answers `transient`: a wrongly retried record costs retries and ends
 * in the ESM's on-failure destination anyway, while a wrongly dead-lettered record is skipped for good and the
 * records after it are applied without it.
 *
 * In order:
 * 1. Our own `PermanentError` / `TransientError` say what they are.
 * 2. A zod error is a schema violation of the record: permanent.
 * 3. Throttling (by name, HTTP 429 or the SDK's `$retryable.throttling`), any `$retryable` error, timeouts and
 *    network errors: transient.
 * 4. Auth/config errors (see AUTH_OR_CONFIG_ERROR_NAMES): transient, an operator fix resolves them.
 * 5. 5xx or `$fault: 'server'`: transient. 401/403/404/408/429: transient (auth, missing resource, timeout,
 *    throttling). Any other 4xx (ValidationException, ConditionalCheckFailedException, SerializationException...):
 *    permanent, the same request is rejected every time.
 * 6. Anything else, including plain `Error`s from bugs: transient. A bug fix and a redeploy let the records through,
 *    whereas dead-lettering them would lose them for every consumer that shares the bug.
 *
 * An error of our own making (see isInternalError) is transient whatever `$metadata` it carries, and the stream
 * runtime counts it in the InternalErrors metric, whose alarm tells an operator at once: it is never retried for the
 * record's maximum age in silence, and never dead-letters records that are not at fault.
 */
export function classifyError(err: unknown): FailureKind {
  if (err instanceof PermanentError) {
    return 'permanent';
  }
  if (err instanceof TransientError) {
    return 'transient';
  }
  if (err instanceof $ZodError) {
    return 'permanent';
  }
  if (isBuiltInError(err)) {
    return 'transient';
  }
  const parsed = sdkErrorShape.safeParse(err);
  if (!parsed.success) {
    return 'transient';
  }
  const { name = '', code = '', $fault, $retryable, $metadata } = parsed.data;
  const status = $metadata?.httpStatusCode;
  if (
    $retryable !== undefined ||
    THROTTLING_ERROR_NAMES.has(name) ||
    NETWORK_ERROR_NAMES.has(name) ||
    NETWORK_ERROR_CODES.has(code) ||
    AUTH_OR_CONFIG_ERROR_NAMES.has(name)
  ) {
    return 'transient';
  }
  if ($fault === 'server' || (status !== undefined && status >= 500)) {
    return 'transient';
  }
  if (status !== undefined && status >= 400) {
    return TRANSIENT_CLIENT_STATUS_CODES.has(status) ? 'transient' : 'permanent';
  }
  if ($fault === 'client') {
    // A modelled client error without a status code (e.g. built by hand or by a local adapter): the service
    // declared it the caller's fault, i.e. about the request's content.
    return 'permanent';
  }
  return 'transient';
}

/**
 * Whether a failure is of our own making rather than the record's or a service's: an engine error (TypeError and
 * the like, including the SDK's deserialization failures), or anything classifyError knows nothing of (a plain
 * `Error` with no service fields, a non-Error thrown). Such a failure is a bug or a broken stored item that an
 * operator must look at; retrying cannot be expected to fix it.
 */
export function isInternalError(err: unknown): boolean {
  if (err instanceof PermanentError || err instanceof TransientError || err instanceof $ZodError) {
    return false;
  }
  if (isBuiltInError(err)) {
    return true;
  }
  const parsed = sdkErrorShape.safeParse(err);
  if (!parsed.success) {
    return true;
  }
  const { name = '', code = '', $fault, $retryable, $metadata } = parsed.data;
  const known =
    $fault !== undefined ||
    $retryable !== undefined ||
    $metadata?.httpStatusCode !== undefined ||
    THROTTLING_ERROR_NAMES.has(name) ||
    NETWORK_ERROR_NAMES.has(name) ||
    NETWORK_ERROR_CODES.has(code) ||
    AUTH_OR_CONFIG_ERROR_NAMES.has(name);
  return !known;
}

/** A short, single-line description of a failure for logs and DLQ messages. */
export function describeError(err: unknown): { errorName: string; reason: string } {
  if (err instanceof PermanentError || err instanceof TransientError) {
    return { errorName: err.name, reason: err.reason };
  }
  if (err instanceof Error) {
    return { errorName: err.name, reason: err.message === '' ? err.name : err.message };
  }
  return { errorName: 'NonErrorThrown', reason: String(err) };
}
