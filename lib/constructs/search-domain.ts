import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { EbsDeviceVolumeType } from 'aws-cdk-lib/aws-ec2';
import {
  AccountRootPrincipal,
  PolicyDocument,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, ResourcePolicy } from 'aws-cdk-lib/aws-logs';
import { type CfnDomain, Domain, EngineVersion, TLSSecurityPolicy } from 'aws-cdk-lib/aws-opensearchservice';
import { Construct } from 'constructs';
import {
  logRetention,
  type SearchClusterConfig,
  type StageConfig,
  searchClusterProblems,
} from '../config.js';
import { ES_HTTP_ACTIONS } from './base-function.js';
import { iamWildcardResourceFinding } from './nag-findings.js';
import { InvalidPropsError, requireIntegerInRange } from './props-validation.js';

/**
 * The engine version: the newest OpenSearch that aws-cdk-lib knows. Pinned rather than derived, so that upgrading
 * aws-cdk-lib never upgrades the domain by surprise; raising it upgrades the domain in place (enableVersionUpgrade).
 */
export const SEARCH_ENGINE_VERSION = EngineVersion.OPENSEARCH_3_7;

/**
 * TLS 1.2 or 1.3, with forward-secret cipher suites only: the newest policy OpenSearch Service offers. Every client
 * here is the AWS SDK's or OpenSearch's JavaScript client on Node.js, which speak both.
 */
export const SEARCH_TLS_POLICY = TLSSecurityPolicy.TLS_1_2_PFS;

/**
 * The domain's name: fixed per stage (at most 27 characters: stage names have at most 20), like the stack names.
 *
 * A fixed name is what lets every policy name the domain exactly without a circular or cross-stack reference: the
 * domain's own access policy and its log resource policy (which must exist before the domain does) name
 * `arn:...:domain/orders-<stage>`, and the functions' grants in the pipelines stack build the same ARN locally. A
 * generated name would force a wildcard domain in the access policy (its own ARN cannot be referenced from itself)
 * and a cross-stack export of the ARN. The price: after the data stack is deleted, the retained domain keeps its
 * name, and deploying the stack again fails on it until the old domain is deleted or imported (`cdk import`) - on
 * purpose: a silent second domain would cost as much and start empty.
 */
export function searchDomainName(stageName: string): string {
  return `orders-${stageName}`;
}

/**
 * Replicas of the `orders` index for a cluster: what the writers create the index with (SEARCH_INDEX_REPLICAS).
 *
 * - One node: 0. A replica never shares a node with its primary, so it would stay unassigned and the cluster yellow.
 * - Zone awareness over n zones: n - 1, one copy of each shard per zone, so losing a zone loses no data and leaves
 *   every shard searchable (3 zones: 2 replicas, which are also the three copies Multi-AZ with Standby asks for).
 * - Several nodes in one zone: 1, which survives the loss of a node.
 */
export function ordersIndexReplicas(
  cluster: Pick<StageConfig, 'searchInstanceCount' | 'searchZoneAwareness'>,
): number {
  if (cluster.searchZoneAwareness > 1) {
    return cluster.searchZoneAwareness - 1;
  }
  return cluster.searchInstanceCount > 1 ? 1 : 0;
}

/** The security plugin roles, defined with the handler that applies them; re-exported for the constructs. */
export { SEARCH_SECURITY_ROLES } from '../../lambdas/shared/search/security-roles.js';

