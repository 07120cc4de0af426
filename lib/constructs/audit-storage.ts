import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectLockRetention,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AUDIT_RETENTION_MODES, type StageConfig } from '../config.js';
import { iamWildcardResourceFinding } from './nag-findings.js';
import { InvalidPropsError, requireIntegerInRange } from './props-validation.js';

/** The defaults of {@link AuditStorageProps}, each with its reason. */
export const AUDIT_STORAGE_DEFAULTS = {
  /**
   * The Athena table over the Orders table's audit objects: `SELECT * FROM audit WHERE dt = ... AND orderid = ...`.
   * Its companion `<tableName>_lines` holds each whole line as text, images included.
   */
  tableName: 'audit',
  /**
   * The first day partition projection offers (`projection.dt.range` is `<this>,NOW`): no audit object is older.
   * Queries without a `dt` filter enumerate every day from here, so it should not lie far before the first deploy.
   */
  projectionStartDate: '2024-01-01',
  /**
   * Days the server access logs of the audit bucket are kept: a year of who read or wrote the audit log, enough to
   * answer an auditor's question about the last annual period.
   */
  accessLogsRetentionDays: 365,
} as const;

/**
 * The SerDe of the audit table: the Hive JSON SerDe. Not the OpenX JSON SerDe, whose Athena documentation warns that
 * row counts and values can be non-deterministic. The Hive SerDe matches columns to the line's top-level keys without
 * regard to case (so the columns are the keys in lowercase: it has no `mapping.<column>` properties) and fails a query
 * on a nested object in a `string` column, so the audit table declares the scalar fields only; the images are read
 * through the lines table.
 */
export const AUDIT_SERDE = 'org.apache.hive.hcatalog.data.JsonSerDe';

/**
 * The SerDe of the lines table: plain text, one row per line, one column. Its field delimiter is U+0001, a character
 * that a serialized audit line never holds (JSON escapes every control character), so each line is one whole field;
 * no escape character is set, so nothing in the line is rewritten.
 */
export const AUDIT_LINES_SERDE = 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe';

/** The field delimiter of the lines table; {@link AUDIT_LINES_SERDE} says why it never splits a line. */
export const AUDIT_LINES_DELIMITER = '\u0001';

/** The lines table of an audit table: `<tableName>_lines`. */
export function auditLinesTableName(tableName: string): string {
  return `${tableName}_lines`;
}

/** The S3 key prefix of one source table's audit objects, as the audit-log consumer writes them. */
export function auditTablePrefix(tableName: string): string {
  return `table=${tableName}/`;
}

/** The Glue (Athena) database name of a stage: lowercase letters, digits and underscores only. */
export function auditDatabaseName(stageName: string): string {
  return `orders_audit_${stageName.replace(/-/g, '_')}`;
}

export interface AuditStorageProps {
  /** The validated stage configuration: `auditRetentionMode`, `auditRetentionDays`, `auditColdStorageAfterDays`. */
  readonly config: StageConfig;
  /** The Orders table: its audit objects live under `table=<its name>/`, which the Athena table reads. */
  readonly ordersTable: ITable;
  /**
   * Removal policy of the audit bucket, its key and the access logs bucket. The audit log is evidence: it outlives
   * a stack deletion (and Object Lock would refuse to empty the bucket anyway).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The Glue database (Athena catalog database); lowercase letters, digits and underscores, 1-255 characters.
   * @default auditDatabaseName(config.stageName), `orders_audit_<stage>`
   */
  readonly databaseName?: string;
  /**
   * The Glue table over the Orders table's audit objects; lowercase letters, digits and underscores.
   * @default AUDIT_STORAGE_DEFAULTS.tableName (`audit`)
   */
  readonly tableName?: string;
  /**
   * The first day (yyyy-MM-dd) of the `dt` partition projection.
   * @default AUDIT_STORAGE_DEFAULTS.projectionStartDate (2024-01-01)
   */
  readonly projectionStartDate?: string;
  /**
   * Days server access log objects are kept (1 to 36,500).
   * @default AUDIT_STORAGE_DEFAULTS.accessLogsRetentionDays (365)
   */
  readonly accessLogsRetentionDays?: number;
}

