import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import * as z from 'zod';

/** OpenSearch Service instance types: `<family>.<size>.search`. */
const SEARCH_INSTANCE_TYPE = /^[a-z][a-z0-9]*\.[a-z0-9]+\.search$/;
const SEARCH_INSTANCE_TYPE_MESSAGE =
  'must be an OpenSearch Service instance type such as t3.small.search or r6g.large.search';

/**
 * Instance families that do not support encryption at rest, which fine-grained access control requires (aws-cdk-lib
 * refuses encryption at rest on them too).
 */
const SEARCH_FAMILIES_WITHOUT_ENCRYPTION = ['t2', 'm3', 'r3'];
/**
 * Instance families with instance storage and no EBS volumes (aws-cdk-lib's list); the domain here is built on gp3
 * EBS volumes of `searchVolumeGb`.
 */
const SEARCH_FAMILIES_WITHOUT_EBS = ['i3', 'r6gd', 'i4g', 'i4i', 'i8g', 'im4gn', 'r7gd', 'r8gd', 'oi2'];
/** Burstable families: no Multi-AZ with Standby (aws-cdk-lib refuses it on t3). */
const SEARCH_BURSTABLE_FAMILIES = ['t2', 't3'];

/** The Object Lock retention modes of the audit bucket. */
export const AUDIT_RETENTION_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
export type AuditRetentionMode = (typeof AUDIT_RETENTION_MODES)[number];

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const stageConfigSchema = z
  .object({
    stageName: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,19}$/,
        'must be 1-20 lowercase letters, digits or hyphens, starting with a letter',
      ),
    alarmEmail: z.email('must be an e-mail address').optional(),
    /**
     * The base of the runbook links in every alarm's description (`Runbook: <base>#<anchor>`): where operators read
     * docs/runbook.md, e.g. `https://github.com/<org>/<repo>/blob/main/docs/runbook.md`. Absent means the repository
     * path `docs/runbook.md`.
     */
    runbookBaseUrl: z
      .string()
      .regex(/^[^\s#]+$/, 'must be a URL or path without spaces or a fragment (#): the anchors are appended')
      .optional(),
    /** The From address of the order e-mails; it must belong to `emailIdentity`. */
    emailFromAddress: z.email('must be an e-mail address'),
    /**
     * The verified SES identity the From address belongs to: a domain (`example.com`) or an address. SES authorises
     * sending against the identity, so the function's grant names its ARN. Absent means the From address's domain.
     */
    emailIdentity: z
      .string()
      .refine((identity) => isEmailAddress(identity) || isDomainName(identity), {
        message: 'must be a domain name or an e-mail address (the verified SES identity)',
      })
      .optional(),
    logRetentionDays: z
      .number()
      .int()
      .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
        message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
      }),
    apiThrottleRateLimit: z.number().int().min(1).max(10_000),
    apiThrottleBurstLimit: z.number().int().min(1).max(5_000),
    functionMemoryMb: z.number().int().min(128).max(10_240),
    /**
     * Whether this stage's stack sets the API Gateway CloudWatch Logs role of the account and region. That setting is
     * one per account and region, shared by every REST API there, so at most one stage (or the platform team) may
     * own it; absent means false.
     */
    manageApiGatewayLoggingRole: z.boolean().optional(),
    /**
     * The instance type of the search domain's data nodes (`t3.small.search`, `r6g.large.search`). Burstable t3
     * types suit a development domain only: no Multi-AZ with Standby, no UltraWarm, CPU credits.
     */
    searchInstanceType: z.string().regex(SEARCH_INSTANCE_TYPE, SEARCH_INSTANCE_TYPE_MESSAGE),
    /** Data nodes of the search domain; a multiple of `searchZoneAwareness`. */
    searchInstanceCount: z.number().int().min(1).max(80),
    /**
     * The Availability Zones the search domain's data nodes (and the `orders` index's copies) spread over: 1 turns
     * zone awareness off, 2 or 3 turn it on.
     */
    searchZoneAwareness: z
      .number()
      .int()
      .refine((azs) => [1, 2, 3].includes(azs), {
        message: 'must be 1 (zone awareness off), 2 or 3 (Availability Zones the data nodes spread over)',
      }),
    /** The gp3 EBS volume of each data node, in GiB (the largest size depends on the instance type). */
    searchVolumeGb: z.number().int().min(10).max(16_384),
    /**
     * Dedicated master nodes: 0 (the data nodes elect a master among themselves), 3 or 5. Dedicated masters keep
     * cluster management off the data nodes, which matters once indexing and searches load them.
     */
    searchDedicatedMasterCount: z
      .number()
      .int()
      .refine((count) => [0, 3, 5].includes(count), {
        message: 'must be 0 (no dedicated master nodes), 3 or 5 (an odd quorum)',
      }),
    /** The instance type of the dedicated master nodes; used (and required) only when there are some. */
    searchDedicatedMasterInstanceType: z
      .string()
      .regex(SEARCH_INSTANCE_TYPE, SEARCH_INSTANCE_TYPE_MESSAGE)
      .optional(),
    /**
     * Multi-AZ with Standby: the data nodes of one of three zones stand by and take over within a minute when a zone
     * fails. Needs 3 zones, dedicated master nodes and a non-burstable instance type.
     */
    searchMultiAzWithStandby: z.boolean(),
    /**
     * Reserved concurrency of the search-sync function, off by default. A reservation caps the `_bulk` requests the
     * domain sees at once, but a new account whose concurrency quota is 10 refuses any reservation (Lambda keeps the
     * unreserved concurrency at its minimum), and one below the Orders stream's shard count throttles the sync for
     * good (at parallelization factor 1 every active shard needs one concurrent invocation). Set it only with
     * concurrency to spare and at least as many as the stream has shards.
     */
    searchSyncReservedConcurrency: z.number().int().min(1).max(1_000).optional(),
    /**
     * The IAM role (or user) that is the search domain's master user under fine-grained access control. Absent means
     * the stateful stack creates one, assumable by the account's principals that IAM allows to.
     */
    searchAdminRoleArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/,
        'must be the ARN of an IAM role or user (arn:aws:iam::<account>:role/<name>)',
      )
      .optional(),
    /**
     * The Object Lock mode of the audit bucket's default retention. GOVERNANCE: a principal with
     * s3:BypassGovernanceRetention can still delete or shorten a locked object version (fine for development).
     * COMPLIANCE: nobody can, not even the account root user, until the retention ends (production).
     */
    auditRetentionMode: z.enum(AUDIT_RETENTION_MODES, {
      message: `must be one of ${AUDIT_RETENTION_MODES.join(', ')}`,
    }),
    /**
     * Days every new audit object version is locked for (Object Lock default retention); S3 allows up to 36,500.
     * In COMPLIANCE mode this can never be shortened for objects already written.
     */
    auditRetentionDays: z.number().int().min(1).max(36_500),
    /**
     * Days after which audit objects move to S3 Glacier Instant Retrieval (still queryable by Athena, cheaper to
     * keep, dearer to read). Object Lock retention applies in every storage class.
     */
    auditColdStorageAfterDays: z.number().int().min(1).max(36_500),
  })
  .strict();