export interface SearchDomainProps {
  /**
   * The validated stage configuration: the cluster (`search*` keys), the master user (`searchAdminRoleArn`) and the
   * log retention.
   */
  readonly config: StageConfig;
  /**
   * The domain's name; 3-28 lowercase letters, digits or hyphens, starting with a letter.
   * @default searchDomainName(config.stageName), `orders-<stage>`
   */
  readonly domainName?: string;
  /**
   * Removal policy of the domain, its key and its log groups. The domain holds the search index: the backfill can
   * rebuild it from the Orders table, but rebuilding a large index takes hours of degraded search.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The OpenSearch Service domain of the order search, in the stateful stack: the newest engine, fine-grained access
 * control with an IAM master user, encryption at rest (customer-managed key) and node to node, HTTPS only with TLS
 * 1.2+ and forward secrecy, search slow, index slow and error logs in CloudWatch Logs with the stage's retention, gp3
 * volumes, and instance type, count, dedicated masters and zone awareness from the stage config.
 *
 * Access. The domain has a public endpoint: no VPC. Every request must be SigV4-signed; the domain's access policy
 * lets the account's IAM principals reach it (their own IAM policies then decide which URL paths and methods), and
 * fine-grained access control decides per index inside OpenSearch. A VPC domain is the alternative: the endpoint
 * would not be reachable from the internet at all, but the domain needs private subnets in 2-3 zones, and every
 * function that calls it (search-sync, the API) would have to run in the VPC and reach its other AWS services from
 * there: a NAT gateway per zone (about 32 USD a month each, plus data processing) or interface endpoints for SQS and
 * X-Ray (about 7 USD a month each, per zone) and a gateway endpoint for DynamoDB, plus security groups to maintain.
 *
 * Fine-grained access control. The master user is an IAM role: `searchAdminRoleArn` from the config, or else a role
 * this construct creates (`adminRole`), assumable by the account's principals whose IAM policies allow it. The master
 * user administers the security plugin. The functions' roles get no OpenSearch permission until they are mapped to a
 * role of {@link SEARCH_SECURITY_ROLES}; that mapping lives in the domain's security index and is made through the
 * security plugin's REST API, which CloudFormation cannot call natively. The pipelines stack makes it during the
 * deploy with a custom resource (SearchRoleMapping) that assumes the master user role; that is why the master user
 * must be assumable by that function's role (the created AdminRole trusts the account, whose IAM policies decide).
 *
 * Logs. aws-cdk-lib would create the CloudWatch Logs resource policy OpenSearch needs with a Lambda-backed custom
 * resource; here it is a native `AWS::Logs::ResourcePolicy` instead (no Lambda to run, patch or acknowledge),
 * limited to this account and this domain, created before the domain. CloudWatch Logs allows 10 resource policies
 * per account and Region. Slow logs are only written for indexes that set slow log thresholds.
 */
export class SearchDomain extends Construct {
  public readonly domain: Domain;
  /** The domain's name, a literal: policies build its ARN from it. */
  public readonly domainName: string;
  /** The domain's endpoint host name (a token): the functions reach `https://<domainEndpoint>`. */
  public readonly domainEndpoint: string;
  /** The domain's ARN, built from its name (no reference to the domain): `arn:...:es:<region>:<account>:domain/<name>`. */
  public readonly domainArn: string;
  /** Replicas the `orders` index is created with on this cluster; see {@link ordersIndexReplicas}. */
  public readonly ordersIndexReplicas: number;
  /** Encrypts the domain's data at rest. */
  public readonly key: Key;
  /** The ARN of the fine-grained access control master user. */
  public readonly masterUserArn: string;
  /** The master user role, when the config names none. */
  public readonly adminRole: Role | undefined;
  public readonly searchSlowLogs: LogGroup;
  public readonly indexSlowLogs: LogGroup;
  /** OpenSearch's error (application) logs. */
  public readonly applicationLogs: LogGroup;
  /** Lets OpenSearch Service write to the three log groups. */
  public readonly logsResourcePolicy: ResourcePolicy;

