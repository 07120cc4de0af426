import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CfnOutput, CustomResource, Duration, Token, Validations } from 'aws-cdk-lib';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import {
  SEARCH_ROLE_MAPPING_PROPERTY as PROPERTY,
  SEARCH_ROLE_MAPPING_RESOURCE_TYPE,
  SEARCH_ROLE_MAPPING_SERVICE_NAME,
  SEARCH_ROLE_MAPPING_TIMEOUT_SECONDS,
} from '../../lambdas/search-role-mapping/names.js';
import { SEARCH_SECURITY_ROLES } from '../../lambdas/shared/search/security-roles.js';
import { logRetention, type StageConfig } from '../config.js';
import {
  BaseFunction,
  type BaseFunctionProps,
  type SearchDomainTarget,
  validateBaseFunctionProps,
} from './base-function.js';
import { iamWildcardResourceFinding } from './nag-findings.js';
import { InvalidPropsError } from './props-validation.js';

/** The handler's entry. */
export const SEARCH_ROLE_MAPPING_ENTRY = join(
  import.meta.dirname,
  '..',
  '..',
  'lambdas',
  'search-role-mapping',
  'handler.ts',
);

/** SHA-256 of the role definitions: part of the resource's properties, so a changed definition is applied. */
export const SEARCH_SECURITY_ROLES_HASH = createHash('sha256')
  .update(JSON.stringify(SEARCH_SECURITY_ROLES))
  .digest('hex');

/** The search domain as the mapping needs it: where to send the requests, and whom to send them as. */
export interface SearchRoleMappingDomain extends SearchDomainTarget {
  /** The ARN of the domain's fine-grained access control master user, an IAM role (`SearchDomain.masterUserArn`). */
  readonly masterUserArn: string;
}

export interface SearchRoleMappingProps {
  /** The validated stage configuration: log retention, memory. */
  readonly config: StageConfig;
  /** The domain (`StatefulStack.search`). */
  readonly search: SearchRoleMappingDomain;
  /** The role mapped to `orders_writer`: the search-sync function's. */
  readonly writerRole: IRole;
  /** The role mapped to `orders_reader`: the orders API handler's. */
  readonly readerRole: IRole;
  /**
   * The handler's entry, for tests.
   * @default SEARCH_ROLE_MAPPING_ENTRY
   */
  readonly entry?: string;
}

/**
 * Maps the functions' roles in the search domain's security plugin during `cdk deploy`: a custom resource whose
 * handler assumes the domain's master user role and PUTs the roles of SEARCH_SECURITY_ROLES and their mappings
 * (lambdas/search-role-mapping). It runs on Create and on every Update of its properties: the domain, the master
 * user, either function role (a role replaced by a redeploy is mapped again) and the hash of the role definitions.
 * Delete does nothing: the domain is retained.
 *
 * Lambda-backed through CDK's Provider framework rather than a plain CustomResource on the function: the framework
 * answers CloudFormation's pre-signed URL whatever happens to the handler (a throw, a crash, a timeout), so a failure
 * never leaves a deploy waiting for the custom resource timeout, and the handler only returns or throws. The price is
 * the framework's own function, which is aws-cdk-lib's, not a BaseFunction; its findings are acknowledged here.
 *
 * Permissions: the handler's role may `sts:AssumeRole` the master user role and nothing else; it needs no
 * `es:ESHttp*` of its own, the assumed role has them. The AdminRole of the data stack trusts the account root, so
 * this IAM grant suffices. A master user configured with `searchAdminRoleArn` must trust this function's role (or
 * the account) in its own trust policy, which this app cannot change.
 */
export class SearchRoleMapping extends Construct {
  public readonly function: BaseFunction;
  public readonly provider: Provider;
  public readonly resource: CustomResource;

  public constructor(scope: Construct, id: string, props: SearchRoleMappingProps) {
    super(scope, id);
    const functionProps: BaseFunctionProps = {
      config: props.config,
      entry: props.entry ?? SEARCH_ROLE_MAPPING_ENTRY,
      serviceName: SEARCH_ROLE_MAPPING_SERVICE_NAME,
      description: `Maps the functions' roles in the security plugin of the search domain ${props.search.domainName}`,
      timeout: Duration.seconds(SEARCH_ROLE_MAPPING_TIMEOUT_SECONDS),
    };
    validateSearchRoleMappingProps(this.node.path, props);
    validateBaseFunctionProps(`${this.node.path}/Function`, functionProps);

    this.function = new BaseFunction(this, 'Function', functionProps);
    this.function.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sts:AssumeRole'], resources: [props.search.masterUserArn] }),
    );

