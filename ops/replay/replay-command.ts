import { OPS_CONSUMERS } from '../../lib/stage-outputs.js';
import {
  COMMON_FLAGS,
  type Command,
  consumerArgument,
  EXIT_ATTENTION,
  EXIT_CODES,
  EXIT_OK,
  resolveStageNames,
  writeResult,
} from '../cli/command.js';
import { instantFlag, UsageError } from '../cli/flags.js';
import { MAX_RECORDS_PER_INVOKE } from '../redrive/redrive.js';
import { consumerNames } from '../stage.js';
import { AUDIT_OBJECT_SPAN_MS } from './audit-archive.js';
import {
  describeReplay,
  NOT_REPLAYABLE_REASONS,
  REPLAYABLE_CONSUMERS,
  replay,
  replayJson,
} from './replay.js';

/** The longest window one replay reads: the audit bucket's objects of every day of it are listed and read. */
export const MAX_REPLAY_DAYS = 31;
const DAY_MS = 86_400_000;

export const REPLAY_USAGE = `Usage: npm run ops -- replay <consumer> --from <time> [--to <time>] --stage <stage> [--dry-run] [--region <region>] [--json]

Rebuilds a consumer's effects from the audit log, beyond the stream's 24 hours: reads the Orders changes whose
ApproximateCreationDateTime is from --from (included) to --to (excluded) from the audit bucket (ListObjectsV2,
GetObject; objects keyed up to ${AUDIT_OBJECT_SPAN_MS / 3_600_000} h before --from are read too, as a batch can hold them), each change once, and invokes the
consumer's function (Invoke, RequestResponse) with them in stream order, at most ${MAX_RECORDS_PER_INVOKE} per invocation, each
done before the next. Stops at the first invocation not done and prints the command that goes on from there.
Safe to repeat: the consumers are idempotent per record and ordered per item.
  search-sync    the index takes every change again; an older change than the document's is refused by its
                 external version, so a replay into an empty index (after a mapping change) converges to the table
  order-fanout   a change whose idempotency record still lives is answered from it; an older one is sent again:
                 that is what a replay of a sink that lost messages is for (customers get those emails again)

Consumers: ${[...REPLAYABLE_CONSUMERS].join(', ')} (${OPS_CONSUMERS.filter((c) => !REPLAYABLE_CONSUMERS.has(c)).join(' and ')} cannot be replayed: --help says why)
  --from <time>      ISO-8601 with zone (2026-12-01T09:30:00Z) or a date (2026-12-01, its start in UTC); required
  --to <time>        the same; default: now. At most ${MAX_REPLAY_DAYS} days after --from
  --dry-run          read and count the changes; invoke nothing
${COMMON_FLAGS}
Exit code 1 unless every change of the window was done and the audit log had no problem.
${EXIT_CODES}`;

export const replayCommand: Command = {
  usage: REPLAY_USAGE,
  flags: ['from', 'to', 'dry-run'],
  prepare: (args) => {
    const [, rawConsumer, extra] = args.positionals;
    const consumer = consumerArgument(rawConsumer, 'replay');
    const notReplayable = NOT_REPLAYABLE_REASONS.get(consumer);
    if (notReplayable !== undefined) throw new UsageError(`replay ${consumer}: ${notReplayable}`);
    if (extra !== undefined) throw new UsageError(`replay takes one consumer, got also "${extra}"`);
    if (args.from === undefined)
      throw new UsageError('--from is required: the start of the window to replay');
    const from = instantFlag('from', args.from);
    const to = args.to === undefined ? undefined : instantFlag('to', args.to);
    const dryRun = args['dry-run'];
    return async (context, aws) => {
      const window = { from, to: to ?? context.deps.now() };
      if (window.to.getTime() <= window.from.getTime()) {
        throw new UsageError(
          `--to (${window.to.toISOString()}) must be after --from (${from.toISOString()})`,
        );
      }
      if (window.to.getTime() - window.from.getTime() > MAX_REPLAY_DAYS * DAY_MS) {
        throw new UsageError(
          `--from and --to may be ${MAX_REPLAY_DAYS} days apart at most: replay a longer time in several windows`,
        );
      }
      const stage = await resolveStageNames(context, aws);
      const names = consumerNames(stage, consumer);
      const region = context.region ?? (await aws.region()) ?? '';
      context.io.stderr(
        `${dryRun ? 'Dry run: reading' : 'Replaying'} the Orders changes from ${window.from.toISOString()} to ` +
          `${window.to.toISOString()} from s3://${stage.auditBucketName}${dryRun ? '' : ` into ${names.functionName}`}...\n`,
      );
      const summary = await replay(
        { functions: aws.functions, objects: aws.auditObjects(stage.auditBucketName) },
        {
          consumer,
          functionName: names.functionName,
          ordersTableName: stage.ordersTableName,
          ordersStreamArn: stage.ordersStreamArn,
          region,
        },
        { window, dryRun, progress: (line) => context.io.stderr(`${line}\n`) },
      );
      const resume = (resumeFrom: string): string =>
        `npm run ops -- replay ${consumer} --from ${resumeFrom} --to ${summary.to} --stage ${stage.stage}` +
        (context.region === undefined ? '' : ` --region ${context.region}`);
      writeResult(
        context.io,
        args.json,
        { stage: stage.stage, ...replayJson(summary) },
        describeReplay(summary, resume),
      );
      return summary.ok ? EXIT_OK : EXIT_ATTENTION;
    };
  },
};
