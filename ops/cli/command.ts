import { parseArgs } from 'node:util';
import { OPS_CONSUMERS, type OpsConsumerName } from '../../lib/stage-outputs.js';
import type { OpsAws } from '../aws/ports.js';
import { resolveStage, type StageNames } from '../stage.js';
import { UsageError } from './flags.js';

/**
 * What every `npm run ops` command shares: the flags, their checks, the context a command runs in and how it
 * writes. A command is one `Command` (ops-cli.ts registers them by name); it checks its arguments in `prepare`,
 * before any AWS call, and names the flags it takes, so that any other flag is refused with a message naming it.
 */

/** Where the CLI writes; the entry point passes the process's streams. */
export interface OpsIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** An OpsIo that keeps what a command writes: for callers that run commands in process (the outage drill, tests). */
export function bufferedOpsIo(): OpsIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    out: () => out,
    err: () => err,
  };
}

/** A running sandbox as the stage to operate on (`--local`). */
export interface LocalStage {
  readonly aws: OpsAws;
  /** The stage the sandbox stands in for. */
  readonly stage: string;
  /** Where it was found, for messages. */
  readonly description: string;
}

/** What the CLI needs from the outside world; tests pass mocked clients and a fixed clock. */
export interface OpsDeps {
  /** The AWS side for a region (undefined: the SDK's default chain). */
  aws(region: string | undefined): OpsAws;
  /** The running sandbox whose output directory is `sandboxDir` (undefined: the default one). */
  local(sandboxDir: string | undefined): Promise<LocalStage>;
  now(): Date;
}

export const EXIT_OK = 0;
export const EXIT_ATTENTION = 1;
export const EXIT_USAGE = 2;

export const COMMON_FLAGS = `Flags of every command:
  --stage <stage>    the deployed stage (its stacks OrdersStreams-<stage>-Data and -Pipelines); required unless --local
  --region <region>  the stage's region (default: the AWS SDK's chain: AWS_REGION, the profile)
  --local            operate on the sandbox \`npm start\` runs instead of a deployed stage (the same command, local
                     tables, queues, functions, bucket and search; it has no alarms)
  --sandbox-dir <d>  with --local: the sandbox's output directory (default .sandbox)
  --json             print the result as one JSON object
  --help             this command's help`;

export const EXIT_CODES = `Exit codes: 0 ok, 1 something needs attention or failed, 2 bad usage (the message names the flag).`;

/**
 * Every flag of every command (parseArgs needs them all to parse strictly); a command takes the common ones and
 * those it lists in `Command.flags`.
 */
