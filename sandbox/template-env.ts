import type { CfnResource, SynthesizedApp } from './synth.js';

/** Thrown when a function's wiring in the template cannot be mapped to local resources. */
export class TemplateWiringError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'TemplateWiringError';
  }
}

/** A resource addressed across the app: the stack it lives in and its logical id there. */
export interface ResourceAddress {
  readonly stackName: string;
  readonly logicalId: string;
}

/**
 * Maps a `Ref` to a resource of the app (a table, a queue, ...) to the local value that stands for it (a local table
 * name, a local queue URL); `undefined` when the sandbox has no local counterpart.
 */
export type LocalRefResolver = (address: ResourceAddress) => string | undefined;

/**
 * Resolves a Lambda function's environment variables from the synthesized template to local values, so that the
 * sandbox wires each handler exactly as CDK does: a variable CDK forgets to set is missing locally too.
 * Plain strings pass through; `Ref`s and cross-stack references (`Fn::ImportValue`, `Fn::GetStackOutput`) resolve
 * through the producing stack's outputs to the referenced resource and then through `resolveRef`.
 */
export function resolveFunctionEnvironment(
  app: SynthesizedApp,
  fn: ResourceAddress,
  resolveRef: LocalRefResolver,
): Record<string, string> {
  const resource = app.stack(fn.stackName).template.Resources[fn.logicalId];
  if (resource?.Type !== 'AWS::Lambda::Function') {
    throw new TemplateWiringError(`${fn.stackName}/${fn.logicalId} is not an AWS::Lambda::Function`);
  }
  const environment = resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined;
  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment?.Variables ?? {})) {
    resolved[name] = resolveValue(app, fn.stackName, value, resolveRef, name);
  }
  return resolved;
}

function resolveValue(
  app: SynthesizedApp,
  stackName: string,
  value: unknown,
  resolveRef: LocalRefResolver,
  variable: string,
): string {
  if (typeof value === 'string') return value;
  if (isIntrinsic(value, 'Ref')) {
    const address = { stackName, logicalId: String(value.Ref) };
    const local = resolveRef(address);
    if (local === undefined) {
      throw new TemplateWiringError(
        `${variable}: no local counterpart for ${stackName}/${address.logicalId}`,
      );
    }
    return local;
  }
  const target = followCrossStackReference(app, value, (problem) => {
    throw new TemplateWiringError(`${variable}: ${problem}`);
  });
  if (target !== undefined) {
    return resolveValue(app, target.stackName, target.value, resolveRef, variable);
  }
  throw new TemplateWiringError(`${variable}: unsupported value ${JSON.stringify(value)}`);
}

/**
 * Where a cross-stack reference points: `Fn::ImportValue` through the stack that exports the name, the weak
 * `Fn::GetStackOutput` (the `defaultCrossStackReferences: weak` feature flag) through the named stack's output.
 * Returns the producing stack and the output's value, `undefined` when `value` is no cross-stack reference, and calls
 * `fail` with the problem when it cannot be followed.
 */
export function followCrossStackReference(
  app: SynthesizedApp,
  value: unknown,
  fail: (problem: string) => never,
): { stackName: string; value: unknown } | undefined {
  if (isIntrinsic(value, 'Fn::ImportValue')) {
    const exportName = value['Fn::ImportValue'];
    if (typeof exportName !== 'string') {
      return fail(`Fn::ImportValue of a computed name ${JSON.stringify(exportName)} is not resolved locally`);
    }
    for (const { stackName, template } of app.stacks) {
      for (const output of Object.values(template.Outputs ?? {})) {
        const { Export, Value } = output as { Export?: { Name?: unknown }; Value?: unknown };
        if (Export?.Name === exportName) return { stackName, value: Value };
      }
    }
    return fail(`no stack exports ${exportName}`);
  }
  if (isIntrinsic(value, 'Fn::GetStackOutput')) {
    const { StackName, OutputName } = (value['Fn::GetStackOutput'] ?? {}) as {
      StackName?: unknown;
      OutputName?: unknown;
    };
    if (typeof StackName !== 'string' || typeof OutputName !== 'string') {
      return fail(`malformed Fn::GetStackOutput ${JSON.stringify(value['Fn::GetStackOutput'])}`);
    }
    const stack =
      app.stacks.find((s) => s.stackName === StackName) ?? fail(`no stack ${StackName} in the app`);
    const output =
      (stack.template.Outputs?.[OutputName] as { Value?: unknown } | undefined) ??
      fail(`stack ${StackName} has no output ${OutputName}`);
    return { stackName: StackName, value: output.Value };
  }
  return undefined;
}

/** True when `value` is the one-key object form of the intrinsic `key` (`{ "Ref": ... }`). */
export function isIntrinsic<K extends string>(value: unknown, key: K): value is Record<K, unknown> {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 1 && key in value;
}

/**
 * The Lambda function behind the REST API: the one the API's methods integrate with. Exactly one is expected; the
 * sandbox serves it on localhost.
 */
export function apiFunctionAddress(app: SynthesizedApp): ResourceAddress {
  const found = new Map<string, ResourceAddress>();
  for (const { stackName, resource } of app.resourcesOfType('AWS::ApiGateway::Method')) {
    const integration = resource.Properties?.Integration as { Uri?: unknown } | undefined;
    for (const logicalId of functionRefsIn(integration?.Uri)) {
      found.set(`${stackName}/${logicalId}`, { stackName, logicalId });
    }
  }
  if (found.size !== 1) {
    throw new TemplateWiringError(
      `Expected the REST API to integrate with exactly one function, found ${found.size}: ${[...found.keys()].join(', ')}`,
    );
  }
  return [...found.values()][0]!;
}

/** Logical ids named by `Fn::GetAtt [id, 'Arn']` anywhere inside an intrinsic expression. */
function functionRefsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(functionRefsIn);
  if (typeof value !== 'object' || value === null) return [];
  const getAtt = (value as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') return [String(getAtt[0])];
  return Object.values(value).flatMap(functionRefsIn);
}

/** The resource at an address; throws when it does not exist. */
export function resourceAt(app: SynthesizedApp, address: ResourceAddress): CfnResource {
  const resource = app.stack(address.stackName).template.Resources[address.logicalId];
  if (resource === undefined) {
    throw new TemplateWiringError(`No resource ${address.logicalId} in ${address.stackName}`);
  }
  return resource;
}
