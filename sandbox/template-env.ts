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
 * A local stand-in's endpoint for an attribute that is a service endpoint in AWS (an OpenSearch domain's
 * `DomainEndpoint`, a bare host there). The stand-in speaks its own scheme (plain HTTP on 127.0.0.1), so where the
 * template writes `Fn::Join ['', ['https://', <endpoint>]]` the whole URL becomes the stand-in's `url`: the scheme
 * literal right before it is dropped. Anywhere else the endpoint stands for its host and port, as the attribute does.
 */
export interface LocalEndpoint {
  readonly kind: 'endpoint';
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
}

/** The local value of a Ref or an attribute: text, or a stand-in's endpoint. */
export type LocalValue = string | LocalEndpoint;

/** A local endpoint for `url`. */
export function localEndpoint(url: string): LocalEndpoint {
  return { kind: 'endpoint', url: url.replace(/\/+$/, '') };
}

/**
 * Maps an `Fn::GetAtt` of a resource of the app (`[logicalId, attribute]`) to its local value; `undefined` when the
 * sandbox has no local counterpart for that attribute.
 */
export type LocalAttributeResolver = (address: ResourceAddress, attribute: string) => LocalValue | undefined;

/**
 * Resolves a Lambda function's environment variables from the synthesized template to local values, so that the
 * sandbox wires each handler exactly as CDK does: a variable CDK forgets to set is missing locally too.
 * Plain strings pass through; `Ref`s, `Fn::GetAtt`s and cross-stack references (`Fn::ImportValue`,
 * `Fn::GetStackOutput`) resolve through the producing stack's outputs to the referenced resource and then through
 * `resolveRef` / `resolveAttribute`; `Fn::Join` joins its resolved parts (see LocalEndpoint for endpoints in it).
 */
export function resolveFunctionEnvironment(
  app: SynthesizedApp,
  fn: ResourceAddress,
  resolveRef: LocalRefResolver,
  resolveAttribute: LocalAttributeResolver = () => undefined,
): Record<string, string> {
  const resource = app.stack(fn.stackName).template.Resources[fn.logicalId];
  if (resource?.Type !== 'AWS::Lambda::Function') {
    throw new TemplateWiringError(`${fn.stackName}/${fn.logicalId} is not an AWS::Lambda::Function`);
  }
  const environment = resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined;
  const resolved: Record<string, string> = {};
  const resolvers = { ref: resolveRef, attribute: resolveAttribute };
  for (const [name, value] of Object.entries(environment?.Variables ?? {})) {
    resolved[name] = localText(resolveValue(app, fn.stackName, value, resolvers, name));
  }
  return resolved;
}

/**
 * Resolves a stack's outputs from the synthesized template to local values the way a function's environment is
 * (resolveFunctionEnvironment), so that what the sandbox publishes as a stage's outputs is what deploys. An output
 * with no local counterpart is left out: `unresolved` is told why, and the caller decides (the API URL, say, is the
 * local server's).
 */
export function resolveStackOutputs(
  app: SynthesizedApp,
  stackName: string,
  resolveRef: LocalRefResolver,
  resolveAttribute: LocalAttributeResolver,
  unresolved: (outputKey: string, problem: string) => void = () => {},
): Map<string, string> {
  const outputs = new Map<string, string>();
  const resolvers = { ref: resolveRef, attribute: resolveAttribute };
  for (const [key, output] of Object.entries(app.stack(stackName).template.Outputs ?? {})) {
    try {
      const value = resolveValue(app, stackName, (output as { Value?: unknown }).Value, resolvers, key);
      // An output of an endpoint alone is the whole URL: outputs are read by people and tools, not joined.
      outputs.set(key, typeof value === 'string' ? value : value.url);
    } catch (error) {
      if (!(error instanceof TemplateWiringError)) throw error;
      unresolved(key, error.message);
    }
  }
  return outputs;
}

interface Resolvers {
  readonly ref: LocalRefResolver;
  readonly attribute: LocalAttributeResolver;
}

/** An endpoint standing alone is its host and port, as the AWS attribute is a bare host. */
function localText(value: LocalValue): string {
  return typeof value === 'string' ? value : new URL(value.url).host;
}

function resolveValue(
  app: SynthesizedApp,
  stackName: string,
  value: unknown,
  resolvers: Resolvers,
  variable: string,
): LocalValue {
  if (typeof value === 'string') return value;
  if (isIntrinsic(value, 'Ref')) {
    const address = { stackName, logicalId: String(value.Ref) };
    const local = resolvers.ref(address);
    if (local === undefined) {
      throw new TemplateWiringError(
        `${variable}: no local counterpart for ${stackName}/${address.logicalId}`,
      );
    }
    return local;
  }
  if (isIntrinsic(value, 'Fn::GetAtt')) {
    const spec = value['Fn::GetAtt'];
    const [logicalId, attribute] = Array.isArray(spec)
      ? spec
      : typeof spec === 'string'
        ? [spec.slice(0, spec.indexOf('.')), spec.slice(spec.indexOf('.') + 1)]
        : [];
    if (
      typeof logicalId !== 'string' ||
      typeof attribute !== 'string' ||
      logicalId === '' ||
      attribute === ''
    ) {
      throw new TemplateWiringError(`${variable}: malformed Fn::GetAtt ${JSON.stringify(spec)}`);
    }
    const local = resolvers.attribute({ stackName, logicalId }, attribute);
    if (local === undefined) {
      throw new TemplateWiringError(
        `${variable}: no local counterpart for ${attribute} of ${stackName}/${logicalId}`,
      );
    }
    return local;
  }
  if (isIntrinsic(value, 'Fn::Join')) {
    const spec = value['Fn::Join'];
    if (!Array.isArray(spec) || typeof spec[0] !== 'string' || !Array.isArray(spec[1])) {
      throw new TemplateWiringError(`${variable}: malformed Fn::Join ${JSON.stringify(spec)}`);
    }
    const [delimiter, parts] = spec as [string, unknown[]];
    let text = '';
    parts.forEach((part, position) => {
      if (position > 0) text += delimiter;
      const local = resolveValue(app, stackName, part, resolvers, variable);
      if (typeof local === 'string') {
        text += local;
        return;
      }
      // `https://` + the endpoint: the stand-in's own URL, scheme included (it serves plain HTTP).
      const scheme = /https?:\/\/$/.exec(text);
      text = scheme === null ? text + localText(local) : text.slice(0, -scheme[0].length) + local.url;
    });
    return text;
  }
  const target = followCrossStackReference(app, value, (problem) => {
    throw new TemplateWiringError(`${variable}: ${problem}`);
  });
  if (target !== undefined) {
    return resolveValue(app, target.stackName, target.value, resolvers, variable);
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
