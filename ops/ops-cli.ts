import { VOTE_AGGREGATOR_CONSUMER_NAME } from '../lambdas/vote-aggregator/names.js';
import { OPS_CONSUMERS } from '../lib/stage-outputs.js';
import { API_METHODS, type ApiMethod, regionOfApiUrl, sendSignedApiRequest } from './api/signed-request.js';
import { HISTORY_COMMAND } from './audit-history/history-command.js';
import type { OpsAws } from './aws/ports.js';
import { BACKFILL_COMMAND } from './backfill/backfill-command.js';
import {
  COMMON_FLAGS,
  type Command,
  type CommandContext,
  type CommandRun,
  consumerArgument,
  EXIT_ATTENTION,
  EXIT_CODES,
  EXIT_OK,
  EXIT_USAGE,
  type OpsDeps,
  type OpsIo,
  type ParsedArgs,
  parseOpsArgs,
  refuseOtherFlags,
  regionFlag,
  resolveStageNames,
  stageFlag,
  writeResult,
} from './cli/command.js';
import { integerFlag, UsageError } from './cli/flags.js';
import { decodeLetter, describeLetterInFull, describeLetterLine, letterJson } from './dlq/letters.js';
import { RECONCILE_COMMAND } from './reconcile/reconcile-command.js';
import {
  DRY_RUN_VISIBILITY_SECONDS,
  describeRedrive,
  MAX_RECORDS_PER_INVOKE,
  REDRIVE_VISIBILITY_SECONDS,
  redrive,
  redriveJson,
} from './redrive/redrive.js';
import { recountVotesCommand, repairCommand } from './redrive/repair.js';
import { DynamoDbPollWatermarks, votesBehindWatermark } from './redrive/vote-watermarks.js';
import { orderStreamArchive } from './replay/audit-archive.js';
import { replayCommand } from './replay/replay-command.js';
import { consumerNames } from './stage.js';
import { describeStatus, readStageStatus, STATUS_WINDOW_MINUTES, statusJson } from './status/status.js';

export type { OpsDeps, OpsIo };
export { EXIT_ATTENTION, EXIT_OK, EXIT_USAGE };

/**
 * `npm run ops -- <command> --stage <stage> [--region <r>] [--json]`: what an operator runs against a deployed
 * stage. Every name is resolved from the stage's stacks (stage.ts). Progress goes to stderr, results to stdout
 * (--json: one JSON object). Exit codes: 0 ok, 1 something needs attention or failed, 2 bad usage.
 * A command is one entry of COMMANDS (cli/command.ts holds what they share).
 */

/** How long letters read by `dlq list|show` stay hidden from the queue's other readers. */
export const PEEK_VISIBILITY_SECONDS = 30;
const DEFAULT_LETTER_LIMIT = 10;

export const OPS_USAGE = `Usage: npm run ops -- <command> --stage <stage> [--region <region>] [--json] [--help]

Commands:
  status                      each consumer's mapping, lag, DLQ and alarms
  dlq list <consumer>         one line per letter in the consumer's DLQ, without deleting any
  dlq show <consumer>         each letter of the consumer's DLQ in full, without deleting any
  redrive <consumer>          hands the DLQ's letters back to the consumer's function; deletes each once done
  replay <consumer>           rebuilds the consumer's effects of a time window from the audit log
  api <METHOD> <path>         a SigV4-signed request to the stage's orders API
  backfill search             writes the Orders table into the search index (--verify: the drift report)
  reconcile votes             recounts the votes against PollResults and reports drift (--fix: repairs it)
  history <orderId>           one order's change history from the audit bucket

Consumers: ${OPS_CONSUMERS.join(', ')}
Names (tables, queues, functions, the API URL, the search endpoint, the audit bucket) come from the stage's
CloudFormation outputs.
Progress goes to stderr, results to stdout. \`npm run ops -- <command> --help\` for a command's help.
${EXIT_CODES}`;

const STATUS_USAGE = `Usage: npm run ops -- status --stage <stage> [--region <region>] [--json]

Per consumer: the event source mapping's state and last processing result, the maximum IteratorAge over the last
${STATUS_WINDOW_MINUTES} minutes, the DLQ's depth (visible + in flight) and the age of its oldest letter, and its
alarms by state (those in ALARM by name).
Exit code 1 when a mapping is not Enabled, a DLQ holds letters or an alarm is in ALARM.

${COMMON_FLAGS}
${EXIT_CODES}`;

