import { Outcome, type RecordOutcome } from '../../shared/stream/stream-handler.js';

/**
 * The per-entry failure of an SNS PublishBatch or SQS SendMessageBatch call (both services name it
 * BatchResultErrorEntry). `Code` and `SenderFault` are required by both APIs; they are optional here because the SDK
 * types them so, and a stand-in client may leave them out.
 */
export interface BatchEntryFailure {
  readonly Id?: string | undefined;
  readonly Code?: string | undefined;
  readonly Message?: string | undefined;
  readonly SenderFault?: boolean | undefined;
}

/**
 * One failed entry of a batch call as an error-like value shaped like an AWS SDK ServiceException: `name` is the
 * entry's code and `$fault` its SenderFault, so that classifyError reads it as it reads a whole-call failure (its
 * throttling and auth/config name lists apply, and a client fault of any other name is permanent).
 */
export class BatchEntryFailedError extends Error {
  public readonly code: string;
  public readonly senderFault: boolean | undefined;
  public readonly $fault: 'client' | 'server';

  public constructor(service: string, failure: BatchEntryFailure) {
    const code = failure.Code ?? 'UnknownError';
    const detail = failure.Message === undefined || failure.Message === '' ? '' : `: ${failure.Message}`;
    super(`${service} failed the entry with ${code}${detail}`);
    this.name = code;
    this.code = code;
    this.senderFault = failure.SenderFault;
    // A missing SenderFault counts as the service's fault: retrying a content error costs retries, dead-lettering a
    // service error loses the entry.
    this.$fault = failure.SenderFault === true ? 'client' : 'server';
  }
}

/**
 * The outcome of a failed batch entry:
 * - `SenderFault: false` (or missing): transient, the service failed (InternalError and the like);
 * - a code in `transientCodes` (the service's own spellings of throttling, KMS, auth and missing-resource errors
 *   that classifyError's lists do not know): transient, a retry or an operator fix lets it through;
 * - otherwise classifyError decides: throttling and auth/config names it knows are transient, any other sender
 *   fault (InvalidParameter, InvalidParameterValue, ...) is about the entry's content and permanent.
 */
export function batchEntryOutcome(
  service: string,
  failure: BatchEntryFailure,
  transientCodes: ReadonlySet<string>,
): RecordOutcome {
  const error = new BatchEntryFailedError(service, failure);
  if (transientCodes.has(error.code)) {
    return { kind: 'transient', reason: error.message, error };
  }
  return Outcome.fromError(error);
}

/** The outcome of an entry the response lists neither as successful nor as failed: it should not happen; retry it. */
export function missingEntryOutcome(service: string, id: string): RecordOutcome {
  return Outcome.transient(`${service} reported no result for entry ${id}`);
}

/**
 * Maps the Successful/Failed lists of a batch response back to the request's entries by Id: `results[i]` is the
 * outcome of `ids[i]`.
 */
export function mapBatchResults(
  service: string,
  ids: readonly string[],
  successful: readonly { readonly Id?: string | undefined }[] | undefined,
  failed: readonly BatchEntryFailure[] | undefined,
  transientCodes: ReadonlySet<string>,
): RecordOutcome[] {
  const succeeded = new Set((successful ?? []).map((entry) => entry.Id));
  const failures = new Map((failed ?? []).map((entry) => [entry.Id, entry]));
  return ids.map((id) => {
    const failure = failures.get(id);
    // A failure wins over a success listed for the same Id (which SNS and SQS never send): retrying it is safe,
    // ignoring it could lose the message.
    if (failure !== undefined) {
      return batchEntryOutcome(service, failure, transientCodes);
    }
    return succeeded.has(id) ? Outcome.ok() : missingEntryOutcome(service, id);
  });
}

/** Thrown when a batch adapter is handed more entries than one call takes: the caller's chunking is wrong. */
export class BatchTooLargeError extends Error {
  public constructor(service: string, count: number, max: number) {
    super(`${service} takes at most ${max} entries per call, got ${count}`);
    this.name = 'BatchTooLargeError';
  }
}
