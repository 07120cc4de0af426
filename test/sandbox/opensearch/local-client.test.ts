import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvocationDeadlinePassedError,
  withInvocationDeadline,
} from '../../../sandbox/invocation-deadline.js';
import { createLocalOpenSearchClient } from '../../../sandbox/opensearch/local-client.js';
import { type LocalOpenSearch, startLocalOpenSearch } from '../../../sandbox/opensearch/local-opensearch.js';

const servers: LocalOpenSearch[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

/** Runs `work` as an invocation with `remainingMs` left, the way the sandbox runs a consumer. */
async function invoke(remainingMs: number, work: () => Promise<unknown>): Promise<unknown> {
  let outcome: unknown;
  const fn = withInvocationDeadline('search-sync', async () => {
    outcome = await work().catch((error: unknown) => error);
    return undefined;
  });
  await fn(
    { Records: [] } as DynamoDBStreamEvent,
    { getRemainingTimeInMillis: () => remainingMs } as Context,
  );
  return outcome;
}

describe('createLocalOpenSearchClient', () => {
  it('sends requests of a live invocation, and refuses those of one past its deadline before sending', async () => {
    // Prepare
    const server = await startLocalOpenSearch();
    servers.push(server);
    const client = createLocalOpenSearchClient(server.url, { maxRetries: 1 });

    // Act
    const alive = await invoke(10_000, () => client.transport.request({ method: 'GET', path: '/' }));
    const late = await invoke(0, () => client.transport.request({ method: 'GET', path: '/' }));
    await client.close();

    // Assess
    expect(alive).toMatchObject({ statusCode: 200 });
    expect(late).toBeInstanceOf(InvocationDeadlinePassedError);
    expect(server.stats().requests).toBe(1);
  });
});
