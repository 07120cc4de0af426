import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { z } from 'zod';

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

/** Context keys that may override the selected stage's preset from the command line (`-c key=value`). */
const OVERRIDABLE_KEYS = [
  'alarmEmail',
  'emailFromAddress',
  'emailIdentity',
  'logRetentionDays',
  'apiThrottleRateLimit',
  'apiThrottleBurstLimit',
  'functionMemoryMb',
  'manageApiGatewayLoggingRole',
] as const;

const NUMERIC_KEYS = new Set<string>([
  'logRetentionDays',
  'apiThrottleRateLimit',
  'apiThrottleBurstLimit',
  'functionMemoryMb',
]);

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

const BOOLEAN_KEYS = new Set<string>(['manageApiGatewayLoggingRole']);

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
  // An empty alarm e-mail (`-c alarmEmail=`) means "no subscription", not an invalid address.
  if (input.alarmEmail === '' || input.alarmEmail === null) {
    delete input.alarmEmail;
  }
  // Likewise an empty identity (`-c emailIdentity=`) means "the From address's domain", the default.
  if (input.emailIdentity === '' || input.emailIdentity === null) {
    delete input.emailIdentity;
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
  return { ...result.data, emailIdentity };
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
