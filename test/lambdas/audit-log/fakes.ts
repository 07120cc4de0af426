import type { AuditStore, PutIfAbsentResult } from '../../../lambdas/audit-log/ports.js';
import type { StreamContext, StreamLogger } from '../../../lambdas/shared/stream/stream-handler.js';
import { lambdaContext } from '../../support/stream-records.js';

/** An AuditStore in memory with S3's conditional-create semantics; `failNext` makes the next put throw. */
export class InMemoryAuditStore implements AuditStore {
  public readonly objects = new Map<string, Buffer>();
  public readonly puts: { key: string; result: PutIfAbsentResult | 'threw' }[] = [];
  public failNext: unknown;

  public async putIfAbsent(key: string, body: Buffer): Promise<PutIfAbsentResult> {
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      this.puts.push({ key, result: 'threw' });
      throw error;
    }
    const result = this.objects.has(key) ? 'exists' : 'created';
    if (result === 'created') this.objects.set(key, body);
    this.puts.push({ key, result });
    return result;
  }
}

/** A logger that keeps its warnings and drops everything else. */
export function silentLogger(): StreamLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn(message: string) {
      warnings.push(message);
    },
    error() {},
    addContext() {},
  };
}

export function streamContext(logger: StreamLogger = silentLogger()): StreamContext {
  return { consumerName: 'audit-log', lambdaContext: lambdaContext(), logger };
}
