import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import type { AlarmSummary, AlarmsPort, MetricQuery, MetricsPort } from './ports.js';

/** Adapter: metric maxima through CloudWatch GetMetricData, every page of the answer read. Reads only. */
export class CloudWatchMetrics implements MetricsPort {
  readonly #client: CloudWatchClient;

  public constructor(client: CloudWatchClient) {
    this.#client = client;
  }

  public async maximum(query: MetricQuery): Promise<number | null> {
    const values: number[] = [];
    let nextToken: string | undefined;
    do {
      const answer = await this.#client.send(
        new GetMetricDataCommand({
          StartTime: query.start,
          EndTime: query.end,
          NextToken: nextToken,
          MetricDataQueries: [
            {
              Id: 'm',
              ReturnData: true,
              MetricStat: {
                Metric: {
                  Namespace: query.namespace,
                  MetricName: query.metricName,
                  Dimensions: [...query.dimensions].map(([Name, Value]) => ({ Name, Value })),
                },
                Period: query.periodSeconds,
                Stat: query.statistic,
              },
            },
          ],
        }),
      );
      for (const result of answer.MetricDataResults ?? ([] as MetricDataResult[])) {
        values.push(...(result.Values ?? []));
      }
      nextToken = answer.NextToken;
    } while (nextToken !== undefined);
    return values.length === 0 ? null : Math.max(...values);
  }
}

/** Adapter: the metric alarms under a name prefix through CloudWatch DescribeAlarms, every page read. Reads only. */
export class CloudWatchAlarms implements AlarmsPort {
  readonly #client: CloudWatchClient;

  public constructor(client: CloudWatchClient) {
    this.#client = client;
  }

  public async alarmsWithPrefix(prefix: string): Promise<readonly AlarmSummary[]> {
    const alarms: AlarmSummary[] = [];
    let nextToken: string | undefined;
    do {
      const answer = await this.#client.send(
        new DescribeAlarmsCommand({
          AlarmNamePrefix: prefix,
          AlarmTypes: ['MetricAlarm'],
          NextToken: nextToken,
        }),
      );
      for (const alarm of answer.MetricAlarms ?? []) {
        alarms.push({ name: alarm.AlarmName ?? '', state: alarm.StateValue ?? 'INSUFFICIENT_DATA' });
      }
      nextToken = answer.NextToken;
    } while (nextToken !== undefined);
    return alarms;
  }
}
