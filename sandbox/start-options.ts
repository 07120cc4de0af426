import { parseFlags, UsageError } from '../ops/cli/flags.js';
export interface StartOptions {
  readonly port: number;
  /** Send seeded demo traffic through the API. */
  readonly demo: boolean;
  /** Stop after this many seconds; undefined = run until Ctrl-C. */
  readonly durationS: number | undefined;
  /** Headless: no status view, one JSON summary as the last line of stdout. */
  readonly json: boolean;
  readonly seed: number;
  /** Demo writes per second. */
  readonly rate: number;
}

export const START_DEFAULTS = { port: 3000, seed: 1, rate: 10 } as const;

/** The highest demo rate: beyond it a 2-core machine measures its own saturation, not the pipelines. */
export const MAX_RATE = 1000;

export const START_USAGE = `Usage: npm start -- [--port <n>] [--demo | --no-demo] [--duration <s>] [--json] [--seed <n>] [--rate <n>]

Runs the order system on this machine with no AWS account: DynamoDB Local with streams, the tables of the
synthesized template, the real orders-api handler on http://localhost:<port>, and every stream consumer behind a
local event source mapping. Outputs (queues, logs, metrics) go to .sandbox/.

  --port <n>       the API's port (default ${START_DEFAULTS.port})
  --demo           send seeded demo traffic through the API (the default)
  --no-demo        no demo traffic: only what you send
  --duration <s>   stop after s seconds (default: run until Ctrl-C)
  --json           headless: progress on stderr, one JSON summary as the last line of stdout
  --seed <n>       the demo traffic's seed, an integer (default ${START_DEFAULTS.seed})
  --rate <n>       demo writes per second, up to ${MAX_RATE} (default ${START_DEFAULTS.rate})
  --help           this text`;

const FLAGS = {
  port: { type: 'string' },
  demo: { type: 'boolean' },
  'no-demo': { type: 'boolean' },
  duration: { type: 'string' },
  json: { type: 'boolean' },
  seed: { type: 'string' },
  rate: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** Parses the command line; every error names the flag at fault. */
export function parseStartArgs(argv: readonly string[]): StartOptions | 'help' {
  const values = parseFlags(argv, FLAGS);
  if (values.help) return 'help';
  if (values.demo && values['no-demo']) {
    throw new UsageError('--demo and --no-demo contradict each other: give one of them');
  }

  const rawPort = values.port ?? String(START_DEFAULTS.port);
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port < 1 || port > 65_535) {
    throw new UsageError(`--port must be an integer from 1 to 65535, got "${rawPort}"`);
  }

  let durationS: number | undefined;
  if (values.duration !== undefined) {
    durationS = Number(values.duration);
    if (!/^\d+(\.\d+)?$/.test(values.duration) || !(durationS > 0)) {
      throw new UsageError(`--duration must be a number of seconds > 0, got "${values.duration}"`);
    }
  }

  const rawSeed = values.seed ?? String(START_DEFAULTS.seed);
  const seed = Number(rawSeed);
  if (!/^-?\d+$/.test(rawSeed) || !Number.isSafeInteger(seed)) {
    throw new UsageError(`--seed must be an integer, got "${rawSeed}"`);
  }

  const rawRate = values.rate ?? String(START_DEFAULTS.rate);
  const rate = Number(rawRate);
  if (!/^\d+(\.\d+)?$/.test(rawRate) || !(rate > 0) || rate > MAX_RATE) {
    throw new UsageError(
      `--rate must be a number of writes per second > 0 and <= ${MAX_RATE}, got "${rawRate}"`,
    );
  }
  for (const flag of ['rate', 'seed'] as const) {
    if (values[flag] !== undefined && values['no-demo']) {
      throw new UsageError(`--${flag} sets the demo traffic, which --no-demo turns off`);
    }
  }

  return {
    port,
    demo: values['no-demo'] !== true,
    durationS,
    json: values.json === true,
    seed,
    rate,
  };
}
