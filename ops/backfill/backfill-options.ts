import { integerFlag, parseFlags, requiredFlag, UsageError, urlFlag } from '../cli/flags.js';

/** What `npm run backfill:search` does: write the table into the index, only scan it, or compare the two. */
export type BackfillMode = 'write' | 'dry-run' | 'verify';

/** What the command line decides of a backfill run. */
export interface BackfillCliOptions extends BackfillChoices {
  /** The Orders table's name. */
  readonly table: string;
  /** The OpenSearch endpoint: scheme and host only. */
  readonly endpoint: string;
  /** The region for SigV4 and for DynamoDB (undefined: the SDK's own resolution, AWS_REGION). */
  readonly region: string | undefined;
  /** Sign OpenSearch requests with SigV4 (an IAM-authenticated Amazon OpenSearch Service domain). */
  readonly sign: boolean;
  /** DynamoDB Local (reached with dummy credentials); undefined = the region's DynamoDB. */
  readonly dynamodbEndpoint: string | undefined;
  readonly json: boolean;
}

export const BACKFILL_DEFAULTS = {
  segments: 4,
  /**
   * No replica: right for a single-node domain (the dev stage), where a replica could never be allocated. A
   * zone-aware domain wants one per further zone; the flag only matters when this run creates the index.
   */
  replicas: 0,
} as const;

/** DynamoDB's limit on TotalSegments is 1,000,000; far beyond any useful parallelism of one process. */
export const MAX_SEGMENTS = 1_000;

/** What a backfill does, for the usage of both command lines. */
export const BACKFILL_DESCRIPTION = `Scans the Orders table with parallel segments (strongly consistent) and writes every order into the OpenSearch
index "orders", one _bulk request per scanned page of up to 100 orders, with the same versioning as the search sync
(version_type=external_gte, version = the order's version): safe while the stream flows (an older write loses with
409, which counts as done) and idempotent when run again. The index is created first if it does not exist.
Progress goes to stderr.`;

/** The flags of BackfillChoices, for the usage of both command lines. */
export const BACKFILL_CHOICE_FLAGS = `  --segments <n>              parallel scan segments (default ${BACKFILL_DEFAULTS.segments}, at most ${MAX_SEGMENTS})
  --replicas <n>              replicas if this run creates the index (default ${BACKFILL_DEFAULTS.replicas}, a single-node
                              domain; a zone-aware one wants its zone count - 1); an existing index keeps its own
  --dry-run                   scan and report what would be written; write nothing
  --verify                    write nothing; compare table and index and report drift: orders missing from the
                              index, stale (index version < table version), ahead (index version > table version),
                              live documents of orders not in the table (a missed delete), tombstones of orders
                              that exist`;

/** The exit codes of a backfill run, for the usage of both command lines. */
export const BACKFILL_EXIT_CODES = `Exit code: 0 when everything was written (or, with --verify, when there is no drift), 1 when an order could not be
written or an item is not an order (with --verify: when there is drift), 2 for a bad flag.`;

export const BACKFILL_USAGE = `Usage: npm run backfill:search -- --table <name> --endpoint <url> [options]

${BACKFILL_DESCRIPTION}
For a deployed stage, \`npm run ops -- backfill search --stage <stage>\` resolves the table and the endpoint itself.

  --table <name>              the Orders table (required)
  --endpoint <url>            the OpenSearch endpoint, https://<host> (required)
  --region <r>                the region for SigV4 and DynamoDB (default: AWS_REGION)
  --no-sign                   do not sign requests (a local endpoint such as http://127.0.0.1:9200)
  --dynamodb-endpoint <url>   DynamoDB Local, e.g. http://127.0.0.1:8000 (with its dummy credentials)
${BACKFILL_CHOICE_FLAGS}
  --json                      print one JSON summary on stdout
  --help                      this text

${BACKFILL_EXIT_CODES}`;

const OPTIONS = {
  table: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  'no-sign': { type: 'boolean' },
  'dynamodb-endpoint': { type: 'string' },
  segments: { type: 'string' },
  replicas: { type: 'string' },
  'dry-run': { type: 'boolean' },
  verify: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

/** What a backfill run does, whichever command line asked for it (this CLI's or `npm run ops -- backfill search`). */
export interface BackfillChoices {
  readonly mode: BackfillMode;
  /** Parallel scan segments. */
  readonly segments: number;
  /** Replicas of the index when ensureOrdersIndex creates it. */
  readonly replicas: number;
}

/** The flags both command lines share, as given (undefined: not given). */
export interface BackfillChoiceFlags {
  readonly dryRun: boolean;
  readonly verify: boolean;
  readonly segments: string | undefined;
  readonly replicas: string | undefined;
}

/** Checks the flags both command lines share; every error names the flag at fault. */
export function backfillChoices(flags: BackfillChoiceFlags): BackfillChoices {
  if (flags.dryRun && flags.verify) {
    throw new UsageError('--dry-run and --verify cannot be combined: --verify writes nothing already');
  }
  const segments = integerFlag('segments', flags.segments, BACKFILL_DEFAULTS.segments, 1);
  if (segments > MAX_SEGMENTS) {
    throw new UsageError(`--segments must be at most ${MAX_SEGMENTS}, got "${flags.segments}"`);
  }
  return {
    mode: flags.dryRun ? 'dry-run' : flags.verify ? 'verify' : 'write',
    segments,
    replicas: integerFlag('replicas', flags.replicas, BACKFILL_DEFAULTS.replicas, 0),
  };
}

/**
 * Parses the command line; every error names the flag at fault. `env` supplies the default region (AWS_REGION, then
 * AWS_DEFAULT_REGION), which signing needs.
 */
export function parseBackfillArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): BackfillCliOptions | 'help' {
  const values = parseFlags(argv, OPTIONS);
  if (values.help) return 'help';
  const choices = backfillChoices({
    dryRun: values['dry-run'] ?? false,
    verify: values.verify ?? false,
    segments: values.segments,
    replicas: values.replicas,
  });
  const table = requiredFlag('table', values.table, "the Orders table's name");
  const endpoint = urlFlag(
    'endpoint',
    requiredFlag('endpoint', values.endpoint, 'the OpenSearch endpoint URL'),
  );
  const sign = !(values['no-sign'] ?? false);
  if (values.region !== undefined && values.region.trim() === '') {
    throw new UsageError('--region must not be empty');
  }
  const region = values.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
  if (sign && endpoint.protocol !== 'https:') {
    throw new UsageError(
      `--endpoint must be https to sign requests (an AWS domain is TLS only), got "${values.endpoint}"; ` +
        'add --no-sign for a local endpoint',
    );
  }
  if (sign && region === undefined) {
    throw new UsageError(
      '--region is required to sign requests (or set AWS_REGION); --no-sign for a local endpoint',
    );
  }
  const dynamodbEndpoint =
    values['dynamodb-endpoint'] === undefined
      ? undefined
      : urlFlag('dynamodb-endpoint', values['dynamodb-endpoint']).origin;
  return {
    ...choices,
    table,
    endpoint: endpoint.origin,
    region,
    sign,
    dynamodbEndpoint,
    json: values.json ?? false,
  };
}
