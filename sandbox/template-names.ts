import { ENV } from '../lambdas/shared/env.js';
import type { LocalEmailTemplate } from './adapters/local-ses.js';
import { type LocalTopicSettings, localTopicArn } from './adapters/local-sns.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './adapters/local-sqs.js';
import type { LocalQueueSettings } from './adapters/local-sqs-client.js';
import type { EsmConfig } from './esm/types.js';
import type { LocatedResource, SynthesizedApp } from './synth.js';
import { type LocalAttributeResolver, localEndpoint, type ResourceAddress } from './template-env.js';

/**
 * Template -> local names: what each resource of the synthesized template the sandbox stands in for is called
 * locally (queues, topics, buckets, SES templates, OpenSearch domains), the settings of queues and topics that change
 * how a send is answered, and the resolvers that turn a `Ref` or a `Fn::GetAtt` of the template into the local
 * name, URL or ARN (template-env.ts resolves a function's environment with them). Read from the template alone, so
 * a name the template cannot be given fails before anything starts.
 */

/** `<stackName>/<logicalId>`: how the maps of this module key a resource. */
export function addressKey(address: ResourceAddress): string {
  return `${address.stackName}/${address.logicalId}`;
}

/**
 * The local queue name of every SQS queue of the app: `<consumerName>-dlq` for a mapping's on-failure destination
 * (each consumer's own DLQ), otherwise the queue's construct path below its stack in kebab case (with `.fifo` kept
 * for FIFO queues), so that the files under `sqs/` read like the app's queues.
 */
export function localQueueNames(app: SynthesizedApp, configs: readonly EsmConfig[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const claim = (key: string, wanted: string, fallback: string): void => {
    const name = taken.has(wanted) ? fallback : wanted;
    taken.add(name);
    names.set(key, name);
  };
  for (const config of configs) {
    const destination = config.onFailureDestination;
    if (destination === undefined || names.has(addressKey(destination))) continue;
    claim(
      addressKey(destination),
      sanitizeQueueName(`${config.consumerName}-dlq`),
      sanitizeQueueName(destination.logicalId),
    );
  }
  for (const { stackName, logicalId, resource } of app.resourcesOfType('AWS::SQS::Queue')) {
    const key = addressKey({ stackName, logicalId });
    if (names.has(key)) continue;
    const fifo = resource.Properties?.FifoQueue === true;
    const cdkPath = resource.Metadata?.['aws:cdk:path'];
    const path = typeof cdkPath === 'string' ? cdkPath : '';
    const segments = path
      .split('/')
      .slice(1)
      .filter((segment) => segment !== 'Resource');
    const base = segments.length > 0 ? segments.map(kebabCase).join('-') : logicalId;
    const suffix = fifo ? '.fifo' : '';
    claim(key, sanitizeQueueName(base, suffix), sanitizeQueueName(logicalId, suffix));
  }
  return names;
}

/**
 * Local names for resources of one type, from their construct paths: the shortest tail of the path (below the stack,
 * without `Resource`) that no other resource of the type has taken and that is not a bare generic word, in kebab
 * case; e.g. `Messaging/OrderEvents` -> `order-events`, `OpsAlerts/Topic` -> `ops-alerts-topic`. A name the
 * template sets as a plain string wins.
 */
function localNamesByPath(
  resources: readonly LocatedResource[],
  explicitName: (resource: LocatedResource) => unknown,
  generic: ReadonlySet<string>,
  sanitize: (text: string) => string,
): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const ordered = [...resources].sort(
    (a, b) => Number(typeof explicitName(b) === 'string') - Number(typeof explicitName(a) === 'string'),
  );
  for (const located of ordered) {
    const key = addressKey(located);
    const explicit = explicitName(located);
    if (typeof explicit === 'string' && !taken.has(explicit)) {
      names.set(key, explicit);
      taken.add(explicit);
      continue;
    }
    const cdkPath = located.resource.Metadata?.['aws:cdk:path'];
    const segments = (typeof cdkPath === 'string' ? cdkPath : '')
      .split('/')
      .slice(1)
      .filter((segment) => segment !== 'Resource');
    let name: string | undefined;
    for (let length = 1; length <= segments.length && name === undefined; length += 1) {
      const candidate = sanitize(segments.slice(-length).map(kebabCase).join('-'));
      if (!generic.has(candidate) && !taken.has(candidate)) name = candidate;
    }
    name ??= sanitize(located.logicalId);
    taken.add(name);
    names.set(key, name);
  }
  return names;
}

