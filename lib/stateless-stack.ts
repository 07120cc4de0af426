import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config.js';
import type { DataTables } from './constructs/data-tables.js';

export interface StatelessStackProps extends StackProps {
  /** The validated stage configuration. */
  readonly config: StageConfig;
  /** The tables of the stateful stack. */
  readonly tables: DataTables;
}

/** Functions, event source mappings, the API, alarms and the dashboard: everything that can be redeployed freely. */
export class StatelessStack extends Stack {
  public constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    void props;
  }
}
