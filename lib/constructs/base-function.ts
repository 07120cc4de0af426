import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Annotations, ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import {
  Effect,
  type IGrantable,
  type IManagedPolicy,
  type IPrincipal,
  PolicyDocument,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { type IQueue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, type EnvName, METRICS_NAMESPACE } from '../../lambdas/shared/env.js';
import { logRetention, type StageConfig } from '../config.js';
import { iamWildcardResourceFinding } from './nag-findings.js';
import { InvalidPropsError, requireIntegerInRange, requireSecondsInRange } from './props-validation.js';

/** The repository root: the esbuild project root, and where the lock file and tsconfig live. */
const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/**
 * How much of a table a function may touch: `read`, `readWrite`, or exactly the listed DynamoDB actions (for a
 * function that needs fewer than a whole mode, e.g. `['dynamodb:UpdateItem']`). None includes index access: no
 * function queries an index yet.
 */
export type TableAccess = 'read' | 'readWrite' | readonly DynamoDbItemAction[];

const TABLE_READ_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
];
const TABLE_WRITE_ACTIONS = [
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];
/**
 * The table actions an explicit list may name: those of the two modes. TransactWriteItems and TransactGetItems have
 * no IAM action of their own; they are authorised item by item with PutItem, UpdateItem, DeleteItem,
 * ConditionCheckItem and GetItem, which these include.
 */
export const DYNAMODB_ITEM_ACTIONS = [
  ...TABLE_READ_ACTIONS,
  ...TABLE_WRITE_ACTIONS,
].sort() as readonly string[];
/** One of {@link DYNAMODB_ITEM_ACTIONS}. */
export type DynamoDbItemAction = `dynamodb:${string}`;
/**
 * The customer-managed key actions a caller needs to read (and write) an encrypted table. CDK's grants name the
 * same permissions with wildcards (`kms:GenerateDataKey*`, `kms:ReEncrypt*`); they are spelled out here so the
 * policy has no wildcard to explain. The pair variants of GenerateDataKey are left out: they are for asymmetric
 * keys, which DynamoDB does not use.
 */
export const KEY_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
export const KEY_WRITE_ACTIONS = [
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];
/** The key actions needed to send to an SQS queue or publish to an SNS topic encrypted with a customer-managed key. */
const KEY_PRODUCER_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/** SES template names as AWS::SES::Template accepts them. */
const SES_TEMPLATE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** One SES template a function sends with, and the environment variable that tells the function its name. */
export interface BulkEmailTemplateBinding {
  /** The variable that is set to the template's name. */
  readonly envName: EnvName;
  /** The template's name: a literal, or the `Ref` of an `AWS::SES::Template` (a token). */
  readonly templateName: string;
}

/** What {@link BaseFunction.bindBucketWriter} attaches and tells the function. */
export interface BucketWriter {
  /** The bucket's name. */
  readonly bucketName: string;
  /** The managed policy that grants the writes, and nothing else. */
  readonly policy: IManagedPolicy;
}

/** What {@link BaseFunction.bindBulkEmailSending} grants and tells the function. */
export interface BulkEmailSending {
  /** The From address of the e-mails; it must belong to `identity`. */
  readonly fromAddress: string;
  /** The verified SES identity the From address belongs to: a domain or an address. */
  readonly identity: string;
  /** The templates the function sends with (at least one). */
  readonly templates: readonly BulkEmailTemplateBinding[];
}

/**
 * The IAM actions of OpenSearch Service's HTTP (data plane) API, one per HTTP method. The domain authorises a request
 * with the action of its method on the resource `<domainArn>/<path>`, the request's URL path.
 */
export const ES_HTTP_ACTIONS = [
  'es:ESHttpDelete',
  'es:ESHttpGet',
  'es:ESHttpHead',
  'es:ESHttpPatch',
  'es:ESHttpPost',
  'es:ESHttpPut',
] as const;
/** One of {@link ES_HTTP_ACTIONS}. */
export type EsHttpAction = (typeof ES_HTTP_ACTIONS)[number];

