import {
  type BulkEmailEntry,
  type BulkEmailEntryResult,
  type BulkEmailStatus,
  SendBulkEmailCommand,
  type SendBulkEmailCommandOutput,
} from '@aws-sdk/client-sesv2';
import { Outcome, type RecordOutcome } from '../../shared/stream/stream-handler.js';
import {
  type EmailKind,
  emailTagValue,
  ORDER_EMAIL_ID,
  type OrderEmail,
  POSSIBLE_DUPLICATE,
} from '../messages.js';
import { type EmailSender, SES_BULK_EMAIL_MAX, type SendOptions } from '../ports.js';
import { BatchTooLargeError } from './batch-entry-failure.js';

/**
 * The part of an SESv2 client the sender uses. `SESv2Client` satisfies it; the local sandbox passes a stand-in that
 * writes files instead.
 */
export interface SesBulkEmailClient {
  send(command: SendBulkEmailCommand): Promise<SendBulkEmailCommandOutput>;
}

export interface SesEmailSenderOptions {
  /** The From address: an address of the verified SES identity. */
  readonly fromAddress: string;
  /** The SES template of each kind of e-mail. */
  readonly templates: Readonly<Record<EmailKind, string>>;
}

const SERVICE = 'SES SendBulkEmail';

/**
 * The template data of DefaultContent. SES uses it only for an entry without ReplacementTemplateData, and every
 * entry here has its own, so it is never rendered; it is empty rather than a set of blanks so that if it ever were,
 * the template would fail to render instead of sending an e-mail with empty fields.
 */
export const DEFAULT_TEMPLATE_DATA = '{}';

type EntryKind = RecordOutcome['kind'];

/**
 * What each BulkEmailEntryResult status means for the e-mail's record (the statuses are the BulkEmailStatus enum of
 * @aws-sdk/client-sesv2; `satisfies` makes a status added to the SDK a compile error here). Only a problem of this
 * e-mail's content is permanent; an account, quota or configuration problem stops every e-mail alike until an
 * operator fixes it, and dead-lettering them all during the outage would lose them, so it is transient and the
 * iterator-age alarm tells the operator.
 */
export const SES_STATUS_KINDS = {
  /** Accepted; SES will try to deliver it. */
  SUCCESS: 'ok',
  /** The message was rejected (SES's virus scan): the content itself, sending it again fails again. */
  MESSAGE_REJECTED: 'permanent',
  /** A parameter of this entry is invalid (e.g. a malformed address, template data SES refuses): the content. */
  INVALID_PARAMETER: 'permanent',
  /** The sending rate was exceeded: a retry at a lower rate succeeds. */
  ACCOUNT_THROTTLED: 'transient',
  /** The 24-hour quota is used up: it refills, or an operator has it raised. */
  ACCOUNT_DAILY_QUOTA_EXCEEDED: 'transient',
  /** SES's own temporary problem. */
  TRANSIENT_FAILURE: 'transient',
  /** Unspecified failure ("unable to process your request"): when in doubt, retry (see classifyError). */
  FAILED: 'transient',
  /** The sender's identity is not verified: configuration, the same for every e-mail. */
  MAIL_FROM_DOMAIN_NOT_VERIFIED: 'transient',
  /** The template does not exist (not deployed yet, or misnamed): configuration. */
  TEMPLATE_NOT_FOUND: 'transient',
  /** The configuration set does not exist: configuration. */
  CONFIGURATION_SET_NOT_FOUND: 'transient',
  /** Sending was paused for the configuration set: an operator resumes it. */
  CONFIGURATION_SET_SENDING_PAUSED: 'transient',
  /** The configuration set names an IP pool that does not exist: configuration. */
  INVALID_SENDING_POOL_NAME: 'transient',
  /** Sending was paused for the account: an operator resumes it. */
  ACCOUNT_SENDING_PAUSED: 'transient',
  /** The account was shut down: nothing can be sent until AWS and an operator resolve it. */
  ACCOUNT_SUSPENDED: 'transient',
} as const satisfies Record<BulkEmailStatus, EntryKind>;

