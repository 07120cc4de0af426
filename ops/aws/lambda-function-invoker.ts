import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { FunctionInvokerPort, InvokeResult } from './ports.js';

/**
 * Adapter: a synchronous invocation through Lambda Invoke (InvocationType RequestResponse), the payload serialised as
 * JSON. A function that throws is an answer (statusCode 200, functionError set), not a rejection; Lambda refusing the
 * call (throttled, no permission, payload too large) rejects.
 */
export class LambdaFunctionInvoker implements FunctionInvokerPort {
  readonly #client: LambdaClient;

  public constructor(client: LambdaClient) {
    this.#client = client;
  }

  public async invoke(functionName: string, payload: unknown): Promise<InvokeResult> {
    const answer = await this.#client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    return {
      statusCode: answer.StatusCode ?? 0,
      ...(answer.FunctionError === undefined ? {} : { functionError: answer.FunctionError }),
      payload: answer.Payload === undefined ? '' : new TextDecoder().decode(answer.Payload),
    };
  }
}
