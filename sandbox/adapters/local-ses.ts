import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  BadRequestException,
  type BulkEmailEntry,
  type BulkEmailEntryResult,
  type Destination,
  type MessageHeader,
  type MessageTag,
  NotFoundException,
  SendBulkEmailCommand,
  type SendBulkEmailCommandOutput,
  SendEmailCommand,
  type SendEmailCommandOutput,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { assertInvocationAlive } from '../invocation-deadline.js';
import { JsonLinesFile, readJsonLines } from './json-lines-file.js';
import {
  contentKey,
  type LocalServiceStats,
  NO_SERVICE_FAULTS,
  type ServiceFaultHook,
  ServiceStatsRecorder,
  UnsupportedLocalCommandError,
} from './service-faults.js';

/**
 * Local SES (v2): a stand-in for the SESv2 client's `send` with SendEmail and SendBulkEmail, answering like the
 * service does (SendBulkEmail: one BulkEmailEntryResult per entry, in order) and appending every accepted e-mail to
 * `<outputDir>/ses/outbox.jsonl`: from, to, the template name and data, and the subject and text rendered from the
 * template when the sandbox knows it (the synthesized `AWS::SES::Template` resources). Rendering substitutes
 * `{{name}}` with the data's value, which is all the app's templates use; SES's full Handlebars (conditions,
 * loops, helpers) is not implemented, and a template that uses it is rendered with those parts left as they are.
 */

/** SES's limits that the stand-in enforces. */
export const SES_LIMITS = {
  /** Entries of one SendBulkEmail. */
  bulkEntries: 50,
  /** Recipients (To, Cc and Bcc together) of one e-mail. */
  recipients: 50,
} as const;

/** The file every accepted e-mail is appended to. */
export function localOutboxFilePath(outputDir: string): string {
  return join(outputDir, 'ses', 'outbox.jsonl');
}

/** A template as the sandbox knows it from the synthesized template (AWS::SES::Template). */
export interface LocalEmailTemplate {
  readonly name: string;
  readonly subject?: string;
  readonly text?: string;
  readonly html?: string;
}

/** One line of the outbox: one accepted e-mail. */
export interface LocalEmail {
  readonly messageId: string;
  /** ISO-8601 time it was accepted. */
  readonly sentAt: string;
  readonly operation: 'SendEmail' | 'SendBulkEmail';
  readonly from: string;
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly bcc?: readonly string[];
  /** The template name of a templated e-mail. */
  readonly template?: string;
  /** The template data it was rendered with (the entry's replacement data, or the default data). */
  readonly data?: Readonly<Record<string, unknown>>;
  /** Rendered from the template when the sandbox knows it, or the simple content's. */
  readonly subject?: string;
  readonly text?: string;
  /** Message tags by name. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Custom headers by name. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The e-mails of the outbox; empty when nothing was sent. */
export function readOutbox(outputDir: string): Promise<LocalEmail[]> {
  return readJsonLines<LocalEmail>(localOutboxFilePath(outputDir));
}

/** `{{ name }}` replaced by `data[name]` (absent: empty, as SES's Handlebars renders a missing value). */
export function renderTemplateText(text: string, data: Readonly<Record<string, unknown>>): string {
  return text.replace(/\{\{\s*([A-Za-z_$][\w$]*)\s*\}\}/g, (_match, name: string) => {
    const value = data[name];
    return value === undefined || value === null ? '' : String(value);
  });
}

export interface LocalSesClientOptions {
  /** Where the outbox goes (`<outputDir>/ses/`). */
  readonly outputDir: string;
  /**
   * The templates by name. When given, a name not in it is answered as SES does for a template that does not exist;
   * when absent, every name is accepted and nothing is rendered.
   */
  readonly templates?: ReadonlyMap<string, LocalEmailTemplate>;
  /** @default no faults */
  readonly faults?: ServiceFaultHook;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** LocalServiceStats plus the e-mails accepted per template name (`(none)` for simple content). */
export interface LocalSesStats extends LocalServiceStats {
  readonly sentByTemplate: Readonly<Record<string, number>>;
}

const $metadata = { httpStatusCode: 200 };
const ADDRESS_PATTERN = /^[^@\s]+@[^@\s]+$/;

/** The stand-in client; see the module comment. */
export class LocalSesClient {
  readonly #file: JsonLinesFile;
  readonly #templates: ReadonlyMap<string, LocalEmailTemplate> | undefined;
  readonly #faults: ServiceFaultHook;
  readonly #clock: () => number;
  readonly #stats = new ServiceStatsRecorder();
  readonly #sentByTemplate = new Map<string, number>();

  public constructor(options: LocalSesClientOptions) {
    this.#file = new JsonLinesFile(localOutboxFilePath(options.outputDir));
    this.#templates = options.templates;
    this.#faults = options.faults ?? NO_SERVICE_FAULTS;
    this.#clock = options.clock ?? Date.now;
  }

