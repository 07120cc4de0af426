import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config.js';
import { DataTables } from './constructs/data-tables.js';

export interface StatefulStackProps extends StackProps {
  /** The validated stage configuration. */
  readonly config: StageConfig;
}

/**
 * Everything that holds data: tables and their key (later the search domain and the audit bucket). All retained on
 * stack deletion and protected against deletion, so that the stateless stack can be destroyed and redeployed freely.
 */
export class StatefulStack extends Stack {
  public readonly tables: DataTables;

  public constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    this.tables = new DataTables(this, 'Tables');
  }
}