/** An OpenSearch Service domain as a function reaches it: what {@link BaseFunction.bindSearchDomain} needs. */
export interface SearchDomainTarget {
  /**
   * The domain's name, a literal (`orders-dev`): the grant builds the domain's ARN from it in the function's own
   * stack, so the policy names the domain exactly, with no cross-stack reference.
   */
  readonly domainName: string;
  /** The domain's endpoint host name (`search-orders-dev-....es.amazonaws.com`, usually a token), no scheme. */
  readonly domainEndpoint: string;
}

/** What a function may do on a search domain: the HTTP methods (IAM actions) on the URL paths. */
export interface SearchDomainAccess {
  /**
   * URL paths relative to the domain, without the leading slash: `orders` (the index itself), `orders/_search`,
   * or `orders/*` (every API under the index). A wildcard may only be the whole last segment.
   */
  readonly paths: readonly string[];
  /** The HTTP methods, as IAM actions. */
  readonly actions: readonly EsHttpAction[];
}

/** Domain names as OpenSearch Service accepts them. */
const SEARCH_DOMAIN_NAME = /^[a-z][a-z0-9-]{2,27}$/;
/** A relative URL path of plain segments, optionally ending in a `*` segment (never `*` alone: the whole domain). */
const SEARCH_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*(\/\*)?$/;

/**
 * Dev-only packages that production code names but must not ship: esbuild leaves them as imports instead of bundling
 * them, and the Lambda runtime cannot resolve them. Bundled, they would make the deployed code depend on what the dev
 * tools happen to install.
 * - `aws-sdk`, the AWS SDK v2 (installed for a benchmark baseline): see the bundling options below.
 * - `supports-color`, which `debug` (under the OpenSearch client) loads in a try/catch to colour its output on a
 *   terminal, and does without when it is missing, as it is in Lambda.
 */
export const NEVER_BUNDLED_MODULES: readonly string[] = ['aws-sdk', 'supports-color'];

/**
 * Imports that a Lambda bundle resolves to another module than the one installed (esbuild's `--alias`; the paths are
 * relative to the project root, where CDK runs esbuild).
 * - `@aws-sdk/credential-provider-node`, the SDK's default credential chain, becomes the environment link alone
 *   (lambdas/shared/adapters/lambda-credentials.ts says why): in Lambda the chain answers from the environment
 *   anyway, and the links that never run there are 114 to 147 KB of each bundle. Code run from source keeps the
 *   whole chain. test/lib/app.test.ts fails on a bundle that still holds any other link of it.
 */
export const LAMBDA_BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambdas/shared/adapters/lambda-credentials.ts',
};

/**
 * Environment variables that are BaseFunction's: it sets the Powertools ones, and leaves NODE_OPTIONS unset on
 * purpose (no `--enable-source-maps`, see the bundling options); props may not set them.
 */
const RESERVED_ENVIRONMENT: readonly string[] = [
  ENV.POWERTOOLS_SERVICE_NAME,
  ENV.POWERTOOLS_METRICS_NAMESPACE,
  'NODE_OPTIONS',
];

/** The two stage keys a function reads: its log retention and its default memory size. */
export type BaseFunctionStageConfig = Pick<StageConfig, 'logRetentionDays' | 'functionMemoryMb'>;

