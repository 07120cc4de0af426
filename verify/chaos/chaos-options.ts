import {
  integerFlag,
  parseFlags,
  positiveNumberFlag,
  probabilityFlag,
  UsageError,
} from '../../ops/cli/flags.js';
import { MAX_CPU_HOGS } from './cpu-hog.js';
import { DEFAULT_FAULT_RATES, type FaultRates } from './faults.js';

/** What the command line decides of a chaos run. */
export interface ChaosCliOptions {
  readonly seed: number;
  readonly operations: number;
  readonly json: boolean;
  readonly poisonRate: number;
  readonly faults: FaultRates;
  readonly ratePerSecond: number;
  readonly functionTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** Cap on every mapping's batching window (see CHAOS_USAGE). */
  readonly maxBatchingWindowMs: number;
  readonly outputDir: string | undefined;
  /** Stock of each traffic SKU at start; undefined = chaosStockPerSku(operations). */
  readonly stockPerSku: number | undefined;
  /** Busy threads beside the system for the whole run (cpu-hog.ts); 0 = none. */
  readonly cpuHog: number;
}

/**
 * The stock per SKU of a chaos run that does not ask for one: one unit per 20 operations, so that runs of any size
 * sell out part of the way through and back-order some orders (about a fifth at 300 to 2,000 operations, a tenth at
 * 10,000, by a model of the traffic), and the fan-out's shortage paths are exercised along with its reservations.
 */
export function chaosStockPerSku(operations: number): number {
  return Math.max(1, Math.round(operations / 20));
}

export const CHAOS_DEFAULTS = {
  seed: 1,
  operations: 2_000,
  /** About 1% of orders are poison (docs/chaos.md). */
  poisonRate: 0.01,
  functionTimeoutMs: 2_000,
  drainTimeoutSeconds: 180,
  /**
   * Caps the audit log's 60 s batching window (the others' 1 s stay): the drain would otherwise wait up to a minute
   * for every shard's last audit batch, and a run would invoke the audit log a few times only, too few for the
   * faults to reach it. Two seconds still gathers batches of many records, as the window does in production.
   */
  maxBatchingWindowMs: 2_000,
} as const;

/** Lambda's largest batching window (MaximumBatchingWindowInSeconds 300). */
export const MAX_BATCHING_WINDOW_LIMIT_MS = 300_000;

export const CHAOS_USAGE = `Usage: npm run chaos -- [--seed <n>] [--operations <n>] [--json] [options]

Runs the whole system locally with a probe consumer on the Orders stream next to the product consumers (the order
fan-out, the search sync, the audit log, the vote aggregator), drives seeded traffic through the API (one hot poll
taking most votes) while injecting faults (poison orders, transient effect, SNS/SES/SQS, S3 and OpenSearch errors,
crashes mid-batch, timeouts), waits for the streams to drain and checks the stream-consumer contract against the
Orders table, the fan-out's effects against the orders' histories and the stock, the search index against the table,
the audit bucket against the Orders stream, and every poll's results against a recount of the Votes table. The last
line of stdout is the JSON result; the exit code is 0 when every invariant holds, 1 when one does not, 2 for a bad
flag.

  --seed <n>                  seed of the traffic and of every fault decision (default ${CHAOS_DEFAULTS.seed})
  --operations <n>            API operations to send, orders and votes (default ${CHAOS_DEFAULTS.operations})
  --json                      print only the JSON result on stdout
  --rate <n>                  operations per second (default: as fast as the API answers)
  --poison-rate <p>           share of orders that are poison, 0..1 (default ${CHAOS_DEFAULTS.poisonRate})
  --transient-rate <p>        share of effect calls, SNS/SES/SQS calls and entries, S3 PutObjects (a 503, and apart
                              from it an answer lost after storing), OpenSearch bulk requests and items that fail
                              transiently (default ${DEFAULT_FAULT_RATES.transient})
  --crash-rate <p>            share of invocations that crash after applying (default ${DEFAULT_FAULT_RATES.crash})
  --timeout-rate <p>          share of invocations that time out (default ${DEFAULT_FAULT_RATES.timeout})
  --stock <n>                 available stock of each SKU at start (default: operations / 20)
  --function-timeout-ms <n>   every function's timeout (default ${CHAOS_DEFAULTS.functionTimeoutMs})
  --drain-timeout-seconds <n> time the streams get to drain (default ${CHAOS_DEFAULTS.drainTimeoutSeconds})
  --max-batching-window-ms <n>
                              caps every mapping's batching window, 0..${MAX_BATCHING_WINDOW_LIMIT_MS} (default
                              ${CHAOS_DEFAULTS.maxBatchingWindowMs}): the audit log gathers records for 60 s, so the
                              drain would wait up to a minute for each shard's last audit batch, and a short run
                              would invoke it too rarely for the faults to reach it; shorter windows are kept
  --cpu-hog <n>               n busy threads beside the system for the whole run, stopped at the end, to reproduce
                              a slow or CPU-starved machine, 0..${MAX_CPU_HOGS} (default 0)
  --output-dir <dir>          where the sandbox writes (default <repo>/.sandbox; cleared at start)
  --help                      this text`;