/**
 * EmailSender on SESv2: one SendBulkEmail call per sendBulk, every e-mail with the template of its kind and its
 * own template data. Each e-mail carries its id (ORDER_EMAIL_ID) as the message tag `order-email-id` (SES event
 * publishing) and the header `X-Order-Email-Id` (the recipient's side): SES applies an entry's ReplacementHeaders to
 * a templated e-mail, over the template's own headers of the same name (SESv2 API reference, BulkEmailEntry). A re-send
 * of a claimed e-mail also carries the tag `possible-duplicate` = `true`.
 */
export class SesEmailSender implements EmailSender {
  readonly #client: SesBulkEmailClient;
  readonly #fromAddress: string;
  readonly #templates: Readonly<Record<EmailKind, string>>;

  public constructor(client: SesBulkEmailClient, options: SesEmailSenderOptions) {
    this.#client = client;
    this.#fromAddress = options.fromAddress;
    this.#templates = { ...options.templates };
  }

  public async sendBulk(
    kind: EmailKind,
    emails: readonly OrderEmail[],
    options: SendOptions = {},
  ): Promise<RecordOutcome[]> {
    if (emails.length > SES_BULK_EMAIL_MAX) {
      throw new BatchTooLargeError(SERVICE, emails.length, SES_BULK_EMAIL_MAX);
    }
    const stray = emails.find((email) => email.kind !== kind);
    if (stray !== undefined) {
      // One call has one template: an e-mail of another kind would go out with the wrong text.
      throw new Error(`${SERVICE}: e-mail ${stray.emailId} is of kind ${stray.kind}, not ${kind}`);
    }
    if (emails.length === 0) {
      return [];
    }
    // A whole-call failure (throttling, a paused account, a 5xx) propagates: the domain classifies it.
    const output = await this.#client.send(
      new SendBulkEmailCommand({
        FromEmailAddress: this.#fromAddress,
        DefaultContent: {
          Template: { TemplateName: this.#templates[kind], TemplateData: DEFAULT_TEMPLATE_DATA },
        },
        BulkEmailEntries: emails.map((email, index) =>
          toEntry(email, options.possibleDuplicates?.has(index) ?? false),
        ),
      }),
    );
    // SES answers with one result per entry, in the order of the entries.
    const results = output.BulkEmailEntryResults ?? [];
    return emails.map((email, index) => toOutcome(email, results[index]));
  }
}

function toEntry(email: OrderEmail, possibleDuplicate: boolean): BulkEmailEntry {
  return {
    Destination: { ToAddresses: [email.to] },
    ReplacementEmailContent: { ReplacementTemplate: { ReplacementTemplateData: JSON.stringify(email.data) } },
    ReplacementTags: [
      { Name: ORDER_EMAIL_ID.tag, Value: emailTagValue(email.emailId) },
      ...(possibleDuplicate ? [{ Name: POSSIBLE_DUPLICATE.tag, Value: POSSIBLE_DUPLICATE.value }] : []),
    ],
    ReplacementHeaders: [{ Name: ORDER_EMAIL_ID.header, Value: email.emailId }],
  };
}

function toOutcome(email: OrderEmail, result: BulkEmailEntryResult | undefined): RecordOutcome {
  if (result === undefined) {
    return Outcome.transient(`${SERVICE} reported no result for e-mail ${email.emailId}`);
  }
  const status = result.Status;
  const kind: EntryKind | undefined = status === undefined ? undefined : statusKind(status);
  if (kind === 'ok') {
    return Outcome.ok();
  }
  const detail = result.Error === undefined || result.Error === '' ? '' : `: ${result.Error}`;
  const reason = `${SERVICE} failed e-mail ${email.emailId} with ${status ?? 'no status'}${detail}`;
  // A status this code does not know (a newer SES) or none at all is transient: when in doubt, retry.
  return kind === 'permanent' ? Outcome.permanent(reason, status) : Outcome.transient(reason);
}

function statusKind(status: string): EntryKind | undefined {
  return Object.hasOwn(SES_STATUS_KINDS, status)
    ? SES_STATUS_KINDS[status as keyof typeof SES_STATUS_KINDS]
    : undefined;
}