export interface BaseFunctionProps {
  /** The validated stage configuration (or just the two keys a function reads): log retention, default memory. */
  readonly config: BaseFunctionStageConfig;
  /** Absolute path of the handler's TypeScript file; it must export `handler`. */
  readonly entry: string;
  /**
   * A short stable name of what the function does (`orders-api`, `order-fanout`): Powertools' service name, so it
   * names the function in logs, traces and metric dimensions.
   */
  readonly serviceName: string;
  /**
   * What the function is for, shown in the Lambda console.
   * @default - no description
   */
  readonly description?: string;
  /**
   * Memory in MB; CPU scales with it.
   * @default - the stage's functionMemoryMb
   */
  readonly memorySize?: number;
  /**
   * The invocation timeout.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Further environment variables, for plain values only. Resource names go through the `bind*` methods, which set
   * the variable and grant the access together.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Concurrent executions reserved for (and at most allowed to) the function, 1 to 1,000. A cap protects what the
   * function calls: an event source mapping's invocations beyond it are throttled and retried, never lost. The
   * reservation is taken from the account's regional concurrency, of which Lambda keeps 100 unreserved.
   * @default - no reservation: the function scales with the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The one place the defaults of every function of the app live: the newest Node.js runtime on ARM64, active X-Ray
 * tracing, JSON logs into a log group of its own with the stage's retention, Powertools settings, and bundling with
 * the local esbuild (never Docker) into one minified ESM file with a source map beside it. Its role starts with
 * nothing but writing to that log group (not the AWSLambdaBasicExecutionRole managed policy, which allows writing to
 * every log group of the account) and sending traces; every further permission comes with the environment variable
 * that names the resource, through the `bind*` methods.
 */
export class BaseFunction extends Construct implements IGrantable {
  public readonly lambdaFunction: NodejsFunction;
  public readonly role: Role;
  public readonly logGroup: LogGroup;
  public readonly grantPrincipal: IPrincipal;

  private readonly boundEnvironment = new Set<string>();

  public constructor(scope: Construct, id: string, props: BaseFunctionProps) {
    super(scope, id);
    validateBaseFunctionProps(this.node.path, props);
    for (const name of Object.keys(props.environment ?? {})) {
      this.boundEnvironment.add(name);
    }
    const timeout = props.timeout ?? Duration.seconds(30);

    // Retained on stack deletion (the LogGroup default): the logs of a removed function are the evidence of what it
    // did, and the retention period still bounds their cost.
    this.logGroup = new LogGroup(this, 'LogGroup', { retention: logRetention(props.config) });

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
      inlinePolicies: {
        WriteOwnLogs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              // The log group exists already (created above), so logs:CreateLogGroup is not needed. Its ARN
              // attribute ends in `:*`, which covers its log streams.
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [this.logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    this.grantPrincipal = this.role;

    // Before the function exists, which warns while bundling that a v2 SDK marked external is not in the runtime:
    // that is the point of marking it (NEVER_BUNDLED_MODULES).
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/aws-lambda-nodejs:sdkV2NotInRuntime',
      'aws-sdk is external so that it is never bundled; nothing is meant to load it at run time',
    );
    this.lambdaFunction = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? props.config.functionMemoryMb,
      timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      environment: {
        ...props.environment,
        [ENV.POWERTOOLS_SERVICE_NAME]: props.serviceName,
        [ENV.POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
      },
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      projectRoot: PROJECT_ROOT,
      bundling: {
        forceDockerBundling: false,
        tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
        format: OutputFormat.ESM,
        // Prefer the ESM builds of dependencies: they tree-shake, the CommonJS ones do not.
        mainFields: ['module', 'main'],
        // Bundled CommonJS dependencies may still call require() for Node built-ins, which ESM lacks.
        banner:
          "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        minify: true,
        // The map ships next to index.mjs, linked from it, but Node.js does not load it: NODE_OPTIONS has no
        // --enable-source-maps. With the flag, Node reads and parses the whole map when it loads the bundle
        // (measured on Node 20.20 for the orders API: +55 ms CPU per cold start, 228 to 284 ms, median of 21; the
        // 1.6 MB map alone takes 61 ms to read and parse), and the first stack trace then builds the map's lookup
        // table (300 to 440 ms more), in the invocation that is already failing. Enabling it later at run time
        // (process.setSourceMapsEnabled) does not help: Node maps only modules loaded after that call. Stack traces
        // in the logs thus point to a line and column of the minified index.mjs, and frames bear minified names
        // (keepNames keeps the `name` of classes and functions, which error and log fields show, not the frames');
        // docs/development.md ("Bundle footprint") says how to map a frame back to the TypeScript source with the
        // map of the same asset.
        sourceMap: true,
        // Stack traces map back to file and line without shipping the sources in every bundle.
        sourcesContent: false,
        // Keeps the `name` property of classes and functions despite minification (what code and logs read of them,
        // such as `constructor.name`); stack frames still bear the minified names, which V8 takes from the code.
        // Dropping it would save about 47 KB and 13 ms of the order fan-out's init, but bundled code decides by
        // those names: the SDK's middleware and credential code test `logger.constructor.name === 'NoOpLogger'` to
        // choose where warnings go, and Powertools' BasePartialProcessor tests `this.constructor.name`.
        keepNames: true,
        // The lock file pins the AWS SDK the tests ran against; the runtime's bundled copy changes under us.
        bundleAwsSDK: true,
        // The AWS SDK v2 is never bundled: no code of ours uses it, and a dependency that names it in an unreachable
        // fallback (as the OpenSearch signer's `aws` entry did, see opensearch-client.ts) silently added 9.7 MB to
        // each bundle, parsed at every cold start. External, the name stays an import that the Node.js 18+ runtimes
        // cannot resolve (they ship only the v3 SDK): a path that really used it fails loudly, and
        // test/lib/app.test.ts fails on any bundle that so much as names it. Setting externalModules replaces the
        // default list, which bundleAwsSDK has already emptied: the v3 SDK is still bundled.
        externalModules: [...NEVER_BUNDLED_MODULES],
        esbuildArgs: {
          '--alias': Object.entries(LAMBDA_BUNDLE_ALIASES).map(
            ([name, replacement]) => `${name}=${replacement}`,
          ),
        },
      },
    });

    // Active tracing has just made Lambda add its X-Ray statement to the role's default policy.
    Validations.of(this.role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords (added by Lambda active tracing) support no ' +
        'resource-level permissions; every other statement of this policy names its resources.',
    });
  }

