import {
  integerFlag,
  parseFlags,
  positiveNumberFlag,
  requiredFlag,
  UsageError,
  urlFlag,
} from '../cli/flags.js';

/** What a reconcile run does, whichever command line asked for it (this CLI's or `npm run ops -- reconcile votes`). */
export interface ReconcileChoices {
  /** One poll; undefined = every poll. */
  readonly poll: string | undefined;
  readonly fix: boolean;
  readonly segments: number;
  readonly waitSeconds: number;
  readonly attempts: number;
}

/** What the command line decides of a `npm run reconcile:votes` run. */
export interface ReconcileCliOptions extends ReconcileChoices {
  readonly votesTable: string;
  readonly resultsTable: string;
  /**
   * Only when given: otherwise the SDK resolves it (AWS_REGION), or with --endpoint DynamoDB Local's dummy region is
   * used, as an environment's region would put the tables in another namespace of DynamoDB Local.
   */
  readonly region: string | undefined;
  /** A DynamoDB endpoint such as DynamoDB Local's (reached with dummy credentials); undefined = the region's. */
  readonly endpoint: string | undefined;
  readonly json: boolean;
}

export const RECONCILE_DEFAULTS = { segments: 4, waitSeconds: 60, attempts: 3 } as const;

/** DynamoDB's limit on TotalSegments is 1,000,000; far beyond any useful parallelism of one process. */
export const MAX_SEGMENTS = 1_000;
/** More attempts than this on a poll that stays busy only adds markers to a stream that is already busy. */
export const MAX_ATTEMPTS = 100;

/** What a reconcile does, for the usage of both command lines. */
export const RECONCILE_DESCRIPTION = `Recounts the votes of every poll (a parallel Scan of the Votes table, strongly consistent) or of one poll (--poll: a
Query with ConsistentRead), reads PollResults (a parallel Scan, so polls with results but no votes are found too, or
one GetItem), and reports per poll the stored counts and total against the recount, the drift per option and of the
total (stored - recounted), and the watermark (lastSeq) and asOf. Under live traffic a report can show drift that is
only in flight: votes written but not yet applied by the vote aggregator. --fix tells the two apart.

--fix, per drifting poll, without racing the aggregator (the only writer of PollResults, which applies a poll's
records in stream order):
  a. put marker M1 (the Votes item {pollId, voterId "#reconcile", token, requestedAt}) and wait until the aggregator
     has applied it (PollResults reconcileToken = M1's token; read every 500 ms, consistent): every record of the
     poll before M1 is applied. Read records (r1).
  b. recount the poll (Query, ConsistentRead).
  c. put marker M2 and wait the same way; read records (r2), the watermark lastSeq (L2), counts and total.
  d. r2 = r1 + 1: nothing but M2 was applied between the markers, so no vote was written between them (a poll's
     records share a partition key and keep their order) and the recount is exactly the state the item describes.
     If they differ, one UpdateItem SET counts, total on the condition lastSeq = L2: it fails if the aggregator
     applied anything since. Votes between the markers (r2 > r1 + 1) or a failed condition: the poll is busy and the
     protocol runs again, up to --attempts times; then the poll is reported busy and nothing is written.
  e. nothing is deleted: the marker item stays, one per poll, replaced by the next run's.
  A marker not applied within --wait-seconds: the poll is reported not fixed (aggregator not caught up).
A poll whose drift was in flight comes out of (d) with nothing to write.`;

/** The flags of ReconcileChoices, for the usage of both command lines. */
export const RECONCILE_CHOICE_FLAGS = `  --poll <id>              only this poll
  --fix                    fix every drifting poll as above
  --segments <n>           parallel scan segments without --poll (default ${RECONCILE_DEFAULTS.segments}, at most ${MAX_SEGMENTS})
  --wait-seconds <s>       with --fix: how long to wait for the aggregator to apply a marker (default ${RECONCILE_DEFAULTS.waitSeconds})
  --attempts <n>           with --fix: how often the protocol runs for a busy poll (default ${RECONCILE_DEFAULTS.attempts}, at most ${MAX_ATTEMPTS})`;

