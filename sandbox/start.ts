import { ORDERS_INDEX } from '../lambdas/shared/search/orders-index.js';
import { LOCAL_REGION } from './adapters/local-sqs.js';
import { type OpsEndpointServer, startOpsEndpoint } from './ops-endpoint.js';
import { parseStartArgs, START_USAGE, type StartOptions } from './start-options.js';
import {
  type SearchIndexCounters,
  type StatusView,
  startStatusView,
  type TrafficCounters,
} from './status-view.js';
import { type ConsumerStatus, type SandboxSystem, type ServiceStats, startSandboxSystem } from './system.js';
import { runTraffic, type TrafficSummary } from './traffic.js';

/**
 * `npm start`: the local system (sandbox/system.ts), optional demo traffic and a live status view; with `--json`,
 * headless with one JSON summary as the last line of stdout. Ctrl-C (or `--duration`) stops the traffic, lets the
 * consumers catch up briefly, and stops everything; `.sandbox/` keeps what the adapters wrote.
 */

/** After `--duration`, how long the consumers get to process what the traffic wrote, so the summary is complete. */
const DRAIN_AFTER_DURATION_MS = 15_000;
/** After Ctrl-C the user wants out: a short drain only. */
const DRAIN_AFTER_SIGNAL_MS = 2_000;
const DRAIN_QUIET_MS = 500;

/** The JSON summary of a run (`--json`), printed as the last line of stdout. */
export interface StartSummary {
  readonly durationS: number;
  readonly api: {
    readonly url: string;
    readonly dynamodbEndpoint: string;
    readonly requests: number;
    readonly byStatus: Readonly<Record<string, number>>;
  };
  /** null with --no-demo. */
  readonly traffic: Omit<TrafficSummary, 'log' | 'orders' | 'votes'> | null;
  readonly consumers: Readonly<Record<string, ConsumerStatus>>;
  /** What the consumers asked of the local services (SNS, SES, SQS stand-ins; DynamoDB calls per consumer). */
  readonly services: ServiceStats;
  /** Whether the consumers had caught up with the streams when the run ended. */
  readonly drained: boolean;
  readonly outputDir: string;
  /** What ended the run. */
  readonly stoppedBy: 'duration' | 'SIGINT' | 'SIGTERM';
}

function curlExamples(url: string): string[] {
  const orderBody = JSON.stringify({
    customerId: 'c-1',
    customerEmail: 'ada@example.com',
    currency: 'EUR',
    lines: [{ sku: 'SKU-0001', qty: 2, unitPriceCents: 1250 }],
  });
  return [
    'Try:',
    `  curl -s -X POST ${url}/orders -H 'content-type: application/json' -H 'Idempotency-Key: demo-1' \\`,
    `       -d '${orderBody}'`,
    `  curl -s ${url}/orders/<orderId>`,
    `  curl -s -X PATCH ${url}/orders/<orderId> -H 'content-type: application/json' -H 'If-Match: 1' -d '{"status":"PAID"}'`,
    `  curl -s -X PUT ${url}/polls/best-pizza/votes/voter-1 -H 'content-type: application/json' -d '{"option":"margherita"}'`,
    `  curl -s ${url}/polls/best-pizza/results`,
    `  curl -s '${url}/orders/search?q=ada@example.com&status=PLACED&limit=10'`,
  ];
}

/** The `orders` index of the local OpenSearch for the status view, when the sandbox prepared it. */
function searchCounters(system: SandboxSystem): { search?: SearchIndexCounters } {
  if (!system.search.indices().includes(ORDERS_INDEX)) return {};
  let tombstones = 0;
  const documents = system.search.documents(ORDERS_INDEX);
  for (const { source } of documents.values()) if (source.deleted === true) tombstones += 1;
  return {
    search: {
      index: ORDERS_INDEX,
      documents: documents.size - tombstones,
      tombstones,
      requests: system.search.stats().requests,
    },
  };
}

