import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createOrdersApiFromTables } from '../lambdas/orders-api/compose.js';
import { ENV } from '../lambdas/shared/env.js';
import { apiRoutesFromTemplate, startLocalApiServer } from './api-server.js';
import { localClientConfig, startDynamoDbLocal } from './dynamodb-local/server.js';
import { createTables, tableDefinitionsFromTemplate } from './dynamodb-local/tables.js';
import { parseStartArgs, START_USAGE, type StartOptions } from './start-options.js';
import { synthesizeApp } from './synth.js';
import { apiFunctionAddress, resolveFunctionEnvironment } from './template-env.js';

async function main(): Promise<void> {
  let options: StartOptions | 'help';
  try {
    options = parseStartArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${START_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${START_USAGE}\n`);
    return;
  }

  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log('Synthesizing the app (the sandbox reads what deploys from the template)...');
  const app = synthesizeApp();
  log('Starting DynamoDB Local...');
  const ddb = await startDynamoDbLocal();
  const stopAll: Array<() => Promise<void>> = [() => ddb.stop()];
  let stopping = false;
  const shutdown = async (signal: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: stopping...`);
    for (const stop of stopAll.reverse()) {
      await stop().catch((error: unknown) => log(`  ${(error as Error).message}`));
    }
    log('Stopped.');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    const client = new DynamoDBClient(localClientConfig(ddb.endpoint));
    const statefulStack = app.stack(app.stacks[0]!.stackName);
    const definitions = app.stacks.flatMap((s) => tableDefinitionsFromTemplate(s.template));
    const tableNames = await createTables(client, definitions, { prefix: 'sandbox' });
    log(
      `Created ${definitions.length} tables from ${statefulStack.stackName}: ${Object.values(tableNames).join(', ')}`,
    );

    // Wire the API handler from its environment in the template, so local wiring is what deploys.
    const byLogicalId = new Map(definitions.map((d) => [d.logicalId, tableNames[d.constructId]!]));
    const apiFunction = apiFunctionAddress(app);
    const env = resolveFunctionEnvironment(app, apiFunction, ({ logicalId }) => byLogicalId.get(logicalId));
    const documentClient = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const handler = createOrdersApiFromTables({
      documentClient,
      tables: {
        orders: requireVariable(env, ENV.ORDERS_TABLE_NAME),
        votes: requireVariable(env, ENV.VOTES_TABLE_NAME),
        pollResults: requireVariable(env, ENV.POLL_RESULTS_TABLE_NAME),
        idempotency: requireVariable(env, ENV.IDEMPOTENCY_TABLE_NAME),
      },
    });
    const routes = apiRoutesFromTemplate(app.stack(apiFunction.stackName).template);
    const api = await startLocalApiServer({ routes, handler, port: options.port });
    stopAll.push(() => api.close());

    const orderBody = JSON.stringify({
      customerId: 'c-1',
      customerEmail: 'ada@example.com',
      currency: 'EUR',
      lines: [{ sku: 'SKU-1', qty: 2, unitPriceCents: 1250 }],
    });
    process.stdout.write(
      [
        '',
        `Orders API: ${api.url}   (DynamoDB Local: ${ddb.endpoint})`,
        '',
        'Try:',
        `  curl -s -X POST ${api.url}/orders -H 'content-type: application/json' -H 'Idempotency-Key: demo-1' \\`,
        `       -d '${orderBody}'`,
        `  curl -s ${api.url}/orders/<orderId>`,
        `  curl -s -X PATCH ${api.url}/orders/<orderId> -H 'content-type: application/json' -H 'If-Match: 1' -d '{"status":"PAID"}'`,
        `  curl -s -X PUT ${api.url}/polls/best-pizza/votes/voter-1 -H 'content-type: application/json' -d '{"option":"margherita"}'`,
        `  curl -s ${api.url}/polls/best-pizza/results`,
        '',
        'Routes:',
        ...routes.map((r) => `  ${r.methods.join(',').padEnd(18)} ${r.resourcePath}`),
        '',
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (error) {
    log(`Failed to start: ${(error as Error).stack ?? String(error)}`);
    await shutdown('error', 1);
  }
}

function requireVariable(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (value === undefined) {
    throw new Error(`The orders-api function in the template has no ${name} variable`);
  }
  return value;
}

await main();
