import type { ConsumerFactory, LocalAdapters } from './consumer-factory.js';
import type { StreamFunction } from './esm/types.js';
import { withInvocationDeadline } from './invocation-deadline.js';

/** Wraps a consumer's function, e.g. to inject faults (chaos) or to watch invocations (bench). */
export type ConsumerFunctionWrapper = (consumerName: string, fn: StreamFunction) => StreamFunction;

/**
 * The one place a consumer's function is composed for the runner: built by its factory with its function's
 * environment from the template and the local adapters, run in a scope that carries each invocation's deadline (so
 * the local clients refuse calls past it, see invocation-deadline.ts), and wrapped last by `wrap` when given, so a
 * wrapper sees what the runner sees. What is measured of it (settled records, lag) the runner reports from outside
 * (EsmRunnerOptions.onSettled), so nothing else wraps it.
 */
export function composeConsumerFunction(options: {
  readonly consumerName: string;
  readonly factory: ConsumerFactory;
  readonly env: Readonly<Record<string, string>>;
  readonly adapters: LocalAdapters;
  readonly wrap?: ConsumerFunctionWrapper;
}): StreamFunction {
  const { consumerName, adapters } = options;
  const built = withInvocationDeadline(
    consumerName,
    options.factory(Object.freeze({ ...options.env }), adapters),
    adapters.clock,
  );
  return options.wrap?.(consumerName, built) ?? built;
}
