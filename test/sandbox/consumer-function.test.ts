import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ConsumerFactory, LocalAdapters } from '../../sandbox/consumer-factory.js';
import { composeConsumerFunction } from '../../sandbox/consumer-function.js';
import type { StreamFunction } from '../../sandbox/esm/types.js';
import { currentInvocation } from '../../sandbox/invocation-deadline.js';

const EVENT: DynamoDBStreamEvent = { Records: [] };
const CONTEXT = { getRemainingTimeInMillis: () => 500 } as Context;
/** composeConsumerFunction reads only the clock of the adapters itself; the factory gets them as they are. */
const ADAPTERS = { clock: () => 1_000 } as LocalAdapters;

describe('composeConsumerFunction', () => {
  it("builds the consumer with a frozen copy of its environment and runs it in its invocation's deadline scope", async () => {
    // Prepare
    const env = { CONSUMER_NAME: 'probe' };
    let given: { env: Readonly<Record<string, string>>; adapters: LocalAdapters } | undefined;
    let scope: ReturnType<typeof currentInvocation>;
    const factory: ConsumerFactory = (factoryEnv, adapters) => {
      given = { env: factoryEnv, adapters };
      return async () => {
        scope = currentInvocation();
        return { batchItemFailures: [] };
      };
    };

    // Act
    const fn = composeConsumerFunction({ consumerName: 'probe', factory, env, adapters: ADAPTERS });
    const response = await fn(EVENT, CONTEXT);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(given?.env).toEqual(env);
    expect(given?.env).not.toBe(env);
    expect(Object.isFrozen(given?.env)).toBe(true);
    expect(given?.adapters).toBe(ADAPTERS);
    expect(scope).toMatchObject({ consumerName: 'probe', deadlineMs: 1_500 });
  });

  it('hands the deadline-scoped function to the wrapper, outermost, and runs what the wrapper returns', async () => {
    // Prepare
    const calls: string[] = [];
    const factory: ConsumerFactory = () => async () => {
      calls.push(`consumer in scope: ${currentInvocation() !== undefined}`);
      return undefined;
    };
    const wrap = (consumerName: string, inner: StreamFunction): StreamFunction => {
      return async (event, context) => {
        calls.push(`wrapper of ${consumerName} in scope: ${currentInvocation() !== undefined}`);
        return inner(event, context);
      };
    };

    // Act
    const fn = composeConsumerFunction({ consumerName: 'probe', factory, env: {}, adapters: ADAPTERS, wrap });
    await fn(EVENT, CONTEXT);

    // Assess
    expect(calls).toEqual(['wrapper of probe in scope: false', 'consumer in scope: true']);
  });
});