  public send(command: SendBulkEmailCommand): Promise<SendBulkEmailCommandOutput>;
  public send(command: SendEmailCommand): Promise<SendEmailCommandOutput>;
  public async send(
    command: SendBulkEmailCommand | SendEmailCommand,
  ): Promise<SendBulkEmailCommandOutput | SendEmailCommandOutput> {
    if (command instanceof SendBulkEmailCommand) return this.#sendBulk(command);
    if (command instanceof SendEmailCommand) return this.#sendOne(command);
    throw new UnsupportedLocalCommandError('SESv2', command);
  }

  public stats(): LocalSesStats {
    return { ...this.#stats.snapshot(), sentByTemplate: Object.fromEntries(this.#sentByTemplate) };
  }

  /** Resolves once every e-mail accepted so far is in the outbox. */
  public flush(): Promise<void> {
    return this.#file.flush();
  }

  public destroy(): void {}

  async #sendBulk(command: SendBulkEmailCommand): Promise<SendBulkEmailCommandOutput> {
    const operation = 'SendBulkEmail';
    this.#stats.call(operation);
    assertInvocationAlive(`SES ${operation}`);
    const { FromEmailAddress, DefaultContent, BulkEmailEntries, DefaultEmailTags } = command.input;
    const entries: BulkEmailEntry[] = BulkEmailEntries ?? [];
    this.#stats.entries(entries.length);
    const from = requireFrom(FromEmailAddress);
    const templateName = DefaultContent?.Template?.TemplateName;
    if (templateName === undefined || templateName === '') {
      throw badRequest(
        'DefaultContent.Template.TemplateName is required (inline templates are not supported)',
      );
    }
    if (entries.length === 0 || entries.length > SES_LIMITS.bulkEntries) {
      throw badRequest(
        `BulkEmailEntries must have 1 to ${SES_LIMITS.bulkEntries} entries, got ${entries.length}`,
      );
    }
    const defaultData = parseTemplateData(DefaultContent?.Template?.TemplateData);
    if (defaultData === 'invalid') {
      throw badRequest('DefaultContent.Template.TemplateData is not a JSON object');
    }
    const entryKeys = entries.map((entry) =>
      contentKey(templateName, entry.Destination, entry.ReplacementEmailContent),
    );
    this.#maybeFailCall(operation, contentKey(from, entryKeys));
    const template = this.#templates?.get(templateName);

    const results: BulkEmailEntryResult[] = [];
    const writes: Promise<void>[] = [];
    entries.forEach((entry, index) => {
      if (this.#templates !== undefined && template === undefined) {
        this.#stats.failedEntry(false);
        results.push({ Status: 'TEMPLATE_NOT_FOUND', Error: `Template ${templateName} does not exist.` });
        return;
      }
      const replacement = entry.ReplacementEmailContent?.ReplacementTemplate?.ReplacementTemplateData;
      const data = replacement === undefined ? defaultData : parseTemplateData(replacement);
      const problem =
        data === 'invalid'
          ? 'ReplacementTemplateData is not a JSON object'
          : invalidDestination(entry.Destination);
      if (problem !== undefined) {
        this.#stats.failedEntry(false);
        results.push({ Status: 'INVALID_PARAMETER', Error: problem });
        return;
      }
      if (this.#faults.failEntry({ service: 'ses', operation, key: entryKeys[index]! })) {
        this.#stats.failedEntry(true);
        results.push({
          Status: 'ACCOUNT_THROTTLED',
          Error: 'Maximum sending rate exceeded (injected by the sandbox)',
        });
        return;
      }
      const messageId = randomUUID();
      writes.push(
        this.#write({
          messageId,
          operation,
          from,
          destination: entry.Destination,
          templateName,
          template,
          data: data as Readonly<Record<string, unknown>>,
          tags: [...(DefaultEmailTags ?? []), ...(entry.ReplacementTags ?? [])],
          headers: [...(DefaultContent?.Template?.Headers ?? []), ...(entry.ReplacementHeaders ?? [])],
        }),
      );
      this.#stats.accepted();
      results.push({ Status: 'SUCCESS', MessageId: messageId });
    });
    await Promise.all(writes);
    return { BulkEmailEntryResults: results, $metadata };
  }