  /** Adds an environment variable with a plain value, refusing to overwrite one that is already set. */
  public addEnvironment(name: string, value: string): this {
    this.claimEnvironmentName(name);
    this.lambdaFunction.addEnvironment(name, value);
    return this;
  }

  /**
   * Grants access to a table's items (`read`, `readWrite`, or an explicit list of DynamoDB actions) and sets `envName`
   * to its name. The grant covers the table's customer-managed key when it has one, usable only through DynamoDB:
   * the read key actions, plus the write ones when any granted action writes.
   */
  public bindTable(envName: EnvName, table: ITable, access: TableAccess): this {
    const actions = tableActions(this.node.path, access);
    this.claimEnvironmentName(envName);
    const write = actions.some((action) => TABLE_WRITE_ACTIONS.includes(action));
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [table.tableArn] }));
    if (table.encryptionKey !== undefined) {
      this.grantKeyViaService(
        table.encryptionKey,
        'dynamodb',
        write ? [...KEY_READ_ACTIONS, ...KEY_WRITE_ACTIONS] : KEY_READ_ACTIONS,
      );
    }
    this.lambdaFunction.addEnvironment(envName, table.tableName);
    return this;
  }

  /** Grants sending messages to a queue and sets `envName` to its URL. */
  public bindQueue(envName: EnvName, queue: IQueue): this {
    this.claimEnvironmentName(envName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
    );
    // The AWS managed key (alias/aws/sqs) needs no grant: its key policy lets every principal of the account use
    // it through SQS. A customer-managed key does.
    if (queue.encryptionMasterKey !== undefined && queue.encryptionType !== QueueEncryption.KMS_MANAGED) {
      this.grantKeyViaService(queue.encryptionMasterKey, 'sqs', KEY_PRODUCER_ACTIONS);
    }
    this.lambdaFunction.addEnvironment(envName, queue.queueUrl);
    return this;
  }

  /** Grants publishing to a topic and sets `envName` to its ARN. */
  public bindTopic(envName: EnvName, topic: ITopic): this {
    this.claimEnvironmentName(envName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }),
    );
    if (topic.masterKey !== undefined) {
      this.grantKeyViaService(topic.masterKey, 'sns', KEY_PRODUCER_ACTIONS);
    }
    this.lambdaFunction.addEnvironment(envName, topic.topicArn);
    return this;
  }

  /**
   * Grants sending templated e-mail with SESv2 SendBulkEmail from one identity with the given templates, sets
   * `fromEnvName` to the From address and each template's variable to its name.
   *
   * The Service Authorization Reference (Amazon Simple Email Service v2) lists for `ses:SendBulkEmail` the resource
   * types `identity` and `template` as required and `configuration-set` as optional, with no dependent actions; its
   * condition keys are ses:ApiVersion, ses:MultiRegionEndpointId, ses:TenantName and aws:ResourceTag, so unlike
   * SendEmail the From address cannot be pinned with ses:FromAddress. The statement therefore names the identity
   * and each template by ARN (`arn:<partition>:ses:<region>:<account>:identity/<name>` and `...:template/<name>`),
   * and nothing else: no configuration set is used.
   * Source: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html
   * (read through its machine-readable copy in iann0036/iam-dataset, aws/iam_definition.json). SAM's
   * SESBulkTemplatedCrudPolicy_v2, which added the template ARN after sends failed without it
   * (aws/serverless-application-model#2844), grants the same shape for the v1 templated actions.
   */
  public bindBulkEmailSending(fromEnvName: EnvName, sending: BulkEmailSending): this {
    validateBulkEmailSending(this.node.path, fromEnvName, sending);
    for (const name of [fromEnvName, ...sending.templates.map((template) => template.envName)]) {
      this.claimEnvironmentName(name);
    }
    const stack = Stack.of(this);
    const sesArn = (resource: string, resourceName: string): string =>
      stack.formatArn({ service: 'ses', resource, resourceName });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ses:SendBulkEmail'],
        resources: [
          sesArn('identity', sending.identity),
          ...sending.templates.map((template) => sesArn('template', template.templateName)),
        ],
      }),
    );
    this.lambdaFunction.addEnvironment(fromEnvName, sending.fromAddress);
    for (const template of sending.templates) {
      this.lambdaFunction.addEnvironment(template.envName, template.templateName);
    }
    return this;
  }

  /**
   * Grants the HTTP methods `access.actions` on the URL paths `access.paths` of an OpenSearch Service domain and sets
   * `envName` to the domain's URL, `https://<domainEndpoint>`. The statement names each path's resource
   * `<domainArn>/<path>`, the domain's ARN built here from its (literal) name; paths and actions are deduplicated and
   * sorted, so the policy does not depend on the order a caller wrote them in.
   *
   * IAM only lets the request reach the domain: with fine-grained access control, the function's role must also be
   * mapped to an OpenSearch role (a backend role) that permits the request inside OpenSearch.
   *
   * A path ending in `/*` is a wildcard resource (AwsSolutions-IAM5). It is acknowledged here, finding by finding:
   * OpenSearch's IAM resources are URL paths, and `<index>/*` covers the APIs of that one index only.
   */
  public bindSearchDomain(envName: EnvName, domain: SearchDomainTarget, access: SearchDomainAccess): this {
    const { paths, actions } = validateSearchDomainAccess(this.node.path, domain, access);
    this.claimEnvironmentName(envName);
    const domainArn = Stack.of(this).formatArn({
      service: 'es',
      resource: 'domain',
      resourceName: domain.domainName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const resources = paths.map((path) => `${domainArn}/${path}`);
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions, resources }));
    for (const [index, path] of paths.entries()) {
      if (path.endsWith('/*')) {
        Validations.of(this.role.node.findChild('DefaultPolicy')).acknowledge({
          id: iamWildcardResourceFinding(this, resources[index]!),
          reason:
            `OpenSearch authorises HTTP requests by URL path: ${path} covers only the APIs under ` +
            `${path.slice(0, -2)} on domain ${domain.domainName} (for an index: its documents, _bulk, _mapping), ` +
            `with ${actions.join(', ')} only.`,
        });
      }
    }
    this.lambdaFunction.addEnvironment(envName, `https://${domain.domainEndpoint}`);
    return this;
  }

  /**
   * Attaches a bucket's writer policy, defined by the bucket's owner (e.g. `AuditStorage.writerPolicy`, which says
   * exactly which keys may be created and how), and sets `envName` to the bucket's name.
   */
  public bindBucketWriter(envName: EnvName, writer: BucketWriter): this {
    this.claimEnvironmentName(envName);
    this.role.addManagedPolicy(writer.policy);
    this.lambdaFunction.addEnvironment(envName, writer.bucketName);
    return this;
  }

  /** Key permissions that hold only for calls the named service makes on the function's behalf. */
  private grantKeyViaService(key: IKey, service: string, actions: readonly string[]): void {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [...actions],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `${service}.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`,
          },
        },
      }),
    );
  }

  /** Two bindings of one variable would silently leave the function with the last one: refuse the second. */
  private claimEnvironmentName(name: string): void {
    if (RESERVED_ENVIRONMENT.includes(name) || this.boundEnvironment.has(name)) {
      throw new InvalidPropsError(
        this.node.path,
        name,
        'this environment variable is already set on the function',
      );
    }
    this.boundEnvironment.add(name);
  }
}

