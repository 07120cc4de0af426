import type { ServiceFaultHook, ServiceFaultTarget } from '../../../sandbox/adapters/service-faults.js';

/** A fault hook that fails the decisions at the given positions (0-based, calls and entries counted apart). */
export function scriptedFaults(script: {
  readonly calls?: readonly number[];
  readonly entries?: readonly number[];
}): ServiceFaultHook & { readonly seen: { calls: ServiceFaultTarget[]; entries: ServiceFaultTarget[] } } {
  const seen = { calls: [] as ServiceFaultTarget[], entries: [] as ServiceFaultTarget[] };
  return {
    seen,
    failCall: (target) => {
      seen.calls.push(target);
      return (script.calls ?? []).includes(seen.calls.length - 1);
    },
    failEntry: (target) => {
      seen.entries.push(target);
      return (script.entries ?? []).includes(seen.entries.length - 1);
    },
  };
}