/**
 * The validated configuration of one deployment stage. `emailIdentity` is always set once validated: an absent one
 * defaults to the domain of `emailFromAddress`.
 */
export type StageConfig = Omit<z.infer<typeof stageConfigSchema>, 'emailIdentity'> & {
  readonly emailIdentity: string;
};

/** Thrown when the cdk.json context (or a -c override) does not describe a valid stage. */
export class StageConfigError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

/** A key of the stage configuration, as the schema declares it. */
export type StageConfigKey = keyof typeof stageConfigSchema.shape;

/** Every key of the stage configuration, in the schema's order: the lists below are derived from it. */
export const STAGE_CONFIG_KEYS: readonly StageConfigKey[] = Object.keys(
  stageConfigSchema.shape,
) as StageConfigKey[];

/** A key's schema type (`string`, `number`, `boolean`, `enum`...) under its `.optional()`, and whether it has one. */
function keySchema(key: StageConfigKey): { readonly type: string; readonly optional: boolean } {
  const schema: z.core.$ZodType = stageConfigSchema.shape[key];
  const inner = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
  return { type: inner._zod.def.type, optional: inner !== schema };
}

/**
 * Context keys that may override the selected stage's preset from the command line (`-c key=value`): every key but
 * `stageName`, which the `stage` context selects.
 */
const OVERRIDABLE_KEYS = STAGE_CONFIG_KEYS.filter((key) => key !== 'stageName');

/** Keys whose command-line string (`-c functionMemoryMb=1024`) is converted to a number before validation. */
const NUMERIC_KEYS: ReadonlySet<StageConfigKey> = new Set(
  STAGE_CONFIG_KEYS.filter((key) => keySchema(key).type === 'number'),
);