/**
 * The local name of every S3 bucket of the app (directory `s3/<name>/`), by address: its BucketName when the template
 * sets one, else from its construct path (`Audit/Bucket` -> `audit-bucket`), as S3 names go: lowercase letters,
 * digits and hyphens, 3 to 63 of them.
 */
export function localBucketNames(app: SynthesizedApp): Map<string, string> {
  return localNamesByPath(
    app.resourcesOfType('AWS::S3::Bucket'),
    ({ resource }) => resource.Properties?.BucketName,
    new Set(['bucket']),
    (text) => {
      const name = text
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 63)
        .replace(/-+$/, '');
      return name.length >= 3 ? name : `${name}-bucket`.replace(/^-/, '');
    },
  );
}

/** The local topic name of every SNS topic of the app (file `sns/<name>.jsonl`), by address. */
export function localTopicNames(app: SynthesizedApp): Map<string, string> {
  return localNamesByPath(
    app.resourcesOfType('AWS::SNS::Topic'),
    ({ resource }) => resource.Properties?.TopicName,
    new Set(['topic']),
    (text) => {
      const fifo = text.endsWith('.fifo') ? '.fifo' : '';
      const base = (fifo === '' ? text : text.slice(0, -fifo.length)).replace(/[^A-Za-z0-9_-]+/g, '-');
      return `${base.slice(0, 256 - fifo.length) || 'topic'}${fifo}`;
    },
  );
}

/**
 * Every SES template of the app (AWS::SES::Template), by address, with a local name (the template's TemplateName
 * when it sets one; CloudFormation generates one otherwise, locally the path's) and its parts for rendering.
 */
export function localEmailTemplates(app: SynthesizedApp): Map<string, LocalEmailTemplate> {
  const located = app.resourcesOfType('AWS::SES::Template');
  const parts = (resource: LocatedResource): Record<string, unknown> =>
    (resource.resource.Properties?.Template ?? {}) as Record<string, unknown>;
  const names = localNamesByPath(
    located,
    (resource) => parts(resource).TemplateName,
    new Set(['template']),
    (text) => text.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 64) || 'template',
  );
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return new Map(
    located.map((resource) => {
      const { SubjectPart, TextPart, HtmlPart } = parts(resource);
      const template: LocalEmailTemplate = {
        name: names.get(addressKey(resource))!,
        ...(text(SubjectPart) === undefined ? {} : { subject: text(SubjectPart) }),
        ...(text(TextPart) === undefined ? {} : { text: text(TextPart) }),
        ...(text(HtmlPart) === undefined ? {} : { html: text(HtmlPart) }),
      };
      return [addressKey(resource), template];
    }),
  );
}

/** The settings of every SQS queue of the app that change how a send is answered, by local queue name. */
export function localQueueSettings(
  app: SynthesizedApp,
  queueNames: ReadonlyMap<string, string>,
): Map<string, LocalQueueSettings> {
  const settings = new Map<string, LocalQueueSettings>();
  for (const located of app.resourcesOfType('AWS::SQS::Queue')) {
    const name = queueNames.get(addressKey(located));
    if (name === undefined) continue;
    const properties = located.resource.Properties ?? {};
    settings.set(name, {
      fifo: properties.FifoQueue === true,
      contentBasedDeduplication: properties.ContentBasedDeduplication === true,
      deduplicationScope: properties.DeduplicationScope === 'messageGroup' ? 'messageGroup' : 'queue',
    });
  }
  return settings;
}

/** The settings of every SNS topic of the app that change how a publish is answered, by local topic name. */
export function localTopicSettings(
  app: SynthesizedApp,
  topicNames: ReadonlyMap<string, string>,
): Map<string, LocalTopicSettings> {
  const settings = new Map<string, LocalTopicSettings>();
  for (const located of app.resourcesOfType('AWS::SNS::Topic')) {
    const name = topicNames.get(addressKey(located));
    if (name === undefined) continue;
    const properties = located.resource.Properties ?? {};
    settings.set(name, {
      fifo: properties.FifoTopic === true,
      contentBasedDeduplication: properties.ContentBasedDeduplication === true,
      deduplicationScope: properties.FifoThroughputScope === 'MessageGroup' ? 'messageGroup' : 'topic',
    });
  }
  return settings;
}

function kebabCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** Keeps to SQS's naming rule: letters, digits, `-`, `_`, at most 80 characters with the suffix. */
function sanitizeQueueName(text: string, suffix = ''): string {
  const base = text.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'queue';
  return `${base.slice(0, 80 - suffix.length)}${suffix}`;
}

/**
 * Replicas of the `orders` index as the template gives its writers (SEARCH_INDEX_REPLICAS of the functions that have
 * it, a plain number); 0 when none has it. The sandbox prepares the index with them, as the first writer would.
 */
export function searchIndexReplicas(app: SynthesizedApp): number {
  for (const { resource } of app.resourcesOfType('AWS::Lambda::Function')) {
    const variables = (
      resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined
    )?.Variables;
    const value = variables?.[ENV.SEARCH_INDEX_REPLICAS];
    if (typeof value === 'string' && /^\d{1,2}$/.test(value)) return Number(value);
  }
  return 0;
}

/**
 * The local name of every OpenSearch domain of the app, by address: its DomainName when the template sets one
 * (`Ref` of a domain is its name), else the logical id in lower case.
 */
export function localDomainNames(app: SynthesizedApp): Map<string, string> {
  return new Map(
    app.resourcesOfType('AWS::OpenSearchService::Domain').map((located) => {
      const name = located.resource.Properties?.DomainName;
      return [addressKey(located), typeof name === 'string' ? name : located.logicalId.toLowerCase()];
    }),
  );
}

/**
 * Local values of the attributes of the app's OpenSearch domains: every domain's `DomainEndpoint` is the local
 * OpenSearch (so `https://` + it resolves to its `http://127.0.0.1:<port>`), its `Arn`/`DomainArn` a local ARN.
 */
export function domainAttributeResolver(
  domainNames: ReadonlyMap<string, string>,
  url: string,
): LocalAttributeResolver {
  return (address, attribute) => {
    const name = domainNames.get(addressKey(address));
    if (name === undefined) return undefined;
    if (attribute === 'DomainEndpoint') return localEndpoint(url);
    if (attribute === 'Arn' || attribute === 'DomainArn') {
      return `arn:aws:es:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:domain/${name}`;
    }
    return undefined;
  };
}

/** The local name of every resource of the template the sandbox stands in for, by address key. */
export interface LocalResourceNames {
  /** SQS queues (localQueueNames). */
  readonly queues: ReadonlyMap<string, string>;
  /** SNS topics (localTopicNames). */
  readonly topics: ReadonlyMap<string, string>;
  /** S3 buckets (localBucketNames). */
  readonly buckets: ReadonlyMap<string, string>;
  /** SES templates with their parts (localEmailTemplates). */
  readonly emailTemplates: ReadonlyMap<string, LocalEmailTemplate>;
  /** OpenSearch domains (localDomainNames). */
  readonly domains: ReadonlyMap<string, string>;
}

/** Every local name of the app's resources; `configs` name each consumer's on-failure queue after it. */
export function localResourceNames(app: SynthesizedApp, configs: readonly EsmConfig[]): LocalResourceNames {
  return {
    queues: localQueueNames(app, configs),
    topics: localTopicNames(app),
    buckets: localBucketNames(app),
    emailTemplates: localEmailTemplates(app),
    domains: localDomainNames(app),
  };
}

/**
 * Resolves a `Ref` of the template to its local value: a table's local name, a queue's local URL, a topic's local
 * ARN, and the names of buckets, SES templates and OpenSearch domains (what `Ref` gives for each of those types).
 * undefined for anything else.
 */
export function localRefResolver(
  names: LocalResourceNames,
  locals: {
    /** Each table's address and its local name. */
    readonly tables: Iterable<readonly [ResourceAddress, string]>;
    /** The URL of a local queue, by its local name. */
    readonly queueUrl: (queueName: string) => string;
  },
): (address: ResourceAddress) => string | undefined {
  const byAddress = new Map<string, string>();
  for (const [address, name] of locals.tables) byAddress.set(addressKey(address), name);
  for (const [key, name] of names.queues) byAddress.set(key, locals.queueUrl(name));
  for (const [key, name] of names.topics) byAddress.set(key, localTopicArn(name, LOCAL_REGION));
  for (const [key, name] of names.buckets) byAddress.set(key, name);
  for (const [key, template] of names.emailTemplates) byAddress.set(key, template.name);
  for (const [key, name] of names.domains) byAddress.set(key, name);
  return (address) => byAddress.get(addressKey(address));
}