/** Writes and waits until the text is handed to the OS, so that process.exit cannot cut it off. */
function writeFully(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

async function run(options: StartOptions): Promise<number> {
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  // With --json, stdout carries the summary only.
  const info = options.json ? log : (line: string): void => void process.stdout.write(`${line}\n`);

  let stopReason: StartSummary['stoppedBy'] | undefined;
  let resolveStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => {
    resolveStop = resolve;
  });
  const requestStop = (reason: StartSummary['stoppedBy']): void => {
    stopReason ??= reason;
    resolveStop();
  };
  let signals = 0;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    signals += 1;
    if (signals > 1) {
      // A second Ctrl-C means now. DynamoDB Local's watchdog takes the JVM down with this process.
      log(`\n${signal} again: exiting without cleanup.`);
      process.exit(130);
    }
    log(`\n${signal}: stopping...`);
    requestStop(signal);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  let system: SandboxSystem;
  try {
    system = await startSandboxSystem({ port: options.port, log });
  } catch (error) {
    log(`Failed to start: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
  // `npm run ops -- <command> --local` finds this sandbox through the endpoint file and runs against it.
  let opsEndpoint: OpsEndpointServer;
  try {
    opsEndpoint = await startOpsEndpoint({
      aws: system.opsAws(),
      outputDir: system.outputDir,
      stage: system.stageName,
      region: LOCAL_REGION,
      dynamodbEndpoint: system.dynamodbEndpoint,
      searchUrl: system.search.url,
    });
  } catch (error) {
    log(`Failed to start the ops endpoint: ${(error as Error).stack ?? String(error)}`);
    await system.stop();
    return 1;
  }
  const startedAt = Date.now();

  info(
    [
      '',
      `Orders API: ${system.apiUrl}   (DynamoDB Local: ${system.dynamodbEndpoint}, OpenSearch: ${system.search.url})`,
      `Outputs: ${system.outputDir}`,
      `Stream consumers: ${system.consumers.join(', ') || 'none yet'}`,
      'Operate it as a deployed stage: npm run ops -- status --local (redrive, replay, dlq, history: --help)',
      '',
      ...curlExamples(system.apiUrl),
      '',
      options.demo
        ? `Demo traffic: ${options.rate} writes/s, seed ${options.seed} (--no-demo to turn off).`
        : 'No demo traffic (--no-demo).',
      options.durationS === undefined ? 'Ctrl-C stops everything.' : `Stopping after ${options.durationS} s.`,
      '',
    ].join('\n'),
  );

  const trafficStop = new AbortController();
  const counters: { -readonly [K in keyof TrafficCounters]: number } = {
    operations: 0,
    ok: 0,
    rejected: 0,
    errors: 0,
  };
  const traffic: Promise<TrafficSummary | undefined> = options.demo
    ? runTraffic({
        apiUrl: system.apiUrl,
        seed: options.seed,
        ratePerSecond: options.rate,
        signal: trafficStop.signal,
        // A demo may run for hours: counts only, not every operation.
        recordLog: false,
        onOperation: (operation) => {
          counters.operations += 1;
          if (operation.status === 0) counters.errors += 1;
          else if (operation.ok) counters.ok += 1;
          else counters.rejected += 1;
        },
      }).catch((error: unknown) => {
        log(`Demo traffic failed: ${(error as Error).message}`);
        return undefined;
      })
    : Promise.resolve(undefined);

  let view: StatusView | undefined;
  if (!options.json) {
    view = startStatusView({
      output: process.stdout,
      snapshot: () => ({
        elapsedMs: Date.now() - startedAt,
        consumers: system.stats(),
        api: system.apiStats(),
        services: system.serviceStats(),
        ...searchCounters(system),
        ...(options.demo ? { traffic: counters } : {}),
      }),
    });
  }

  const timer =
    options.durationS === undefined
      ? undefined
      : setTimeout(() => requestStop('duration'), options.durationS * 1000);
  await stopRequested;
  clearTimeout(timer);

  trafficStop.abort();
  const trafficSummary = await traffic;
  const drained = await system.waitUntilDrained({
    timeoutMs: stopReason === 'duration' ? DRAIN_AFTER_DURATION_MS : DRAIN_AFTER_SIGNAL_MS,
    quietMs: DRAIN_QUIET_MS,
  });
  view?.stop();
  const apiStats = system.apiStats();
  const summary: StartSummary = {
    durationS: Math.round((Date.now() - startedAt) / 100) / 10,
    api: { url: system.apiUrl, dynamodbEndpoint: system.dynamodbEndpoint, ...apiStats },
    traffic:
      trafficSummary === undefined
        ? null
        : (({ log: _log, orders: _orders, votes: _votes, ...rest }) => rest)(trafficSummary),
    consumers: system.stats(),
    services: system.serviceStats(),
    drained,
    outputDir: system.outputDir,
    stoppedBy: stopReason ?? 'duration',
  };
  await opsEndpoint.close();
  await system.stop();
  if (!drained) log('Some stream records were still unprocessed at stop (see "pending" per consumer).');
  log(`Outputs kept in ${system.outputDir}`);
  log('Stopped.');
  if (options.json) await writeFully(process.stdout, `${JSON.stringify(summary)}\n`);
  return 0;
}

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
  const code = await run(options);
  // SDK connection pools and timers of stopped parts may linger; everything that matters has been written.
  await writeFully(process.stderr, '');
  process.exit(code);
}

await main();
