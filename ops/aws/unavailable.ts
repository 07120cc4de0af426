import type { AlarmsPort, EventSourceMappingPort, MetricsPort, StackOutputsPort } from './ports.js';

/**
 * Thrown when a command needs an AWS SDK client that is not installed: the message names the package to add. The
 * ports of those clients are ready (ports.ts); each missing client is one adapter to write once it is installed.
 */
export class AwsClientUnavailableError extends Error {
  public constructor(packageName: string, purpose: string) {
    super(`${packageName} is not installed, so the ops command cannot ${purpose}: add it to package.json`);
    this.name = 'AwsClientUnavailableError';
  }
}

function unavailable(packageName: string, purpose: string): () => Promise<never> {
  return () => Promise.reject(new AwsClientUnavailableError(packageName, purpose));
}

/** Stand-ins for the ports whose SDK client is missing from node_modules; every call rejects, naming the package. */
export const UNAVAILABLE_STACK_OUTPUTS: StackOutputsPort = {
  outputsOf: unavailable('@aws-sdk/client-cloudformation', 'read the stage stacks (DescribeStacks)'),
};
export const UNAVAILABLE_MAPPINGS: EventSourceMappingPort = {
  mapping: unavailable('@aws-sdk/client-lambda', 'read the event source mappings (GetEventSourceMapping)'),
};
export const UNAVAILABLE_METRICS: MetricsPort = {
  maximum: unavailable('@aws-sdk/client-cloudwatch', 'read metrics (GetMetricData)'),
};
export const UNAVAILABLE_ALARMS: AlarmsPort = {
  alarmsWithPrefix: unavailable('@aws-sdk/client-cloudwatch', 'read alarms (DescribeAlarms)'),
};