  public constructor(scope: Construct, id: string, props: SearchDomainProps) {
    super(scope, id);
    const { config } = props;
    this.domainName = props.domainName ?? searchDomainName(config.stageName);
    validateSearchDomainProps(this.node.path, props, this.domainName);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = logRetention(config);
    const stack = Stack.of(this);
    this.domainArn = stack.formatArn({
      service: 'es',
      resource: 'domain',
      resourceName: this.domainName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.ordersIndexReplicas = ordersIndexReplicas(config);

    this.key = new Key(this, 'Key', {
      description: `Encrypts the search domain ${this.domainName} at rest`,
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      removalPolicy,
    });

    this.searchSlowLogs = new LogGroup(this, 'SearchSlowLogs', { retention, removalPolicy });
    this.indexSlowLogs = new LogGroup(this, 'IndexSlowLogs', { retention, removalPolicy });
    this.applicationLogs = new LogGroup(this, 'ApplicationLogs', { retention, removalPolicy });
    this.logsResourcePolicy = new ResourcePolicy(this, 'LogsResourcePolicy', {
      policyStatements: [
        new PolicyStatement({
          principals: [new ServicePrincipal('es.amazonaws.com')],
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.searchSlowLogs, this.indexSlowLogs, this.applicationLogs].map(
            (group) => group.logGroupArn,
          ),
          // Only this domain may write (the confused-deputy guard OpenSearch Service documents); the ARN is built
          // from the name, so the policy can exist before the domain, as CreateDomain requires.
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': this.domainArn },
          },
        }),
      ],
    });

    if (config.searchAdminRoleArn === undefined) {
      this.adminRole = new Role(this, 'AdminRole', {
        assumedBy: new AccountRootPrincipal(),
        description:
          `Master user of the search domain ${this.domainName} (fine-grained access control): security plugin ` +
          'roles and mappings, index administration',
        inlinePolicies: {
          DomainHttpApi: new PolicyDocument({
            statements: [
              new PolicyStatement({ actions: [...ES_HTTP_ACTIONS], resources: [`${this.domainArn}/*`] }),
            ],
          }),
        },
      });
      // Kept with the domain: a retained domain whose master user was deleted can only be administered again
      // after AWS support or a master user change through the console.
      this.adminRole.applyRemovalPolicy(removalPolicy);
      Validations.of(this.adminRole).acknowledge({
        id: iamWildcardResourceFinding(this, `${this.domainArn}/*`),
        reason:
          'The master user of the search domain administers all of it (the security plugin API, every index), ' +
          'so it may call every URL path of this one domain; its statement names the domain, not all domains.',
      });
    }
    this.masterUserArn = config.searchAdminRoleArn ?? this.adminRole!.roleArn;

    const availabilityZones = config.searchZoneAwareness;
    const dedicatedMasters = config.searchDedicatedMasterCount;
    this.domain = new Domain(this, 'Domain', {
      domainName: this.domainName,
      version: SEARCH_ENGINE_VERSION,
      // A new engine version is applied to the existing domain (blue/green) instead of replacing it, which would
      // start an empty domain under the same name.
      enableVersionUpgrade: true,
      removalPolicy,
      capacity: {
        dataNodes: config.searchInstanceCount,
        dataNodeInstanceType: config.searchInstanceType,
        masterNodes: dedicatedMasters > 0 ? dedicatedMasters : undefined,
        masterNodeInstanceType: dedicatedMasters > 0 ? config.searchDedicatedMasterInstanceType : undefined,
        // Always explicit: the cdk.json feature flag would otherwise turn it on wherever it is not set.
        multiAzWithStandbyEnabled: config.searchMultiAzWithStandby,
      },
      zoneAwareness:
        availabilityZones > 1
          ? { enabled: true, availabilityZoneCount: availabilityZones }
          : { enabled: false },
      ebs: { volumeSize: config.searchVolumeGb, volumeType: EbsDeviceVolumeType.GP3 },
      nodeToNodeEncryption: true,
      encryptionAtRest: { enabled: true, kmsKey: this.key },
      enforceHttps: true,
      tlsSecurityPolicy: SEARCH_TLS_POLICY,
      fineGrainedAccessControl: { masterUserArn: this.masterUserArn },
      logging: {
        slowSearchLogEnabled: true,
        slowSearchLogGroup: this.searchSlowLogs,
        slowIndexLogEnabled: true,
        slowIndexLogGroup: this.indexSlowLogs,
        appLogEnabled: true,
        appLogGroup: this.applicationLogs,
      },
      // The native resource policy above replaces aws-cdk-lib's custom resource.
      suppressLogsResourcePolicy: true,
      advancedOptions: {
        // A `_bulk` or `_msearch` body could otherwise name other indexes than its URL, past the IAM policies that
        // grant by URL path (OpenSearch Service's advice for index-level IAM grants). The writers send the index in
        // the URL (`POST /orders/_bulk`) and no `_index` in the action lines.
        'rest.action.multi.allow_explicit_index': 'false',
      },
      // Service software updates (security patches) are applied without an operator, inside the off-peak window.
      offPeakWindowEnabled: true,
      enableAutoSoftwareUpdate: true,
      // No automatedSnapshotStartHour: OpenSearch takes automated snapshots hourly; the hour applies to
      // Elasticsearch before 5.3 only.
    });
    this.domain.node.addDependency(this.logsResourcePolicy);
    this.domainEndpoint = this.domain.domainEndpoint;

    // Set on the CloudFormation resource itself: the Domain construct would apply `accessPolicies` with a
    // Lambda-backed custom resource after creation. Naming the domain by its fixed name is no self-reference.
    (this.domain.node.defaultChild as CfnDomain).accessPolicies = new PolicyDocument({
      statements: [
        new PolicyStatement({
          sid: 'AccountPrincipalsAllowedByIam',
          principals: [new AccountRootPrincipal()],
          actions: [...ES_HTTP_ACTIONS],
          resources: [`${this.domainArn}/*`],
        }),
      ],
    });

    this.acknowledgeDomainFindings(config);

    new CfnOutput(this, 'Endpoint', {
      description: `The URL of the search domain ${this.domainName} (SigV4, service es)`,
      value: `https://${this.domainEndpoint}`,
    });
    if (this.adminRole !== undefined) {
      new CfnOutput(this, 'AdminRoleArn', {
        description:
          "The search domain's master user: assume it to map the functions' roles (see SearchDomain)",
        value: this.adminRole.roleArn,
      });
    }
  }