/**
 * The audit log's storage, in the stateful stack: the audit bucket, its key, the bucket its server access logs go to,
 * and a Glue database and table that let Athena query the Orders table's audit objects right after deploy.
 *
 * Audit bucket. Object Lock with a default retention (mode and days from the stage: GOVERNANCE in dev, COMPLIANCE in
 * prod), hence versioning; SSE-KMS with a rotating customer-managed key and S3 Bucket Keys (one KMS call per bucket
 * key rather than per object); TLS 1.2+ only; all public access blocked; bucket owner owns every object (ACLs off);
 * server access logs to {@link accessLogsBucket}. After `auditColdStorageAfterDays` objects move to S3 Glacier
 * Instant Retrieval, which Athena still reads (it skips S3 Glacier Flexible Retrieval and Deep Archive objects, so
 * the audit log is never moved there). S3 lifecycle transitions no objects under 128 KiB by default: small batch
 * objects stay in S3 Standard, where they cost less than the 128 KiB minimum Glacier IR bills. Retention applies in
 * every storage class; nothing expires the audit objects (deleting them after the retention is a decision for
 * later, not a default).
 *
 * Access logs bucket. SSE-S3 (server access logging cannot deliver to an SSE-KMS bucket), versioned, TLS only,
 * public access blocked, written by the S3 logging service through its bucket policy; logs expire after
 * `accessLogsRetentionDays` and their noncurrent versions 30 days later.
 *
 * Athena. Two Glue tables read the gzipped JSON Lines objects under `table=<Orders table name>/`, both with partition
 * projection on `dt` (date, yyyy-MM-dd) and `hour` (00-23), so no crawler and no `MSCK REPAIR` is needed:
 * - `audit` ({@link AUDIT_SERDE}): the line's scalar fields as columns named by their keys in lowercase (`orderid`,
 *   `eventname`, `changedattributes`, ...); `approximatecreationtime` is ISO-8601 text (`from_iso8601_timestamp`);
 * - `audit_lines` ({@link AUDIT_LINES_SERDE}): one column `line`, the whole line as text, read with `json_extract`
 *   (`json_extract_scalar(line, '$.newImage.status.S')`).
 * Readers need s3:GetObject on the bucket and kms:Decrypt on {@link key} through IAM; the key policy is CDK's default
 * (the account, through IAM).
 */
export class AuditStorage extends Construct {
  /** The audit bucket (Object Lock, SSE-KMS). */
  public readonly bucket: Bucket;
  /** The audit bucket's name (a token). */
  public readonly bucketName: string;
  /** Encrypts the audit bucket's objects. */
  public readonly key: Key;
  /** Receives the audit bucket's server access logs (SSE-S3). */
  public readonly accessLogsBucket: Bucket;
  public readonly glueDatabase: CfnDatabase;
  /** The audit table: the scalar fields of each line as columns. */
  public readonly glueTable: CfnTable;
  /** The lines table: each whole line as one text column. */
  public readonly linesGlueTable: CfnTable;
  /** The Glue (Athena) database name, a literal. */
  public readonly databaseName: string;
  /** The Glue (Athena) table name of the Orders table's audit log, a literal. */
  public readonly tableName: string;
  /** The Glue (Athena) name of the lines table, `<tableName>_lines`, a literal. */
  public readonly linesTableName: string;
  /** The key prefix of the Orders table's audit objects, `table=<Orders table name>/`. */
  public readonly ordersPrefix: string;
  /**
   * The only write access to the audit log there is: s3:PutObject under {@link ordersPrefix}, and the bucket's key
   * through S3 for this bucket only. No read, no delete, no retention or legal-hold change, no other prefix. It lives
   * here, beside the bucket, so that whoever reviews the data stack sees every write permission the evidence has;
   * the audit-log consumer's role attaches it (`BaseFunction.bindBucketWriter`).
   */
  public readonly writerPolicy: ManagedPolicy;