const DLQ_USAGE = `Usage: npm run ops -- dlq list <consumer> --stage <stage> [--limit <n>] [--region <region>] [--json]
       npm run ops -- dlq show <consumer> --stage <stage> [--limit <n>] [--region <region>] [--json]

Reads up to --limit letters (default ${DEFAULT_LETTER_LIMIT}) of the consumer's DLQ and never deletes one. Reading a
message hides it from the queue's other readers for ${PEEK_VISIBILITY_SECONDS} seconds (its visibility timeout); it
is back in the queue afterwards, with its receive count raised by one.
Letters are decoded as the runtime's (a record that failed permanently: the record and the reason), the event
source mapping's on-failure records (a discarded batch: shard and sequence range, no records), or shown raw as
"unrecognised".
  list   one line per letter: id, kind, consumer, record or sequence range, reason, age
  show   each letter in full (the runtime's: keys, event name, sequence number, the record)

Consumers: ${OPS_CONSUMERS.join(', ')}
  --limit <n>        how many letters at most (integer >= 1, default ${DEFAULT_LETTER_LIMIT})
${COMMON_FLAGS}
${EXIT_CODES}`;

const REDRIVE_USAGE = `Usage: npm run ops -- redrive <consumer> --stage <stage> [--dry-run] [--limit <n>] [--region <region>] [--json]

Receives the letters of the consumer's DLQ (rounds of up to 10, each letter hidden for ${REDRIVE_VISIBILITY_SECONDS} s while it is worked on)
and for each:
  runtime letter (a full record)   invokes the consumer's function (Invoke, RequestResponse) with the record as a
                                   stream event
  on-failure record (a range)      re-reads the shard's sequence range from the stream (GetShardIterator
                                   AT_SEQUENCE_NUMBER, GetRecords) and invokes the function with the records in
                                   order, at most ${MAX_RECORDS_PER_INVOKE} per invocation, each chunk done before the next. A range
                                   the stream no longer holds (24 h retention) is reported with the command that
                                   repairs it from the source, and kept
  truncated letter, unrecognised   skipped and kept
A letter is deleted only when the function reported every one of its records done (no FunctionError, no
batchItemFailures); otherwise it stays for the next run. Safe to repeat: the consumers are idempotent per record.
A record that fails permanently again is dead-lettered anew by the consumer (a new letter) and counts as done.

Consumers: ${OPS_CONSUMERS.join(', ')}
  --dry-run          decode the letters and print what would be invoked; no Invoke, no DeleteMessage and no
                     stream read (letters are hidden ${DRY_RUN_VISIBILITY_SECONDS} s only)
  --limit <n>        how many letters at most (integer >= 1; default: all, until a receive answers none)
${COMMON_FLAGS}
Exit code 1 unless every letter read was redriven and deleted (a dry run: 0).
${EXIT_CODES}`;

const API_USAGE = `Usage: npm run ops -- api <METHOD> <path> --stage <stage> [--body <json>] [--region <region>] [--json]

Sends a request to the stage's orders API (its URL from the stage's outputs), signed with SigV4 (service
execute-api) with the default credential chain, and prints the status and the body. Exit code 1 for a status of
400 or more.
  <METHOD>           ${API_METHODS.join(', ')}
  <path>             the resource path after the API stage, starting with /, e.g. /orders/o-1
  --body <json>      the request body, JSON, sent as application/json
${COMMON_FLAGS}
${EXIT_CODES}`;

