import { LOCAL_ACCOUNT_ID } from './adapters/local-sqs.js';
import type { EsmConfig } from './esm/types.js';
import type { SynthesizedApp } from './synth.js';
import {
  type LocalAttributeResolver,
  type LocalRefResolver,
  type ResourceAddress,
  resolveStackOutputs,
} from './template-env.js';
import { addressKey } from './template-names.js';

/**
 * The outputs a running sandbox publishes as its stage's (what `npm run ops -- --local` resolves names from): the
 * template's own outputs, resolved to local values through the same resolvers as the functions' environments, plus
 * what only outputs reference: a consumer's function and mapping (both its local name: the sandbox invokes and reads
 * them by the consumer's name), a table's stream ARN (DynamoDB Local's), a queue's name, a managed policy's ARN.
 * The API's URL is built from the API's id and the Region in the template, which the sandbox has no value for: it is
 * the local server's URL.
 */

export interface LocalOutputParts {
  readonly resolveRef: LocalRefResolver;
  readonly resolveAttribute: LocalAttributeResolver;
  /** The mappings the sandbox runs: their functions and themselves are named after the consumer. */
  readonly configs: readonly EsmConfig[];
  /** A table's address to its stream's ARN in DynamoDB Local (tables with a stream only). */
  readonly streamArns: ReadonlyMap<string, string>;
  /** A queue's address to its local name. */
  readonly queueNames: ReadonlyMap<string, string>;
  readonly apiUrl: string;
  /** Output keys left unresolved, with why (progress lines). */
  unresolved?(stackName: string, outputKey: string, problem: string): void;
}

/** The output key of the API's URL (lib/stage-outputs.ts STAGE_OUTPUTS.stateless.apiUrl). */
const API_URL_OUTPUT_KEY = 'OpsApiUrl';

/** Stack name to its outputs, resolved to the sandbox's local values. */
export function localStageOutputs(
  app: SynthesizedApp,
  parts: LocalOutputParts,
): Map<string, Map<string, string>> {
  const byAddress = new Map<string, string>();
  for (const config of parts.configs) {
    byAddress.set(
      addressKey({ stackName: config.functionStackName, logicalId: config.functionLogicalId }),
      config.consumerName,
    );
    byAddress.set(
      addressKey({ stackName: config.stackName, logicalId: config.logicalId }),
      config.consumerName,
    );
  }
  for (const { stackName, logicalId } of app.resourcesOfType('AWS::IAM::ManagedPolicy')) {
    byAddress.set(
      addressKey({ stackName, logicalId }),
      `arn:aws:iam::${LOCAL_ACCOUNT_ID}:policy/${stackName}-${logicalId}`,
    );
  }
  const resolveRef = (address: ResourceAddress): string | undefined =>
    parts.resolveRef(address) ?? byAddress.get(addressKey(address));
  const resolveAttribute: LocalAttributeResolver = (address, attribute) => {
    const resolved = parts.resolveAttribute(address, attribute);
    if (resolved !== undefined) return resolved;
    if (attribute === 'StreamArn') return parts.streamArns.get(addressKey(address));
    if (attribute === 'QueueName') return parts.queueNames.get(addressKey(address));
    return undefined;
  };
  const outputs = new Map<string, Map<string, string>>();
  for (const { stackName } of app.stacks) {
    const resolved = resolveStackOutputs(app, stackName, resolveRef, resolveAttribute, (key, problem) => {
      if (key !== API_URL_OUTPUT_KEY) parts.unresolved?.(stackName, key, problem);
    });
    if (app.stack(stackName).template.Outputs?.[API_URL_OUTPUT_KEY] !== undefined) {
      resolved.set(API_URL_OUTPUT_KEY, parts.apiUrl);
    }
    outputs.set(stackName, resolved);
  }
  return outputs;
}