  public constructor(scope: Construct, id: string, props: AuditStorageProps) {
    super(scope, id);
    const { config } = props;
    this.databaseName = props.databaseName ?? auditDatabaseName(config.stageName);
    this.tableName = props.tableName ?? AUDIT_STORAGE_DEFAULTS.tableName;
    this.linesTableName = auditLinesTableName(this.tableName);
    const projectionStartDate = props.projectionStartDate ?? AUDIT_STORAGE_DEFAULTS.projectionStartDate;
    const accessLogsRetentionDays =
      props.accessLogsRetentionDays ?? AUDIT_STORAGE_DEFAULTS.accessLogsRetentionDays;
    validateAuditStorageProps(this.node.path, props, {
      databaseName: this.databaseName,
      tableName: this.tableName,
      projectionStartDate,
      accessLogsRetentionDays,
    });
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const stack = Stack.of(this);

    this.key = new Key(this, 'Key', {
      description: 'Encrypts the audit log bucket',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      removalPolicy,
    });

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      // Server access logging delivers to SSE-S3 (or unencrypted) target buckets only, not SSE-KMS ones.
      encryption: BucketEncryption.S3_MANAGED,
      versioned: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'ExpireOldAccessLogs',
          expiration: Duration.days(accessLogsRetentionDays),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        // A separate rule: S3 refuses ExpiredObjectDeleteMarker next to an expiration in days.
        { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
      ],
      removalPolicy,
    });
    // No AwsSolutions-S1 finding to acknowledge here: cdk-nag counts a bucket that receives another bucket's server
    // access logs as compliant. Its own accesses are not logged (that would need a log bucket for the log bucket);
    // CloudTrail data events, where the account enables them, record reads and deletes of it.

    this.bucket = new Bucket(this, 'Bucket', {
      objectLockEnabled: true,
      objectLockDefaultRetention: objectLockRetention(config),
      versioned: true,
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'audit-bucket/',
      lifecycleRules: [
        {
          id: 'ColdStorage',
          transitions: [
            {
              storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(config.auditColdStorageAfterDays),
            },
          ],
          // Versions made noncurrent (only by an overwrite or delete of a key, which the writer never does) go cold too.
          noncurrentVersionTransitions: [
            {
              storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(config.auditColdStorageAfterDays),
            },
          ],
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy,
    });

    this.bucketName = this.bucket.bucketName;
    const ordersPrefix = auditTablePrefix(props.ordersTable.tableName);
    this.ordersPrefix = ordersPrefix;
    const location = `s3://${this.bucket.bucketName}/${ordersPrefix}`;
    this.writerPolicy = this.createWriterPolicy(ordersPrefix);

    this.glueDatabase = new CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: this.databaseName,
        description: `The order pipelines' audit log (${config.stageName}), queried with Athena`,
      },
    });

    const partitioned = (
      name: string,
      description: string,
      serdeInfo: CfnTable.SerdeInfoProperty,
      columns: readonly CfnTable.ColumnProperty[],
    ): CfnTable.TableInputProperty => ({
      name,
      description,
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        classification: 'json',
        compressionType: 'gzip',
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': `${projectionStartDate},NOW`,
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
        'projection.hour.type': 'integer',
        'projection.hour.range': '0,23',
        'projection.hour.digits': '2',
        'storage.location.template': `${location}dt=\${dt}/hour=\${hour}/`,
      },
      partitionKeys: [
        { name: 'dt', type: 'string', comment: 'UTC day of the batch, yyyy-MM-dd' },
        { name: 'hour', type: 'string', comment: 'UTC hour of the batch, 00-23' },
      ],
      storageDescriptor: {
        location,
        inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        compressed: true,
        serdeInfo,
        columns: [...columns],
      },
    });

    this.glueTable = new CfnTable(this, 'OrdersTable', {
      catalogId: stack.account,
      // The reference (not the literal) orders the table after its database.
      databaseName: this.glueDatabase.ref,
      tableInput: partitioned(
        this.tableName,
        'Every change of the Orders table, one row per stream record (audit-log consumer); images in the lines table',
        { serializationLibrary: AUDIT_SERDE },
        AUDIT_COLUMNS.map(({ field, type, comment }) => ({ name: field.toLowerCase(), type, comment })),
      ),
    });
    this.linesGlueTable = new CfnTable(this, 'OrdersLinesTable', {
      catalogId: stack.account,
      databaseName: this.glueDatabase.ref,
      tableInput: partitioned(
        this.linesTableName,
        'Every change of the Orders table, one whole JSON line per stream record, images included',
        {
          serializationLibrary: AUDIT_LINES_SERDE,
          parameters: {
            'field.delim': AUDIT_LINES_DELIMITER,
            'serialization.format': AUDIT_LINES_DELIMITER,
          },
        },
        [{ name: 'line', type: 'string', comment: 'The audit line, JSON: read it with json_extract' }],
      ),
    });

    new CfnOutput(this, 'BucketName', {
      description: 'The audit log bucket (Object Lock)',
      value: this.bucket.bucketName,
    });
    new CfnOutput(this, 'AthenaDatabase', {
      description: 'The Glue (Athena) database of the audit log',
      value: this.databaseName,
    });
    new CfnOutput(this, 'AthenaTable', {
      description: "The Athena table of the Orders table's audit log",
      value: this.tableName,
    });
    new CfnOutput(this, 'AthenaLinesTable', {
      description: "The Athena table of the Orders table's audit lines as whole JSON text, images included",
      value: this.linesTableName,
    });
  }

  /**
   * s3:PutObject on `<bucket>/<prefix>*`, only with an If-None-Match header (S3's `s3:if-none-match` condition key;
   * the SHA-256 checksum needs nothing more, and the bucket's
   * default retention applies without s3:PutObjectRetention), and kms:GenerateDataKey and kms:Decrypt on the key
   * only through S3 and only for this bucket: with S3 Bucket Keys the encryption context is the bucket's ARN, without
   * them the object's, so both are allowed. The one wildcard (the object keys under the prefix) is acknowledged here.
   */
  private createWriterPolicy(prefix: string): ManagedPolicy {
    const stack = Stack.of(this);
    const objects = this.bucket.arnForObjects(`${prefix}*`);
    const policy = new ManagedPolicy(this, 'WriterPolicy', {
      description: 'Creates audit objects of the Orders table (audit-log consumer): no read, no delete',
      statements: [
        // Only a conditional create (If-None-Match): the writer cannot overwrite a key, not even with a new version.
        new PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [objects],
          conditions: { Null: { 's3:if-none-match': 'false' } },
        }),
        new PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [this.key.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}` },
            StringLike: { 'kms:EncryptionContext:aws:s3:arn': [this.bucket.bucketArn, objects] },
          },
        }),
      ],
    });
    Validations.of(policy).acknowledge({
      id: iamWildcardResourceFinding(policy, objects),
      reason:
        "Audit object keys are derived from each batch's stream positions: the writer may create any key under " +
        "the Orders table's prefix, and nothing else (no read, no delete, no other prefix).",
    });
    return policy;
  }
}

/**
 * The columns of the audit table: the line's scalar fields (and the array of changed names), each column named by its
 * field in lowercase, which is how the Hive JSON SerDe matches them. `keys`, `oldImage` and `newImage` are JSON
 * objects of any shape, which no Hive column type describes and the SerDe refuses in a `string` column: they are read
 * from the lines table.
 */
export const AUDIT_COLUMNS: ReadonlyArray<{
  readonly field: string;
  readonly type: string;
  readonly comment: string;
}> = [
  {
    field: 'eventId',
    type: 'string',
    comment: 'The stream record eventID; drop duplicates by it',
  },
  { field: 'eventName', type: 'string', comment: 'INSERT, MODIFY or REMOVE' },
  { field: 'sequenceNumber', type: 'string', comment: 'The stream sequence number' },
  {
    field: 'approximateCreationTime',
    type: 'string',
    comment: 'ISO-8601; from_iso8601_timestamp() makes it a timestamp',
  },
  { field: 'orderId', type: 'string', comment: 'The orderId key, top-level in the line' },
  {
    field: 'changedAttributes',
    type: 'array<string>',
    comment: 'Names of the attributes the change set, altered or removed',
  },
  { field: 'actor', type: 'string', comment: 'user, or ttl for a TTL delete' },
];

function objectLockRetention(config: StageConfig): ObjectLockRetention {
  const duration = Duration.days(config.auditRetentionDays);
  return config.auditRetentionMode === 'COMPLIANCE'
    ? ObjectLockRetention.compliance(duration)
    : ObjectLockRetention.governance(duration);
}

const GLUE_NAME = /^[a-z0-9_]{1,255}$/;

/** What the construct needs beyond what the stage config's own validation guarantees. */
function validateAuditStorageProps(
  path: string,
  props: AuditStorageProps,
  resolved: {
    readonly databaseName: string;
    readonly tableName: string;
    readonly projectionStartDate: string;
    readonly accessLogsRetentionDays: number;
  },
): void {
  if (!(AUDIT_RETENTION_MODES as readonly string[]).includes(props.config.auditRetentionMode)) {
    throw new InvalidPropsError(
      path,
      'config.auditRetentionMode',
      `must be one of ${AUDIT_RETENTION_MODES.join(', ')}, got "${String(props.config.auditRetentionMode)}"`,
    );
  }
  requireIntegerInRange(path, 'config.auditRetentionDays', props.config.auditRetentionDays, {
    min: 1,
    max: 36_500,
    hint: 'S3 Object Lock default retention',
  });
  requireIntegerInRange(path, 'config.auditColdStorageAfterDays', props.config.auditColdStorageAfterDays, {
    min: 1,
    max: 36_500,
  });
  requireIntegerInRange(path, 'accessLogsRetentionDays', resolved.accessLogsRetentionDays, {
    min: 1,
    max: 36_500,
  });
  for (const [prop, name] of [
    ['databaseName', resolved.databaseName],
    ['tableName', resolved.tableName],
    // The lines table's name must be a Glue name as well: this bounds the table name to 249 characters.
    ['tableName', auditLinesTableName(resolved.tableName)],
  ] as const) {
    if (!GLUE_NAME.test(name)) {
      throw new InvalidPropsError(
        path,
        prop,
        `must be 1-255 lowercase letters, digits or underscores (Athena), got "${name}"`,
      );
    }
  }
  const date = resolved.projectionStartDate;
  const parsed = new Date(`${date}T00:00:00Z`);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(date) ||
    Number.isNaN(parsed.getTime()) ||
    parsed.toISOString().slice(0, 10) !== date
  ) {
    throw new InvalidPropsError(path, 'projectionStartDate', `must be a date as yyyy-MM-dd, got "${date}"`);
  }
}
