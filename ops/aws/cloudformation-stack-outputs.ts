import { type CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import type { StackOutputsPort } from './ports.js';

/** CloudFormation's answer for a stack name that does not exist: a ValidationError saying so. */
function isMissingStack(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message);
}

/** Adapter: a stack's outputs through CloudFormation DescribeStacks. Reads only. */
export class CloudFormationStackOutputs implements StackOutputsPort {
  readonly #client: CloudFormationClient;

  public constructor(client: CloudFormationClient) {
    this.#client = client;
  }

  public async outputsOf(stackName: string): Promise<ReadonlyMap<string, string> | undefined> {
    let stacks: Stack[] | undefined;
    try {
      ({ Stacks: stacks } = await this.#client.send(new DescribeStacksCommand({ StackName: stackName })));
    } catch (error) {
      if (isMissingStack(error)) return undefined;
      throw error;
    }
    const stack = stacks?.[0];
    if (stack === undefined) return undefined;
    const outputs = new Map<string, string>();
    for (const output of stack.Outputs ?? []) {
      if (output.OutputKey !== undefined && output.OutputValue !== undefined) {
        outputs.set(output.OutputKey, output.OutputValue);
      }
    }
    return outputs;
  }
}
