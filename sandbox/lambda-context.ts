import type { Context } from 'aws-lambda';

export interface LocalLambdaContextOptions {
  readonly functionName: string;
  /** @default an ARN in the local account named after the function */
  readonly functionArn?: string;
  readonly requestId: string;
  /** When the invocation times out, in the clock's milliseconds. */
  readonly deadlineMs: number;
  /** @default Date.now */
  readonly clock?: () => number;
  readonly memoryLimitInMB: string;
  readonly logStreamName: string;
  readonly callbackWaitsForEmptyEventLoop: boolean;
}

/**
 * The Lambda context the sandbox hands to the real handlers (the API server and the local event source mappings).
 * Handler code reads the request id and the remaining time; the other fields are there so the object is a full
 * Context, as Powertools' logger reads some of them.
 */
export function localLambdaContext(options: LocalLambdaContextOptions): Context {
  const { functionName, deadlineMs } = options;
  const clock = options.clock ?? Date.now;
  return {
    callbackWaitsForEmptyEventLoop: options.callbackWaitsForEmptyEventLoop,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: options.functionArn ?? `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: options.memoryLimitInMB,
    awsRequestId: options.requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: options.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - clock()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