const COMMANDS = new Map<string, Command>([
  [
    'status',
    {
      usage: STATUS_USAGE,
      flags: [],
      prepare: (args) => {
        if (args.positionals.length > 1)
          throw new UsageError(`status takes no argument, got "${args.positionals[1]}"`);
        return async (context, aws) => {
          const names = await resolveStageNames(context, aws);
          context.io.stderr(
            `Reading ${names.consumers.size} consumers' mappings, metrics, DLQs and alarms...\n`,
          );
          const status = await readStageStatus(aws, names, context.deps.now());
          writeResult(context.io, args.json, statusJson(status), describeStatus(status));
          return status.ok ? EXIT_OK : EXIT_ATTENTION;
        };
      },
    },
  ],
  [
    'dlq',
    {
      usage: DLQ_USAGE,
      flags: ['limit'],
      prepare: (args) => {
        const [, action, rawConsumer, extra] = args.positionals;
        if (action !== 'list' && action !== 'show') {
          throw new UsageError(
            `dlq: the action must be list or show, got ${action === undefined ? 'none' : `"${action}"`}`,
          );
        }
        const consumer = consumerArgument(rawConsumer, 'dlq');
        if (extra !== undefined)
          throw new UsageError(`dlq ${action} takes one consumer, got also "${extra}"`);
        const limit = integerFlag('limit', args.limit, DEFAULT_LETTER_LIMIT, 1);
        return async (context, aws) => {
          const names = consumerNames(await resolveStageNames(context, aws), consumer);
          context.io.stderr(
            `Reading up to ${limit} letters of ${names.deadLetterQueueName} (each hidden for ${PEEK_VISIBILITY_SECONDS} s, none deleted)...\n`,
          );
          const messages = await aws.deadLetterQueues.peek(names.deadLetterQueueUrl, {
            limit,
            visibilityTimeoutSeconds: PEEK_VISIBILITY_SECONDS,
          });
          const now = context.deps.now();
          const letters = messages.map((message) => decodeLetter(consumer, message));
          const text =
            letters.length === 0
              ? `No letters in ${names.deadLetterQueueName}.`
              : letters
                  .map((letter) =>
                    action === 'list' ? describeLetterLine(letter, now) : describeLetterInFull(letter, now),
                  )
                  .join('\n');
          const json = {
            stage: context.stage,
            consumer,
            queueUrl: names.deadLetterQueueUrl,
            visibilityTimeoutSeconds: PEEK_VISIBILITY_SECONDS,
            letters: letters.map(letterJson),
          };
          writeResult(context.io, args.json, json, text);
          return EXIT_OK;
        };
      },
    },
  ],
  [
    'redrive',
    {
      usage: REDRIVE_USAGE,
      flags: ['limit', 'dry-run'],
      prepare: (args) => {
        const [, rawConsumer, extra] = args.positionals;
        const consumer = consumerArgument(rawConsumer, 'redrive');
        if (extra !== undefined) throw new UsageError(`redrive takes one consumer, got also "${extra}"`);
        const limit = args.limit === undefined ? undefined : integerFlag('limit', args.limit, 1, 1);
        const dryRun = args['dry-run'];
        return async (context, aws) => {
          const stage = await resolveStageNames(context, aws);
          const names = consumerNames(stage, consumer);
          const region = context.region ?? (await aws.region());
          context.io.stderr(
            `${dryRun ? 'Dry run: reading' : 'Redriving'} ${limit === undefined ? 'every letter' : `up to ${limit} letter(s)`} ` +
              `of ${names.deadLetterQueueName} into ${names.functionName}...\n`,
          );
          const summary = await redrive(
            { queue: aws.deadLetterQueues, functions: aws.functions, streams: aws.streams },
            {
              consumer,
              functionName: names.functionName,
              queueUrl: names.deadLetterQueueUrl,
              repairCommand: (range) => repairCommand(consumer, stage, region, range),
              archive: orderStreamArchive(aws.auditObjects(stage.auditBucketName), stage, region ?? ''),
              ...(consumer === VOTE_AGGREGATOR_CONSUMER_NAME
                ? {
                    superseded: {
                      records: (records) =>
                        votesBehindWatermark(
                          records,
                          new DynamoDbPollWatermarks(aws.dynamoDb, stage.pollResultsTableName),
                        ),
                      repair: recountVotesCommand(stage, region),
                    },
                  }
                : {}),
            },
            {
              dryRun,
              limit,
              progress: (line) => context.io.stderr(`${line}\n`),
              now: () => context.deps.now().getTime(),
            },
          );
          writeResult(
            context.io,
            args.json,
            { stage: context.stage, ...redriveJson(summary) },
            describeRedrive(summary),
          );
          return summary.ok ? EXIT_OK : EXIT_ATTENTION;
        };
      },
    },
  ],
  ['replay', replayCommand],
  [
    'api',
    {
      usage: API_USAGE,
      flags: ['body'],
      prepare: (args) => {
        const [, rawMethod, path, extra] = args.positionals;
        const method = rawMethod?.toUpperCase();
        if (method === undefined || !(API_METHODS as readonly string[]).includes(method)) {
          throw new UsageError(
            `api: <METHOD> must be one of ${API_METHODS.join(', ')}, got ${rawMethod === undefined ? 'none' : `"${rawMethod}"`}`,
          );
        }
        if (path === undefined || !path.startsWith('/')) {
          throw new UsageError(
            `api: <path> must start with /, got ${path === undefined ? 'none' : `"${path}"`}`,
          );
        }
        if (extra !== undefined) throw new UsageError(`api takes a method and a path, got also "${extra}"`);
        if (args.body !== undefined) {
          try {
            JSON.parse(args.body);
          } catch (error) {
            throw new UsageError(`--body must be JSON: ${(error as Error).message}`);
          }
        }
        return async (context, aws) => {
          const names = await resolveStageNames(context, aws);
          const region = regionOfApiUrl(names.apiUrl) ?? context.region ?? (await aws.region());
          if (region === undefined) {
            throw new UsageError('--region is required: no region in the API URL nor in the AWS SDK chain');
          }
          context.io.stderr(`${method} ${path} on ${names.apiUrl} (SigV4, execute-api, ${region})...\n`);
          const response = await sendSignedApiRequest({
            apiUrl: names.apiUrl,
            method: method as ApiMethod,
            path,
            ...(args.body === undefined ? {} : { body: args.body }),
            region,
            credentials: aws.credentials,
            signingDate: context.deps.now(),
          });
          writeResult(
            context.io,
            args.json,
            { status: response.status, body: response.body },
            `${response.status} ${response.statusText}\n${response.body}`,
          );
          return response.status >= 400 ? EXIT_ATTENTION : EXIT_OK;
        };
      },
    },
  ],
  ['backfill', BACKFILL_COMMAND],
  ['reconcile', RECONCILE_COMMAND],
  ['history', HISTORY_COMMAND],
]);