    this.provider = new Provider(this, 'Provider', {
      onEventHandler: this.function.lambdaFunction,
      logGroup: new LogGroup(this, 'ProviderLogs', { retention: logRetention(props.config) }),
    });
    this.acknowledgeProviderFindings();

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: SEARCH_ROLE_MAPPING_RESOURCE_TYPE,
      properties: {
        [PROPERTY.DOMAIN_NAME]: props.search.domainName,
        [PROPERTY.DOMAIN_ENDPOINT]: `https://${props.search.domainEndpoint}`,
        [PROPERTY.MASTER_USER_ROLE_ARN]: props.search.masterUserArn,
        [PROPERTY.WRITER_ROLE_ARN]: props.writerRole.roleArn,
        [PROPERTY.READER_ROLE_ARN]: props.readerRole.roleArn,
        [PROPERTY.ROLES_HASH]: SEARCH_SECURITY_ROLES_HASH,
      },
    });

    new CfnOutput(this, 'FunctionRoleArn', {
      description:
        "The search role mapping function's role: a master user set with searchAdminRoleArn must trust it (or the account)",
      value: this.function.role.roleArn,
    });
  }

  /**
   * The findings of aws-cdk-lib's framework function (whose props the Provider does not expose) and of the handler's
   * synchronous invocation by it.
   */
  private acknowledgeProviderFindings(): void {
    Validations.of(this.function.lambdaFunction.node.defaultChild!).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Only the Provider framework invokes this function, synchronously, and reports its failure to ' +
        "CloudFormation, which fails the deploy; Lambda's DLQ applies to asynchronous invocations only.",
    });
    const framework = this.provider.node.findChild('framework-onEvent');
    Validations.of(framework.node.findChild('ServiceRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "The Provider framework's own function (aws-cdk-lib's code, run once per deploy of this resource) " +
        'comes with this role; the Provider does not let it be replaced, and the policy only writes logs.',
    });
    Validations.of(framework.node.findChild('ServiceRole')).acknowledge({
      id: iamWildcardResourceFinding(this, `${this.function.lambdaFunction.functionArn}:*`),
      reason:
        'The Provider framework invokes the one handler function of this custom resource; the :* suffix covers ' +
        'its versions and aliases, not other functions.',
    });
    const frameworkFunction = framework.node.defaultChild!;
    const reasons: Record<string, string> = {
      'Serverless-LambdaDLQ':
        'CloudFormation invokes the Provider framework function once per lifecycle event and the framework ' +
        'itself answers CloudFormation on every failure; a DLQ would hold events nobody could replay.',
      'Serverless-LambdaDefaultMemorySize':
        "The Provider framework function is aws-cdk-lib's and the Provider exposes no memory setting; it only " +
        'relays one event per deploy to the handler, for which the default memory is plenty.',
      'Serverless-LambdaTracing':
        "The Provider framework function is aws-cdk-lib's and the Provider exposes no tracing setting; the " +
        'handler it invokes is traced (BaseFunction), and the framework logs every event it relays.',
    };
    for (const [id, reason] of Object.entries(reasons)) {
      Validations.of(frameworkFunction).acknowledge({ id, reason });
    }
  }
}

/** Everything the construct needs, checked before anything is created. */
function validateSearchRoleMappingProps(path: string, props: SearchRoleMappingProps): void {
  if (
    Token.isUnresolved(props.search.domainName) ||
    !/^[a-z][a-z0-9-]{2,27}$/.test(props.search.domainName)
  ) {
    throw new InvalidPropsError(
      path,
      'search.domainName',
      `must be a literal OpenSearch Service domain name, got "${props.search.domainName}"`,
    );
  }
  if (
    props.search.domainEndpoint.trim() === '' ||
    (!Token.isUnresolved(props.search.domainEndpoint) && !/^[a-z0-9.-]+$/.test(props.search.domainEndpoint))
  ) {
    throw new InvalidPropsError(
      path,
      'search.domainEndpoint',
      `must be the domain's endpoint host name, without a scheme, got "${props.search.domainEndpoint}"`,
    );
  }
  if (
    !Token.isUnresolved(props.search.masterUserArn) &&
    !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(props.search.masterUserArn)
  ) {
    throw new InvalidPropsError(
      path,
      'search.masterUserArn',
      `must be the ARN of an IAM role (the domain's master user), got "${props.search.masterUserArn}"`,
    );
  }
}