const OPTIONS = {
  seed: { type: 'string' },
  operations: { type: 'string' },
  json: { type: 'boolean' },
  rate: { type: 'string' },
  'poison-rate': { type: 'string' },
  'transient-rate': { type: 'string' },
  'crash-rate': { type: 'string' },
  'timeout-rate': { type: 'string' },
  'function-timeout-ms': { type: 'string' },
  'drain-timeout-seconds': { type: 'string' },
  'max-batching-window-ms': { type: 'string' },
  stock: { type: 'string' },
  'cpu-hog': { type: 'string' },
  'output-dir': { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** --max-batching-window-ms: whole milliseconds from 0 (invoke with whatever is there) to Lambda's limit. */
function maxBatchingWindowFlag(raw: string | undefined): number {
  const value = integerFlag('max-batching-window-ms', raw, CHAOS_DEFAULTS.maxBatchingWindowMs, 0);
  if (value > MAX_BATCHING_WINDOW_LIMIT_MS) {
    throw new UsageError(
      `--max-batching-window-ms must be at most ${MAX_BATCHING_WINDOW_LIMIT_MS} (Lambda's largest window), got "${raw}"`,
    );
  }
  return value;
}

/** --cpu-hog: whole busy threads from 0 to MAX_CPU_HOGS. */
function cpuHogFlag(raw: string | undefined): number {
  const value = integerFlag('cpu-hog', raw, 0, 0);
  if (value > MAX_CPU_HOGS) {
    throw new UsageError(`--cpu-hog must be at most ${MAX_CPU_HOGS}, got "${raw}"`);
  }
  return value;
}

/** Parses the command line; every error names the flag at fault. */
export function parseChaosArgs(argv: readonly string[]): ChaosCliOptions | 'help' {
  const values = parseFlags(argv, OPTIONS);
  if (values.help) return 'help';
  const faults: FaultRates = {
    transient: probabilityFlag('transient-rate', values['transient-rate'], DEFAULT_FAULT_RATES.transient),
    crash: probabilityFlag('crash-rate', values['crash-rate'], DEFAULT_FAULT_RATES.crash),
    timeout: probabilityFlag('timeout-rate', values['timeout-rate'], DEFAULT_FAULT_RATES.timeout),
  };
  if (faults.crash + faults.timeout > 1) {
    throw new UsageError(
      '--crash-rate and --timeout-rate must add up to at most 1 (one fault per invocation)',
    );
  }
  if (values['output-dir'] === '') {
    throw new UsageError('--output-dir must not be empty');
  }
  return {
    seed: integerFlag('seed', values.seed, CHAOS_DEFAULTS.seed, Number.MIN_SAFE_INTEGER),
    operations: integerFlag('operations', values.operations, CHAOS_DEFAULTS.operations, 1),
    json: values.json ?? false,
    poisonRate: probabilityFlag('poison-rate', values['poison-rate'], CHAOS_DEFAULTS.poisonRate),
    faults,
    ratePerSecond: positiveNumberFlag('rate', values.rate, Number.POSITIVE_INFINITY),
    functionTimeoutMs: integerFlag(
      'function-timeout-ms',
      values['function-timeout-ms'],
      CHAOS_DEFAULTS.functionTimeoutMs,
      100,
    ),
    drainTimeoutMs:
      integerFlag(
        'drain-timeout-seconds',
        values['drain-timeout-seconds'],
        CHAOS_DEFAULTS.drainTimeoutSeconds,
        1,
      ) * 1000,
    maxBatchingWindowMs: maxBatchingWindowFlag(values['max-batching-window-ms']),
    outputDir: values['output-dir'],
    stockPerSku: values.stock === undefined ? undefined : integerFlag('stock', values.stock, 0, 0),
    cpuHog: cpuHogFlag(values['cpu-hog']),
  };
}