/** Runs one ops command and resolves with its exit code; usage and AWS errors become exit codes 2 and 1. */
export async function runOpsCli(argv: readonly string[], io: OpsIo, deps: OpsDeps): Promise<number> {
  let usage = OPS_USAGE;
  let run: CommandRun | undefined;
  let args: ParsedArgs;
  let stage: string | undefined;
  let region: string | undefined;
  try {
    args = parseOpsArgs(argv);
    const name = args.positionals[0];
    if (name === undefined) {
      if (args.help) {
        io.stdout(`${OPS_USAGE}\n`);
        return EXIT_OK;
      }
      throw new UsageError('a command is required');
    }
    const command = COMMANDS.get(name);
    if (command === undefined) throw new UsageError(`unknown command "${name}"`);
    usage = command.usage;
    if (args.help) {
      io.stdout(`${command.usage}\n`);
      return EXIT_OK;
    }
    refuseOtherFlags(args, name, command.flags);
    run = command.prepare(args);
    if (args['sandbox-dir'] !== undefined && !args.local) {
      throw new UsageError('--sandbox-dir applies with --local only');
    }
    if (args.local && args.region !== undefined) {
      throw new UsageError('--region does not apply with --local: the sandbox runs in its own region');
    }
    // With --local the stage is the sandbox's; --stage, when given, must name it.
    stage = args.local && args.stage === undefined ? undefined : stageFlag(args.stage);
    region = regionFlag(args.region);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${error.message}\n\n${usage}\n`);
    return EXIT_USAGE;
  }
  let aws: OpsAws | undefined;
  try {
    if (args.local) {
      const local = await deps.local(args['sandbox-dir']);
      aws = local.aws;
      if (stage !== undefined && stage !== local.stage) {
        throw new UsageError(`--stage ${stage} is not the running sandbox's stage (${local.stage})`);
      }
      stage = local.stage;
      io.stderr(`Operating on ${local.description}\n`);
    } else {
      aws = deps.aws(region);
    }
    const context: CommandContext = { args, io, deps, stage: stage as string, region };
    return await run(context, aws);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\n\n${usage}\n`);
      return EXIT_USAGE;
    }
    const err = error as Error;
    io.stderr(`${err.name === 'Error' ? '' : `${err.name}: `}${err.message}\n`);
    return EXIT_ATTENTION;
  } finally {
    aws?.close();
  }
}
