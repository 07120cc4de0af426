import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { logRetention, type StageConfig } from '../config.js';
import { RUNBOOK_DEFAULT_BASE_URL } from './runbook.js';
import type { StreamConsumerCommonProps } from './stream-consumer.js';

/**
 * What every pipeline of this app gets from its stack, as one object: the stage configuration, and the ops topic and
 * dashboard its consumer's alarms and graphs go to.
 */
export interface PipelineProps {
  /** The validated stage configuration: the consumer's log retention and memory, and the pipeline's own keys. */
  readonly config: StageConfig;
  /** The topic every alarm of the pipeline notifies, on alarm and on recovery. */
  readonly alarmTopic: ITopic;
  /** The dashboard the pipeline's consumer adds its row to. */
  readonly dashboard: Dashboard;
}

/**
 * The StreamConsumer props every consumer of this app shares, from its pipeline's props: the stage's log retention
 * and function memory, the ops topic and the dashboard, and the base of the alarms' runbook links. The one place the stage configuration meets StreamConsumer,
 * which knows nothing of it.
 */
export function pipelineConsumerProps(props: PipelineProps): Required<StreamConsumerCommonProps> {
  return {
    alarmTopic: props.alarmTopic,
    dashboard: props.dashboard,
    logRetention: logRetention(props.config),
    memorySize: props.config.functionMemoryMb,
    runbookBaseUrl: runbookBaseUrl(props.config),
  };
}

/** The base of the alarms' runbook links: the stage's `runbookBaseUrl`, else the repository path docs/runbook.md. */
export function runbookBaseUrl(config: Pick<StageConfig, 'runbookBaseUrl'>): string {
  return config.runbookBaseUrl ?? RUNBOOK_DEFAULT_BASE_URL;
}