/**
 * Reads the stage configuration from the CDK context: `stage` selects a preset from `stages` in cdk.json, and any
 * key of the preset can be overridden with `-c key=value`. Values from the command line arrive as strings, so
 * numeric keys are converted before validation; a non-numeric string fails validation with the key's name.
 */
export function loadStageConfig(node: Node): StageConfig {
  const stageName = node.tryGetContext('stage') ?? 'dev';
  const presets: unknown = node.tryGetContext('stages') ?? {};
  if (typeof presets !== 'object' || presets === null) {
    throw new StageConfigError('Invalid context "stages": must be an object of stage presets');
  }
  const preset = (presets as Record<string, unknown>)[stageName];
  if (preset === undefined) {
    const known = Object.keys(presets).join(', ') || 'none';
    throw new StageConfigError(
      `Invalid context "stage": no preset "${stageName}" in "stages" (known: ${known})`,
    );
  }
  const merged: Record<string, unknown> = { ...(preset as Record<string, unknown>), stageName };
  for (const key of OVERRIDABLE_KEYS) {
    const value = node.tryGetContext(key);
    if (value !== undefined) {
      merged[key] = value;
    }
  }
  return parseStageConfig(merged);
}

/** Keys whose command-line string `true` or `false` is converted to a boolean before validation. */
const BOOLEAN_KEYS: ReadonlySet<StageConfigKey> = new Set(
  STAGE_CONFIG_KEYS.filter((key) => keySchema(key).type === 'boolean'),
);

/**
 * Optional string keys, whose empty value on the command line (`-c key=`) means "unset", the default. An empty
 * optional number or boolean is not a value of its type and fails validation with the key's name.
 */
const UNSET_WHEN_EMPTY = STAGE_CONFIG_KEYS.filter((key) => {
  const { type, optional } = keySchema(key);
  return optional && type === 'string';
});

/** Validates a raw stage configuration, naming the first offending key in the error. */
export function parseStageConfig(raw: Record<string, unknown>): StageConfig {
  const input: Record<string, unknown> = { ...raw };
  for (const key of NUMERIC_KEYS) {
    const value = input[key];
    if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) {
      input[key] = Number(value);
    }
  }
  // `-c key=true` arrives as a string too; anything but the two literals is left for validation to reject.
  for (const key of BOOLEAN_KEYS) {
    const value = input[key];
    if (value === 'true' || value === 'false') {
      input[key] = value === 'true';
    }
  }
  // An empty alarm e-mail (`-c alarmEmail=`) means "no subscription", not an invalid address; likewise an empty
  // identity means "the From address's domain", an empty admin role "create one", and so on: each key's default.
  for (const key of UNSET_WHEN_EMPTY) {
    if (input[key] === '' || input[key] === null) {
      delete input[key];
    }
  }
  const result = stageConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.join('.') || '(root)';
    throw new StageConfigError(`Invalid context "${key}": ${issue.message}`);
  }
  if (result.data.apiThrottleBurstLimit < 1) {
    throw new StageConfigError('Invalid context "apiThrottleBurstLimit": must be at least 1');
  }
  // Domain names are case-insensitive but IAM compares resource ARNs as written: one spelling (lower case) keeps the
  // identity ARN of the function's grant the same whatever case the context used.
  const identity = result.data.emailIdentity ?? domainOf(result.data.emailFromAddress);
  const emailIdentity = identity.includes('@') ? identity : identity.toLowerCase();
  if (!identityCovers(emailIdentity, result.data.emailFromAddress)) {
    throw new StageConfigError(
      `Invalid context "emailIdentity": "${emailIdentity}" does not cover the From address ` +
        `"${result.data.emailFromAddress}" (emailFromAddress); use that address or its domain`,
    );
  }
  const searchProblem = searchClusterProblems(result.data)[0];
  if (searchProblem !== undefined) {
    throw new StageConfigError(`Invalid context "${searchProblem.key}": ${searchProblem.problem}`);
  }
  return { ...result.data, emailIdentity };
}

/** The search cluster keys of a stage, as {@link searchClusterProblems} checks them. */
export type SearchClusterConfig = Pick<
  StageConfig,
  | 'searchInstanceType'
  | 'searchInstanceCount'
  | 'searchZoneAwareness'
  | 'searchDedicatedMasterCount'
  | 'searchDedicatedMasterInstanceType'
  | 'searchMultiAzWithStandby'
>;