/**
 * Validates BaseFunction's props. Exported so that constructs that create a BaseFunction among other resources can
 * validate everything before creating anything.
 */
export function validateBaseFunctionProps(path: string, props: BaseFunctionProps): void {
  if (!/^[a-z][a-z0-9-]{1,39}$/.test(props.serviceName)) {
    throw new InvalidPropsError(
      path,
      'serviceName',
      `must be 2-40 lowercase letters, digits or hyphens, starting with a letter, got "${props.serviceName}"`,
    );
  }
  if (!isAbsolute(props.entry) || !existsSync(props.entry)) {
    throw new InvalidPropsError(
      path,
      'entry',
      `must be the absolute path of an existing file, got "${props.entry}"`,
    );
  }
  if (props.memorySize !== undefined) {
    requireIntegerInRange(path, 'memorySize', props.memorySize, {
      min: 128,
      max: 10_240,
      hint: 'Lambda limits, MB',
    });
  }
  if (props.timeout !== undefined) {
    requireSecondsInRange(path, 'timeout', props.timeout, { min: 1, max: 900, hint: 'Lambda limits' });
  }
  if (props.reservedConcurrentExecutions !== undefined) {
    // 0 would throttle every invocation: a stopped function, not a cap.
    requireIntegerInRange(path, 'reservedConcurrentExecutions', props.reservedConcurrentExecutions, {
      min: 1,
      max: 1_000,
      hint: "Lambda's default regional concurrency quota is 1,000; a larger reservation needs a quota increase",
    });
  }
  for (const name of Object.keys(props.environment ?? {})) {
    if (RESERVED_ENVIRONMENT.includes(name)) {
      throw new InvalidPropsError(
        path,
        `environment.${name}`,
        'is for BaseFunction alone to set or leave unset',
      );
    }
  }
}