  async #sendOne(command: SendEmailCommand): Promise<SendEmailCommandOutput> {
    const operation = 'SendEmail';
    this.#stats.call(operation);
    assertInvocationAlive(`SES ${operation}`);
    this.#stats.entries(1);
    const { FromEmailAddress, Destination: destination, Content, EmailTags } = command.input;
    const from = requireFrom(FromEmailAddress);
    const problem = invalidDestination(destination);
    if (problem !== undefined) {
      this.#stats.failedEntry(false);
      throw badRequest(problem);
    }
    const templateName = Content?.Template?.TemplateName;
    const simple = Content?.Simple;
    if (templateName === undefined && simple === undefined) {
      throw badRequest('Content must have a Template (by name) or Simple content');
    }
    let template: LocalEmailTemplate | undefined;
    let data: Readonly<Record<string, unknown>> | undefined;
    if (templateName !== undefined) {
      template = this.#templates?.get(templateName);
      if (this.#templates !== undefined && template === undefined) {
        this.#stats.failedEntry(false);
        throw new NotFoundException({
          message: `Template ${templateName} does not exist.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      const parsed = parseTemplateData(Content?.Template?.TemplateData);
      if (parsed === 'invalid') throw badRequest('Content.Template.TemplateData is not a JSON object');
      data = parsed;
    }
    this.#maybeFailCall(operation, contentKey(from, destination, Content));
    const messageId = randomUUID();
    await this.#write({
      messageId,
      operation,
      from,
      destination,
      templateName,
      template,
      data,
      simple: { subject: simple?.Subject?.Data, text: simple?.Body?.Text?.Data },
      tags: EmailTags ?? [],
      headers: [...(Content?.Template?.Headers ?? []), ...(simple?.Headers ?? [])],
    });
    this.#stats.accepted();
    return { MessageId: messageId, $metadata };
  }

  #maybeFailCall(operation: string, key: string): void {
    if (this.#faults.failCall({ service: 'ses', operation, key })) {
      this.#stats.injectedCallFault();
      const error = new TooManyRequestsException({
        message: 'Maximum sending rate exceeded (injected by the sandbox)',
        $metadata: { httpStatusCode: 429 },
      });
      Object.assign(error, { $retryable: { throttling: true } });
      throw error;
    }
  }

  #write(email: {
    readonly messageId: string;
    readonly operation: LocalEmail['operation'];
    readonly from: string;
    readonly destination: Destination | undefined;
    readonly templateName: string | undefined;
    readonly template: LocalEmailTemplate | undefined;
    readonly data: Readonly<Record<string, unknown>> | undefined;
    readonly simple?: { readonly subject: string | undefined; readonly text: string | undefined };
    readonly tags: readonly MessageTag[];
    readonly headers: readonly MessageHeader[];
  }): Promise<void> {
    const data = email.data ?? {};
    const subject =
      email.template?.subject === undefined
        ? email.simple?.subject
        : renderTemplateText(email.template.subject, data);
    const text =
      email.template?.text === undefined ? email.simple?.text : renderTemplateText(email.template.text, data);
    const to = email.destination?.ToAddresses ?? [];
    const cc = email.destination?.CcAddresses ?? [];
    const bcc = email.destination?.BccAddresses ?? [];
    const line: LocalEmail = {
      messageId: email.messageId,
      sentAt: new Date(this.#clock()).toISOString(),
      operation: email.operation,
      from: email.from,
      to,
      ...(cc.length === 0 ? {} : { cc }),
      ...(bcc.length === 0 ? {} : { bcc }),
      ...(email.templateName === undefined ? {} : { template: email.templateName, data }),
      ...(subject === undefined ? {} : { subject }),
      ...(text === undefined ? {} : { text }),
      ...(email.tags.length === 0
        ? {}
        : { tags: Object.fromEntries(email.tags.map((tag) => [tag.Name ?? '', tag.Value ?? ''])) }),
      ...(email.headers.length === 0
        ? {}
        : {
            headers: Object.fromEntries(
              email.headers.map((header) => [header.Name ?? '', header.Value ?? '']),
            ),
          }),
    };
    const key = email.templateName ?? '(none)';
    this.#sentByTemplate.set(key, (this.#sentByTemplate.get(key) ?? 0) + 1);
    return this.#file.append(line);
  }
}

function badRequest(message: string): BadRequestException {
  return new BadRequestException({ message, $metadata: { httpStatusCode: 400 } });
}

function requireFrom(from: string | undefined): string {
  if (from === undefined || !ADDRESS_PATTERN.test(from)) {
    throw badRequest(`FromEmailAddress must be an e-mail address, got ${JSON.stringify(from)}`);
  }
  return from;
}

/** Why SES would refuse an e-mail's recipients, if it would. */
function invalidDestination(destination: Destination | undefined): string | undefined {
  const all = [
    ...(destination?.ToAddresses ?? []),
    ...(destination?.CcAddresses ?? []),
    ...(destination?.BccAddresses ?? []),
  ];
  if (all.length === 0) return 'The e-mail has no recipient';
  if (all.length > SES_LIMITS.recipients) {
    return `The e-mail has ${all.length} recipients, more than ${SES_LIMITS.recipients}`;
  }
  const bad = all.find((address) => !ADDRESS_PATTERN.test(address));
  return bad === undefined ? undefined : `Invalid address ${JSON.stringify(bad)}`;
}

/** Template data as SES reads it: a JSON object (absent: empty); `invalid` for anything else. */
function parseTemplateData(text: string | undefined): Readonly<Record<string, unknown>> | 'invalid' {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : 'invalid';
  } catch {
    return 'invalid';
  }
}