/** The exit codes of a reconcile run, for the usage of both command lines. */
export const RECONCILE_EXIT_CODES = `Exit code: 0 when no drift is left (after the fixes), 1 when drift remains or a fix could not be made (or the run
failed), 2 for a bad flag.`;

export const RECONCILE_USAGE = `Usage: npm run reconcile:votes -- --votes-table <name> --results-table <name> [--poll <id>] [--fix] [options]

${RECONCILE_DESCRIPTION}
For a deployed stage, \`npm run ops -- reconcile votes --stage <stage>\` resolves the tables itself.

  --votes-table <name>     the Votes table (required)
  --results-table <name>   the PollResults table (required)
  --region <r>             the region (default: AWS_REGION)
  --endpoint <url>         a DynamoDB endpoint, e.g. DynamoDB Local at http://127.0.0.1:8000 (dummy credentials)
${RECONCILE_CHOICE_FLAGS}
  --json                   print one JSON summary as the last line of stdout
  --help                   this text

${RECONCILE_EXIT_CODES}`;

const OPTIONS = {
  'votes-table': { type: 'string' },
  'results-table': { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  poll: { type: 'string' },
  fix: { type: 'boolean' },
  segments: { type: 'string' },
  'wait-seconds': { type: 'string' },
  attempts: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

/** The flags both command lines share, as given (undefined: not given). */
export interface ReconcileChoiceFlags {
  readonly poll: string | undefined;
  readonly fix: boolean;
  readonly segments: string | undefined;
  readonly waitSeconds: string | undefined;
  readonly attempts: string | undefined;
}

/** Checks the flags both command lines share; every error names the flag at fault. */
export function reconcileChoices(flags: ReconcileChoiceFlags): ReconcileChoices {
  if (flags.poll !== undefined && flags.poll.trim() === '') {
    throw new UsageError('--poll must not be empty');
  }
  if (flags.poll !== undefined && flags.segments !== undefined) {
    throw new UsageError('--segments applies to the scan of every poll; --poll queries one poll');
  }
  const given = new Map([
    ['wait-seconds', flags.waitSeconds],
    ['attempts', flags.attempts],
  ]);
  for (const [flag, raw] of given) {
    if (!flags.fix && raw !== undefined) throw new UsageError(`--${flag} applies only with --fix`);
  }
  const segments = integerFlag('segments', flags.segments, RECONCILE_DEFAULTS.segments, 1);
  if (segments > MAX_SEGMENTS) {
    throw new UsageError(`--segments must be at most ${MAX_SEGMENTS}, got "${flags.segments}"`);
  }
  const attempts = integerFlag('attempts', flags.attempts, RECONCILE_DEFAULTS.attempts, 1);
  if (attempts > MAX_ATTEMPTS) {
    throw new UsageError(`--attempts must be at most ${MAX_ATTEMPTS}, got "${flags.attempts}"`);
  }
  return {
    poll: flags.poll,
    fix: flags.fix,
    segments,
    waitSeconds: positiveNumberFlag('wait-seconds', flags.waitSeconds, RECONCILE_DEFAULTS.waitSeconds),
    attempts,
  };
}

/** Parses the command line; every error names the flag at fault. */
export function parseReconcileArgs(argv: readonly string[]): ReconcileCliOptions | 'help' {
  const values = parseFlags(argv, OPTIONS);
  if (values.help) return 'help';
  const votesTable = requiredFlag('votes-table', values['votes-table'], "the Votes table's name");
  const resultsTable = requiredFlag('results-table', values['results-table'], "the PollResults table's name");
  if (values.region !== undefined && values.region.trim() === '') {
    throw new UsageError('--region must not be empty');
  }
  const choices = reconcileChoices({
    poll: values.poll,
    fix: values.fix ?? false,
    segments: values.segments,
    waitSeconds: values['wait-seconds'],
    attempts: values.attempts,
  });
  return {
    ...choices,
    votesTable,
    resultsTable,
    region: values.region,
    endpoint:
      values.endpoint === undefined
        ? undefined
        : urlFlag('endpoint', values.endpoint, 'http://127.0.0.1:8000').origin,
    json: values.json ?? false,
  };
}