/**
 * The table actions of an access mode or list, validated: a list must be non-empty and name only actions of
 * {@link DYNAMODB_ITEM_ACTIONS}; duplicates are dropped and the list sorted, so the policy does not depend on the
 * order a caller wrote it in.
 */
function tableActions(path: string, access: TableAccess): string[] {
  if (access === 'read') {
    return [...TABLE_READ_ACTIONS];
  }
  if (access === 'readWrite') {
    return [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS];
  }
  if (!Array.isArray(access) || access.length === 0) {
    throw new InvalidPropsError(
      path,
      'access',
      `must be 'read', 'readWrite' or a non-empty list of DynamoDB actions, got ${JSON.stringify(access)}`,
    );
  }
  const unknown = access.filter((action) => !DYNAMODB_ITEM_ACTIONS.includes(action));
  if (unknown.length > 0) {
    throw new InvalidPropsError(
      path,
      'access',
      `unknown DynamoDB action(s) ${unknown.map((action) => `"${action}"`).join(', ')}; ` +
        `known: ${DYNAMODB_ITEM_ACTIONS.join(', ')}`,
    );
  }
  return [...new Set<string>(access)].sort();
}

/**
 * Validates a search domain grant ({@link BaseFunction.bindSearchDomain}) and returns its paths and actions
 * deduplicated and sorted. Exported so that constructs can validate a grant before creating anything.
 */
