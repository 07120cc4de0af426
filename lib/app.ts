import type { App } from 'aws-cdk-lib';
import { loadStageConfig, type StageConfig } from './config.js';
import { stackNames } from './stage-outputs.js';
import { StatefulStack } from './stateful-stack.js';
import { StatelessStack } from './stateless-stack.js';

export interface OrdersStreamApp {
  readonly config: StageConfig;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

// Re-exported: the stacks' names are part of the contract with the ops command (stage-outputs.ts).
export { stackNames } from './stage-outputs.js';

/**
 * Composes the application's stacks into an app. Shared by `bin/app.ts`, the tests and the local sandbox, so that
 * all three see the same template. The stacks are environment-agnostic: synth needs no credentials.
 */
export function buildApp(app: App): OrdersStreamApp {
  const config = loadStageConfig(app.node);
  const names = stackNames(config.stageName);
  const stateful = new StatefulStack(app, names.stateful, {
    config,
    description: `Order pipelines (${config.stageName}): tables and other stateful resources`,
  });
  const stateless = new StatelessStack(app, names.stateless, {
    config,
    tables: stateful.tables,
    messaging: stateful.messaging,
    search: stateful.search,
    audit: stateful.audit,
    deadLetterQueues: stateful.deadLetterQueues,
    description: `Order pipelines (${config.stageName}): API, stream consumers, alarms`,
  });
  stateless.addStackDependency(stateful);
  return { config, stateful, stateless };
}
