import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  type Projection,
  ResourceNotFoundException,
  type StreamViewType,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { CfnTemplate } from '../synth.js';

/** A secondary index as the local table needs it (capacity settings do not exist locally). */
export interface SecondaryIndexDefinition {
  readonly IndexName: string;
  readonly KeySchema: KeySchemaElement[];
  readonly Projection: Projection;
}

/** What a table of the synthesized template needs to behave the same in DynamoDB Local. */
export interface TableDefinition {
  /** The table's construct id, e.g. `Orders`: stable across stages and the key of {@link TableNames}. */
  readonly constructId: string;
  readonly logicalId: string;
  readonly keySchema: KeySchemaElement[];
  readonly attributeDefinitions: AttributeDefinition[];
  readonly globalSecondaryIndexes: SecondaryIndexDefinition[];
  readonly localSecondaryIndexes: SecondaryIndexDefinition[];
  /** Absent when the table has no stream. */
  readonly streamViewType?: StreamViewType;
  /** Absent when TTL is not enabled. */
  readonly timeToLiveAttribute?: string;
  /** As deployed; local tables are always created on demand, capacity does not exist in DynamoDB Local. */
  readonly billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
}

/** Construct id to local table name. */
export type TableNames = Readonly<Record<string, string>>;

/** The construct ids of the app's tables (lib/constructs/data-tables.ts). */
export const KNOWN_TABLE_IDS = ['Orders', 'Votes', 'PollResults', 'Inventory', 'Idempotency'] as const;
export type KnownTableId = (typeof KNOWN_TABLE_IDS)[number];

/** Thrown when a table resource uses a property whose behaviour the local table could not reproduce. */
export class UnsupportedTablePropertyError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UnsupportedTablePropertyError';
  }
}

/** Thrown when a template's tables cannot be named locally (no path metadata, or two tables with one construct id). */
export class TableIdentityError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'TableIdentityError';
  }
}

/** Thrown when a local table name would be rejected by DynamoDB. */
export class InvalidTableNameError extends Error {
  public constructor(name: string) {
    super(`Invalid table name "${name}": DynamoDB needs 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.'`);
    this.name = 'InvalidTableNameError';
  }
}

/** Thrown when a table that the code relies on is not among the created ones. */
export class MissingTableError extends Error {
  public constructor(id: string, names: TableNames) {
    super(`No table "${id}" among the created tables (${Object.keys(names).join(', ') || 'none'})`);
    this.name = 'MissingTableError';
  }
}

/**
 * Properties without a local effect, ignored on purpose: encryption, backups, deletion protection, tags, insights,
 * the storage class, access policies and capacity (DynamoDB Local neither throttles nor bills). `TableName` is
 * ignored because local tables are named by prefix and construct id, and the code receives names by environment.
 */
const ignored = z.unknown().optional();

const keySchemaSchema = z
  .array(z.strictObject({ AttributeName: z.string().min(1), KeyType: z.enum(['HASH', 'RANGE']) }))
  .min(1)
  .max(2);

const projectionSchema = z.strictObject({
  ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']).optional(),
  NonKeyAttributes: z.array(z.string().min(1)).optional(),
});

const globalIndexSchema = z.strictObject({
  IndexName: z.string().min(1),
  KeySchema: keySchemaSchema,
  Projection: projectionSchema,
  ContributorInsightsSpecification: ignored,
  ProvisionedThroughput: ignored,
  OnDemandThroughput: ignored,
  WarmThroughput: ignored,
});

const localIndexSchema = z.strictObject({
  IndexName: z.string().min(1),
  KeySchema: keySchemaSchema,
  Projection: projectionSchema,
});