export function validateSearchDomainAccess(
  path: string,
  domain: SearchDomainTarget,
  access: SearchDomainAccess,
): { paths: string[]; actions: string[] } {
  if (Token.isUnresolved(domain.domainName) || !SEARCH_DOMAIN_NAME.test(domain.domainName)) {
    throw new InvalidPropsError(
      path,
      'domain.domainName',
      'must be a literal OpenSearch Service domain name (3-28 lowercase letters, digits or hyphens, starting ' +
        `with a letter), got "${domain.domainName}"`,
    );
  }
  if (
    domain.domainEndpoint.trim() === '' ||
    (!Token.isUnresolved(domain.domainEndpoint) && !/^[a-z0-9.-]+$/.test(domain.domainEndpoint))
  ) {
    throw new InvalidPropsError(
      path,
      'domain.domainEndpoint',
      `must be the domain's endpoint host name, without a scheme, got "${domain.domainEndpoint}"`,
    );
  }
  if (access.paths.length === 0) {
    throw new InvalidPropsError(path, 'access.paths', 'at least one path is needed');
  }
  for (const [index, searchPath] of access.paths.entries()) {
    const segments = searchPath.split('/');
    if (!SEARCH_PATH.test(searchPath) || segments.some((segment) => segment === '.' || segment === '..')) {
      throw new InvalidPropsError(
        path,
        `access.paths[${index}]`,
        'must be a URL path relative to the domain (`orders`, `orders/_search`, `orders/*`), with no leading ' +
          `slash, no dot segments and a wildcard only as the whole last segment, got "${searchPath}"`,
      );
    }
  }
  if (access.actions.length === 0) {
    throw new InvalidPropsError(path, 'access.actions', 'at least one action is needed');
  }
  const unknown = access.actions.filter((action) => !(ES_HTTP_ACTIONS as readonly string[]).includes(action));
  if (unknown.length > 0) {
    throw new InvalidPropsError(
      path,
      'access.actions',
      `unknown action(s) ${unknown.map((action) => `"${action}"`).join(', ')}; known: ${ES_HTTP_ACTIONS.join(', ')}`,
    );
  }
  return {
    paths: [...new Set<string>(access.paths)].sort(),
    actions: [...new Set<string>(access.actions)].sort(),
  };
}

function validateBulkEmailSending(path: string, fromEnvName: EnvName, sending: BulkEmailSending): void {
  if (Token.isUnresolved(sending.fromAddress) || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(sending.fromAddress)) {
    throw new InvalidPropsError(
      path,
      'fromAddress',
      `must be an e-mail address, got "${sending.fromAddress}"`,
    );
  }
  if (Token.isUnresolved(sending.identity) || !/^[^@\s]+(@[^@\s]+)?$/.test(sending.identity)) {
    throw new InvalidPropsError(
      path,
      'identity',
      `must be a domain or an e-mail address (the verified SES identity), got "${sending.identity}"`,
    );
  }
  if (sending.templates.length === 0) {
    throw new InvalidPropsError(path, 'templates', 'at least one template is needed to send bulk e-mail');
  }
  for (const [index, template] of sending.templates.entries()) {
    if (!Token.isUnresolved(template.templateName) && !SES_TEMPLATE_NAME.test(template.templateName)) {
      throw new InvalidPropsError(
        path,
        `templates[${index}].templateName`,
        `must be 1-64 letters, digits, hyphens or underscores, got "${template.templateName}"`,
      );
    }
  }
  const names = [fromEnvName, ...sending.templates.map((template) => template.envName)];
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) {
    throw new InvalidPropsError(path, 'templates', `environment variable ${repeated} is named twice`);
  }
}