/** One thing wrong with a search cluster configuration: the key at fault and why. */
export interface SearchClusterProblem {
  readonly key: keyof SearchClusterConfig;
  readonly problem: string;
}

/**
 * What OpenSearch Service (or aws-cdk-lib, at synth) would refuse in a search cluster configuration whose keys are
 * each valid on their own, in the order the keys are checked. Shared by the stage config, which names the context
 * key, and the SearchDomain construct, which names its prop: a deploy should never be the first to find out.
 */
export function searchClusterProblems(cluster: SearchClusterConfig): SearchClusterProblem[] {
  const problems: SearchClusterProblem[] = [];
  const family = cluster.searchInstanceType.split('.')[0] ?? '';
  if (SEARCH_FAMILIES_WITHOUT_ENCRYPTION.includes(family)) {
    problems.push({
      key: 'searchInstanceType',
      problem:
        `${cluster.searchInstanceType} does not support encryption at rest, which fine-grained access control ` +
        'requires; use t3.small.search or larger',
    });
  }
  if (SEARCH_FAMILIES_WITHOUT_EBS.includes(family)) {
    problems.push({
      key: 'searchInstanceType',
      problem:
        `${cluster.searchInstanceType} has instance storage and no EBS volumes; the domain uses gp3 EBS volumes ` +
        '(searchVolumeGb): choose an EBS-backed type',
    });
  }
  // Zone awareness places the same number of nodes in each zone (OpenSearch Service refuses anything else).
  if (cluster.searchInstanceCount % cluster.searchZoneAwareness !== 0) {
    problems.push({
      key: 'searchInstanceCount',
      problem:
        `must be a multiple of searchZoneAwareness (${cluster.searchZoneAwareness}): every Availability Zone ` +
        `holds the same number of data nodes, got ${cluster.searchInstanceCount}`,
    });
  }
  if (cluster.searchDedicatedMasterCount > 0 && cluster.searchDedicatedMasterInstanceType === undefined) {
    problems.push({
      key: 'searchDedicatedMasterInstanceType',
      problem: `is required when searchDedicatedMasterCount is ${cluster.searchDedicatedMasterCount}`,
    });
  }
  if (cluster.searchMultiAzWithStandby) {
    if (cluster.searchZoneAwareness !== 3) {
      problems.push({
        key: 'searchMultiAzWithStandby',
        problem: `needs searchZoneAwareness 3 (two active zones and one standby), got ${cluster.searchZoneAwareness}`,
      });
    }
    if (cluster.searchDedicatedMasterCount === 0) {
      problems.push({
        key: 'searchMultiAzWithStandby',
        problem: 'needs dedicated master nodes (searchDedicatedMasterCount 3 or 5)',
      });
    }
    if (SEARCH_BURSTABLE_FAMILIES.includes(family)) {
      problems.push({
        key: 'searchMultiAzWithStandby',
        problem: `is not available on burstable instance types such as ${cluster.searchInstanceType}`,
      });
    }
  }
  return problems;
}

/** Whether an identity is an e-mail address, by the same rule the From address is checked with. */
function isEmailAddress(value: string): boolean {
  return z.email().safeParse(value).success;
}

/** A DNS name of at least two labels: letters, digits and inner hyphens, at most 253 characters. */
function isDomainName(value: string): boolean {
  return /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i.test(
    value,
  );
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/**
 * Whether `address` belongs to the identity: it is the identity, or an address at the identity's domain. Subdomains
 * are refused on purpose: the function's grant names exactly this identity's ARN, so an address at another
 * (sub)domain would pass synth and fail every send with AccessDenied.
 */
function identityCovers(identity: string, address: string): boolean {
  const lowerIdentity = identity.toLowerCase();
  if (lowerIdentity.includes('@')) {
    return lowerIdentity === address.toLowerCase();
  }
  return domainOf(address).toLowerCase() === lowerIdentity;
}

/**
 * The stage's log retention as the CDK enum, whose values are the retention periods in days. A validated config
 * always has one of LOG_RETENTION_DAYS; the check guards hand-built ones, and keeps out the enum's INFINITE, which
 * a stage must never get by accident.
 */
export function logRetention(config: Pick<StageConfig, 'logRetentionDays'>): RetentionDays {
  const days = config.logRetentionDays;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
    throw new StageConfigError(
      `Invalid context "logRetentionDays": ${days} is not a CloudWatch Logs retention period`,
    );
  }
  return days as RetentionDays;
}