// Strict: a property not listed here (e.g. KinesisStreamSpecification, ImportSourceSpecification, or one CloudFormation
// adds later) may change behaviour, so it fails loudly instead of producing a local table that silently differs.
const tablePropertiesSchema = z.strictObject({
  KeySchema: keySchemaSchema,
  AttributeDefinitions: z.array(
    z.strictObject({ AttributeName: z.string().min(1), AttributeType: z.enum(['S', 'N', 'B']) }),
  ),
  BillingMode: z.enum(['PAY_PER_REQUEST', 'PROVISIONED']).optional(),
  GlobalSecondaryIndexes: z.array(globalIndexSchema).optional(),
  LocalSecondaryIndexes: z.array(localIndexSchema).optional(),
  StreamSpecification: z
    .strictObject({
      StreamViewType: z.enum(['NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES', 'KEYS_ONLY']),
      ResourcePolicy: ignored,
    })
    .optional(),
  TimeToLiveSpecification: z
    .strictObject({ AttributeName: z.string().min(1).optional(), Enabled: z.boolean() })
    .optional(),
  SSESpecification: ignored,
  PointInTimeRecoverySpecification: ignored,
  DeletionProtectionEnabled: ignored,
  Tags: ignored,
  ContributorInsightsSpecification: ignored,
  TableClass: ignored,
  ProvisionedThroughput: ignored,
  OnDemandThroughput: ignored,
  WarmThroughput: ignored,
  ResourcePolicy: ignored,
  TableName: ignored,
});

/** Resource types that hold DynamoDB tables but are not read here: a template using them must not lose them silently. */
const UNSUPPORTED_TABLE_TYPES = new Set(['AWS::DynamoDB::GlobalTable']);

/**
 * Reads every `AWS::DynamoDB::Table` of a synthesized template into what a local table needs, so that local tables
 * always match what deploys. Throws on a property whose behaviour it does not understand.
 */
export function tableDefinitionsFromTemplate(template: CfnTemplate): TableDefinition[] {
  const definitions: TableDefinition[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (UNSUPPORTED_TABLE_TYPES.has(resource.Type)) {
      throw new UnsupportedTablePropertyError(
        `Resource ${logicalId} is an ${resource.Type}, which the local sandbox does not reproduce`,
      );
    }
    if (resource.Type !== 'AWS::DynamoDB::Table') {
      continue;
    }
    const constructId = constructIdOf(logicalId, resource.Metadata);
    const parsed = tablePropertiesSchema.safeParse(resource.Properties ?? {});
    if (!parsed.success) {
      throw new UnsupportedTablePropertyError(
        `Table ${constructId} (${logicalId}): ${parsed.error.issues.map(describeIssue).join('; ')}`,
      );
    }
    const props = parsed.data;
    const ttl = props.TimeToLiveSpecification;
    if (ttl?.Enabled === true && ttl.AttributeName === undefined) {
      throw new UnsupportedTablePropertyError(
        `Table ${constructId} (${logicalId}): TTL enabled without AttributeName`,
      );
    }
    definitions.push({
      constructId,
      logicalId,
      keySchema: props.KeySchema,
      attributeDefinitions: props.AttributeDefinitions,
      globalSecondaryIndexes: (props.GlobalSecondaryIndexes ?? []).map(toIndexDefinition),
      localSecondaryIndexes: (props.LocalSecondaryIndexes ?? []).map(toIndexDefinition),
      ...(props.StreamSpecification === undefined
        ? {}
        : { streamViewType: props.StreamSpecification.StreamViewType }),
      ...(ttl?.Enabled === true ? { timeToLiveAttribute: ttl.AttributeName } : {}),
      billingMode: props.BillingMode ?? 'PROVISIONED',
    });
  }
  const seen = new Map<string, string>();
  for (const { constructId, logicalId } of definitions) {
    const other = seen.get(constructId);
    if (other !== undefined) {
      throw new TableIdentityError(
        `Tables ${other} and ${logicalId} share the construct id "${constructId}": their local names would collide`,
      );
    }
    seen.set(constructId, logicalId);
  }
  return definitions;
}

