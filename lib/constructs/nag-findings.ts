import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The id of the AwsSolutions-IAM5 finding that a wildcard resource gets, e.g.
 * `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:es:<AWS::Region>:<AWS::AccountId>:domain/orders-dev/*]`, so that
 * an acknowledgement names exactly that one finding and no other wildcard of the same policy.
 *
 * cdk-nag flattens the resolved resource: `Fn::Join` parts are joined, `Ref`s become `<name>` and `Fn::GetAtt`s
 * `<logicalId.attribute>`. Only resources whose tokens are pseudo parameters or references within `scope`'s stack
 * can be named at construction time (a cross-stack reference is only rendered at synth), so anything else is refused
 * here rather than acknowledged under a name that would never match. The nag test checks that every acknowledgement
 * answers a finding, so a change in cdk-nag's rendering fails there.
 */
export function iamWildcardResourceFinding(scope: IConstruct, resource: string): string {
  if (!resource.includes('*')) {
    throw new Error(`${resource} has no wildcard: there is no AwsSolutions-IAM5 finding to name`);
  }
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource), resource)}]`;
}

function flatten(value: unknown, original: string): string {
  if (typeof value === 'string') {
    if (Token.isUnresolved(value)) {
      throw new Error(`${original}: cannot render the unresolved part ${value}`);
    }
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const join = (value as Record<string, unknown>)['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map((part) => flatten(part, original)).join(join[0]);
    }
    const ref = (value as Record<string, unknown>).Ref;
    if (typeof ref === 'string') {
      return `<${ref}>`;
    }
    const getAtt = (value as Record<string, unknown>)['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt.length === 2) {
      return `<${String(getAtt[0])}.${String(getAtt[1])}>`;
    }
  }
  throw new Error(`${original}: cannot render ${JSON.stringify(value)} as cdk-nag names it`);
}

/**
 * Acknowledges the AwsSolutions-IAM5 finding of a wildcard resource that holds a cross-stack reference (e.g. the
 * objects of a bucket of another stack), which {@link iamWildcardResourceFinding} cannot name at construction time:
 * the reference is rendered only at synth. The acknowledgement is made then, from a validation of `policy` (node
 * validations run after the references are resolved and before the validation plugins), with the finding named the
 * way cdk-nag flattens it (an unknown intrinsic such as `Fn::GetStackOutput` as its JSON).
 */
export function acknowledgeIamWildcardAtSynth(policy: IConstruct, resource: string, reason: string): void {
  if (!resource.includes('*')) {
    throw new Error(`${resource} has no wildcard: there is no AwsSolutions-IAM5 finding to name`);
  }
  const acknowledged = new Set<string>();
  policy.node.addValidation({
    validate: (): string[] => {
      const id = `AwsSolutions-IAM5[Resource::${flattenAsNag(Stack.of(policy).resolve(resource))}]`;
      if (!acknowledged.has(id)) {
        acknowledged.add(id);
        Validations.of(policy).acknowledge({ id, reason });
      }
      return [];
    },
  });
}

/** cdk-nag's flattening of a resolved resource (its flattenCfnReference), for the synth-time acknowledgement. */
function flattenAsNag(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    const join = node['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map(flattenAsNag).join(String(join[0]));
    }
    if (node['Fn::Sub'] !== undefined) return flattenAsNag(node['Fn::Sub']);
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${flattenAsNag(getAtt[0])}.${flattenAsNag(getAtt[1])}>`;
    if (node['Fn::ImportValue'] !== undefined) return flattenAsNag(node['Fn::ImportValue']);
    if (node.Ref !== undefined) return `<${flattenAsNag(node.Ref)}>`;
  }
  return JSON.stringify(value);
}