export const FLAG_OPTIONS = {
  stage: { type: 'string' },
  region: { type: 'string' },
  local: { type: 'boolean', default: false },
  'sandbox-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  limit: { type: 'string' },
  body: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  // backfill search
  verify: { type: 'boolean', default: false },
  segments: { type: 'string' },
  replicas: { type: 'string' },
  // reconcile votes (and --segments)
  poll: { type: 'string' },
  fix: { type: 'boolean', default: false },
  'wait-seconds': { type: 'string' },
  attempts: { type: 'string' },
  // history
  since: { type: 'string' },
  until: { type: 'string' },
  // replay
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

export type FlagName = keyof typeof FLAG_OPTIONS;
const COMMON_FLAG_NAMES: ReadonlySet<FlagName> = new Set([
  'stage',
  'region',
  'json',
  'help',
  'local',
  'sandbox-dir',
]);

type FlagValues = {
  readonly [K in FlagName]: (typeof FLAG_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string | undefined;
};

export type ParsedArgs = FlagValues & {
  readonly positionals: readonly string[];
  /** The flags given on the command line, defaults not included. */
  readonly given: ReadonlySet<FlagName>;
};

export function parseOpsArgs(argv: readonly string[]): ParsedArgs {
  try {
    const { values, positionals, tokens } = parseArgs({
      args: [...argv],
      options: FLAG_OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
    const given = new Set<FlagName>();
    for (const token of tokens) {
      if (token.kind === 'option') given.add(token.name as FlagName);
    }
    return { ...(values as FlagValues), positionals, given };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Refuses any flag given that is neither common nor one of the command's. */
export function refuseOtherFlags(args: ParsedArgs, command: string, flags: readonly FlagName[]): void {
  for (const flag of args.given) {
    if (!COMMON_FLAG_NAMES.has(flag) && !flags.includes(flag)) {
      throw new UsageError(`--${flag} does not apply to ${command}`);
    }
  }
}

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;

/** The --stage flag: required, and a stage name as lib/config.ts accepts one. */
export function stageFlag(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') {
    throw new UsageError('--stage is required: the deployed stage to operate on, e.g. --stage prod');
  }
  if (!STAGE_PATTERN.test(raw)) {
    throw new UsageError(
      `--stage must be 1-20 lowercase letters, digits or hyphens, starting with a letter, got "${raw}"`,
    );
  }
  return raw;
}

export function regionFlag(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(raw)) {
    throw new UsageError(`--region must be an AWS region such as eu-west-1, got "${raw}"`);
  }
  return raw;
}

/** The `<consumer>` argument of a command: one of OPS_CONSUMERS. */
export function consumerArgument(raw: string | undefined, command: string): OpsConsumerName {
  const known = OPS_CONSUMERS as readonly string[];
  if (raw === undefined || !known.includes(raw)) {
    throw new UsageError(
      `${command}: <consumer> must be one of ${OPS_CONSUMERS.join(', ')}, got ${raw === undefined ? 'none' : `"${raw}"`}`,
    );
  }
  return raw as OpsConsumerName;
}

/**
 * The word after a command that names what it works on (`backfill search`, `reconcile votes`): `target` is the only
 * one for now (the word leaves room for others), and nothing may follow it.
 */
export function targetArgument(args: ParsedArgs, command: string, target: string): void {
  const [, given, extra] = args.positionals;
  if (given !== target) {
    throw new UsageError(
      `${command}: the target must be ${target}, got ${given === undefined ? 'none' : `"${given}"`}`,
    );
  }
  if (extra !== undefined)
    throw new UsageError(`${command} ${target} takes no other argument, got "${extra}"`);
}

export interface CommandContext {
  readonly args: ParsedArgs;
  readonly io: OpsIo;
  readonly deps: OpsDeps;
  readonly stage: string;
  readonly region: string | undefined;
}

/** A prepared command: runs against the stage's AWS side and resolves with the exit code. */
export type CommandRun = (context: CommandContext, aws: OpsAws) => Promise<number>;

export interface Command {
  readonly usage: string;
  /** The flags the command takes besides the common ones (--stage, --region, --json, --help). */
  readonly flags: readonly FlagName[];
  /** Checks the arguments before any AWS call; returns the run. */
  prepare(args: ParsedArgs): CommandRun;
}

/** Progress lines, one per call, on stderr (stdout is the result's). */
export function progressLog(io: OpsIo): (line: string) => void {
  return (line) => io.stderr(`${line}\n`);
}

/** The region the stage was resolved in: --region, else the SDK chain's; a usage error when there is none. */
export async function stageRegion(context: CommandContext, aws: OpsAws): Promise<string> {
  const region = context.region ?? (await aws.region());
  if (region === undefined) {
    throw new UsageError('--region is required: no region in the AWS SDK chain (AWS_REGION, the profile)');
  }
  return region;
}

/** Writes the result: the JSON value with --json, else the text. */
export function writeResult(io: OpsIo, json: boolean, value: unknown, text: string): void {
  io.stdout(`${json ? JSON.stringify(value) : text}\n`);
}

/** The stage's names from its stacks' outputs, with a progress line. */
export async function resolveStageNames(context: CommandContext, aws: OpsAws): Promise<StageNames> {
  context.io.stderr(`Resolving stage ${context.stage} from its stacks...\n`);
  return resolveStage(aws.stackOutputs, context.stage, context.region ?? (await aws.region()));
}