  private acknowledgeDomainFindings(config: StageConfig): void {
    const domain = Validations.of(this.domain);
    domain.acknowledge({
      id: 'AwsSolutions-OS1',
      reason:
        'Public endpoint on purpose: every request is SigV4-signed and authorised twice (IAM by URL path, then ' +
        'fine-grained access control per index); a VPC would put the functions into the VPC with NAT gateways or ' +
        'endpoints in every zone (see SearchDomain).',
    });
    domain.acknowledge({
      id: 'AwsSolutions-OS3',
      reason:
        'Access is by IAM identity, not by network: the callers are Lambda functions outside a VPC, which have no ' +
        'fixed source IP address an allowlist could name.',
    });
    if (config.searchDedicatedMasterCount === 0) {
      domain.acknowledge({
        id: 'AwsSolutions-OS4',
        reason:
          `The ${config.stageName} stage runs ${config.searchInstanceCount} data node(s) with no dedicated master ` +
          'nodes (searchDedicatedMasterCount 0): a small, lightly loaded domain where the data nodes manage the ' +
          'cluster; the production preset has three.',
      });
    }
    if (config.searchZoneAwareness === 1) {
      domain.acknowledge({
        id: 'AwsSolutions-OS7',
        reason:
          `The ${config.stageName} stage keeps its search domain in one Availability Zone (searchZoneAwareness 1): ` +
          'the index is rebuilt from the Orders table by the backfill if the zone fails; the production preset ' +
          'spreads over three.',
      });
    }
  }
}

/** What the construct needs beyond what the stage config's own validation guarantees. */
function validateSearchDomainProps(path: string, props: SearchDomainProps, domainName: string): void {
  if (!/^[a-z][a-z0-9-]{2,27}$/.test(domainName)) {
    throw new InvalidPropsError(
      path,
      'domainName',
      `must be 3-28 lowercase letters, digits or hyphens, starting with a letter, got "${domainName}"`,
    );
  }
  requireIntegerInRange(path, 'config.searchInstanceCount', props.config.searchInstanceCount, {
    min: 1,
    max: 80,
  });
  requireIntegerInRange(path, 'config.searchZoneAwareness', props.config.searchZoneAwareness, {
    min: 1,
    max: 3,
    hint: 'Availability Zones; 1 is zone awareness off',
  });
  requireIntegerInRange(path, 'config.searchVolumeGb', props.config.searchVolumeGb, {
    min: 10,
    max: 16_384,
    hint: 'GiB of gp3 per data node',
  });
  const cluster: SearchClusterConfig = props.config;
  const problem = searchClusterProblems(cluster)[0];
  if (problem !== undefined) {
    throw new InvalidPropsError(path, `config.${problem.key}`, problem.problem);
  }
}
