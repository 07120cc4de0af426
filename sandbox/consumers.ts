import { AUDIT_LOG_CONSUMER_NAME } from '../lambdas/audit-log/names.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../lambdas/order-fanout/names.js';
import { SEARCH_SYNC_CONSUMER_NAME } from '../lambdas/search-sync/names.js';
import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../lambdas/vote-aggregator/names.js';
import { auditLogConsumerFactory } from './audit-log-consumer.js';
import type { ConsumerFactory } from './consumer-factory.js';
import type { EsmConfig } from './esm/types.js';
import { orderFanoutConsumerFactory } from './fanout-consumer.js';
import { searchSyncConsumerFactory } from './search-sync-consumer.js';
import { voteAggregatorConsumerFactory } from './vote-aggregator-consumer.js';

/**
 * The product's consumers, keyed by consumer name (the CONSUMER_NAME of the StreamConsumer construct). Each pipeline
 * adds its factory here together with its construct; a mapping in the template without a factory stops the sandbox
 * at start, naming the consumer.
 */
export const CONSUMER_FACTORIES: Readonly<Record<string, ConsumerFactory>> = Object.freeze({
  [ORDER_FANOUT_CONSUMER_NAME]: orderFanoutConsumerFactory,
  [SEARCH_SYNC_CONSUMER_NAME]: searchSyncConsumerFactory,
  [AUDIT_LOG_CONSUMER_NAME]: auditLogConsumerFactory,
  [VOTE_AGGREGATOR_CONSUMER_NAME]: voteAggregatorConsumerFactory,
});

/** Thrown at start when the template has an event source mapping whose consumer has no local factory. */
export class MissingConsumerFactoryError extends Error {
  public readonly consumerNames: readonly string[];

  public constructor(missing: readonly EsmConfig[], known: readonly string[]) {
    const names = [...new Set(missing.map((config) => config.consumerName))];
    super(
      `No local consumer factory for ${names.map((n) => `"${n}"`).join(', ')} ` +
        `(mapping ${missing.map((c) => `${c.stackName}/${c.logicalId}`).join(', ')}). ` +
        `Add one to CONSUMER_FACTORIES in sandbox/consumers.ts (known: ${known.join(', ') || 'none'}).`,
    );
    this.name = 'MissingConsumerFactoryError';
    this.consumerNames = names;
  }
}

/**
 * The factory of every mapping's consumer, `extra` taking precedence over the registry. Throws
 * MissingConsumerFactoryError naming every consumer without one, before anything starts.
 */
export function factoriesForMappings(
  configs: readonly EsmConfig[],
  extra: Readonly<Record<string, ConsumerFactory>> = {},
  registry: Readonly<Record<string, ConsumerFactory>> = CONSUMER_FACTORIES,
): Map<string, ConsumerFactory> {
  const available: Record<string, ConsumerFactory> = { ...registry, ...extra };
  const found = new Map<string, ConsumerFactory>();
  const missing: EsmConfig[] = [];
  for (const config of configs) {
    const factory = Object.hasOwn(available, config.consumerName)
      ? available[config.consumerName]
      : undefined;
    if (factory === undefined) missing.push(config);
    else found.set(config.consumerName, factory);
  }
  if (missing.length > 0) {
    throw new MissingConsumerFactoryError(missing, Object.keys(available).sort());
  }
  return found;
}