/** The CreateTable request for a definition: on demand, with its indexes and stream. TTL is a separate call. */
export function createTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    KeySchema: definition.keySchema,
    AttributeDefinitions: definition.attributeDefinitions,
    BillingMode: 'PAY_PER_REQUEST',
    ...(definition.globalSecondaryIndexes.length > 0
      ? { GlobalSecondaryIndexes: definition.globalSecondaryIndexes }
      : {}),
    ...(definition.localSecondaryIndexes.length > 0
      ? { LocalSecondaryIndexes: definition.localSecondaryIndexes }
      : {}),
    ...(definition.streamViewType === undefined
      ? {}
      : { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.streamViewType } }),
  };
}

/** The local name of a table: `<prefix>-<constructId>`, validated against DynamoDB's naming rules. */
export function localTableName(prefix: string, constructId: string): string {
  const name = `${prefix}-${constructId}`;
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(name)) {
    throw new InvalidTableNameError(name);
  }
  return name;
}

/**
 * Creates the tables (named `<prefix>-<constructId>`), waits until they are ACTIVE and enables TTL where defined.
 * All or nothing: when one fails, the ones already created are deleted again, so a retry starts clean.
 */
export async function createTables(
  client: DynamoDBClient,
  definitions: readonly TableDefinition[],
  options: { readonly prefix: string },
): Promise<TableNames> {
  const named = definitions.map((definition) => ({
    definition,
    name: localTableName(options.prefix, definition.constructId),
  }));
  const results = await Promise.allSettled(
    named.map(({ definition, name }) => createTable(client, definition, name)),
  );
  const failure = results.find((result) => result.status === 'rejected');
  if (failure !== undefined) {
    await deleteTables(
      client,
      Object.fromEntries(
        named.filter((_, i) => results[i]?.status === 'fulfilled').map(({ name }) => [name, name]),
      ),
    );
    throw failure.reason;
  }
  return Object.freeze(
    Object.fromEntries(named.map(({ definition, name }) => [definition.constructId, name])),
  );
}

/** The name of one of the app's tables; throws when it was not created (a template and code out of step). */
export function tableNameOf(names: TableNames, id: KnownTableId): string {
  const name = names[id];
  if (name === undefined) {
    throw new MissingTableError(id, names);
  }
  return name;
}

/** Deletes the named tables; one that is already gone is not an error (teardown after a partial setup). */
export async function deleteTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    Object.values(names).map(async (name) => {
      try {
        await client.send(new DeleteTableCommand({ TableName: name }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) {
          throw error;
        }
      }
    }),
  );
}

async function createTable(client: DynamoDBClient, definition: TableDefinition, name: string): Promise<void> {
  await client.send(new CreateTableCommand(createTableInput(definition, name)));
  // DynamoDB Local reports ACTIVE at once; the waiter keeps this correct against slower implementations.
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 0.1, maxDelay: 1 }, { TableName: name });
  if (definition.timeToLiveAttribute !== undefined) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
      }),
    );
  }
}

function toIndexDefinition(index: {
  IndexName: string;
  KeySchema: KeySchemaElement[];
  Projection: Projection;
}): SecondaryIndexDefinition {
  return { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection };
}

/** `Stack/Tables/Orders/Resource` -> `Orders`: the L2 construct's id, not the generated L1 child `Resource`. */
function constructIdOf(logicalId: string, metadata: Record<string, unknown> | undefined): string {
  const path = metadata?.['aws:cdk:path'];
  if (typeof path !== 'string' || path === '') {
    throw new TableIdentityError(
      `Table ${logicalId} has no aws:cdk:path metadata: synthesize with path metadata enabled (sandbox/synth.ts does)`,
    );
  }
  const segments = path.split('/');
  if (segments.at(-1) === 'Resource' && segments.length > 1) {
    segments.pop();
  }
  return segments.at(-1)!;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? issue.path.join('.') : 'Properties';
  if (issue.code === 'unrecognized_keys') {
    return `unsupported property ${issue.keys.map((key) => `${where === 'Properties' ? '' : `${where}.`}${key}`).join(', ')}`;
  }
  return `${where}: ${issue.message}`;
}
