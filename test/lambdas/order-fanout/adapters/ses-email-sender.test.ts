import 'aws-sdk-client-mock-vitest/extend';
import {
  BulkEmailStatus,
  SESv2Client,
  SendBulkEmailCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { BatchTooLargeError } from '../../../../lambdas/order-fanout/adapters/batch-entry-failure.js';
import {
  DEFAULT_TEMPLATE_DATA,
  type SesBulkEmailClient,
  SesEmailSender,
} from '../../../../lambdas/order-fanout/adapters/ses-email-sender.js';
import { emailTagValue, type OrderEmail } from '../../../../lambdas/order-fanout/messages.js';
import type { RecordOutcome } from '../../../../lambdas/shared/stream/stream-handler.js';
import { placedEmail } from './factories.js';

const FROM = 'orders@shop.example.com';
const TEMPLATES = { placed: 'order-placed-v1', shipped: 'order-shipped-v1', cancelled: 'order-cancelled-v1' };
const ses = mockClient(SESv2Client);

function sender(): SesEmailSender {
  return new SesEmailSender(new SESv2Client({}), { fromAddress: FROM, templates: TEMPLATES });
}

function emails(count: number): OrderEmail[] {
  return Array.from({ length: count }, (_unused, n) => placedEmail(n));
}

/** What each status of the SDK's BulkEmailStatus enum must map to. */
const EXPECTED_KINDS: Record<BulkEmailStatus, RecordOutcome['kind']> = {
  SUCCESS: 'ok',
  MESSAGE_REJECTED: 'permanent',
  INVALID_PARAMETER: 'permanent',
  ACCOUNT_THROTTLED: 'transient',
  ACCOUNT_DAILY_QUOTA_EXCEEDED: 'transient',
  TRANSIENT_FAILURE: 'transient',
  FAILED: 'transient',
  MAIL_FROM_DOMAIN_NOT_VERIFIED: 'transient',
  TEMPLATE_NOT_FOUND: 'transient',
  CONFIGURATION_SET_NOT_FOUND: 'transient',
  CONFIGURATION_SET_SENDING_PAUSED: 'transient',
  INVALID_SENDING_POOL_NAME: 'transient',
  ACCOUNT_SENDING_PAUSED: 'transient',
  ACCOUNT_SUSPENDED: 'transient',
};

describe('SesEmailSender', () => {
  beforeEach(() => {
    ses.reset();
  });

  it('accepts the real SESv2Client as its client (type-level check)', () => {
    expectTypeOf<SESv2Client>().toExtend<SesBulkEmailClient>();
  });

  it.each([
    ['placed', TEMPLATES.placed],
    ['shipped', TEMPLATES.shipped],
    ['cancelled', TEMPLATES.cancelled],
  ] as const)(
    'sends %s e-mails as one SendBulkEmail with template %s and per-entry data',
    async (kind, template) => {
      // Prepare
      const batch = [
        placedEmail(1, { kind, emailId: `o-1:2:email-${kind}` }),
        placedEmail(2, { kind, emailId: `o-2:2:email-${kind}` }),
      ];
      ses.on(SendBulkEmailCommand).resolves({
        BulkEmailEntryResults: [
          { Status: 'SUCCESS', MessageId: 'ses-1' },
          { Status: 'SUCCESS', MessageId: 'ses-2' },
        ],
      });

      // Act
      const results = await sender().sendBulk(kind, batch);

      // Assess
      expect(results).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
      expect(ses).toHaveReceivedCommandTimes(SendBulkEmailCommand, 1);
      expect(ses.commandCalls(SendBulkEmailCommand)[0]?.args[0].input).toStrictEqual({
        FromEmailAddress: FROM,
        DefaultContent: { Template: { TemplateName: template, TemplateData: DEFAULT_TEMPLATE_DATA } },
        BulkEmailEntries: batch.map((email) => ({
          Destination: { ToAddresses: [email.to] },
          ReplacementEmailContent: {
            ReplacementTemplate: { ReplacementTemplateData: JSON.stringify(email.data) },
          },
          ReplacementTags: [{ Name: 'order-email-id', Value: email.emailId.replaceAll(':', '_') }],
          ReplacementHeaders: [{ Name: 'X-Order-Email-Id', Value: email.emailId }],
        })),
      });
    },
  );

  it('sends each e-mail id as a tag and a header, and tags only the re-sends as possible duplicates', async () => {
    // Prepare
    const batch = [placedEmail(1), placedEmail(2)];
    ses.on(SendBulkEmailCommand).resolves({
      BulkEmailEntryResults: [{ Status: 'SUCCESS' }, { Status: 'SUCCESS' }],
    });

    // Act
    await sender().sendBulk('placed', batch, { possibleDuplicates: new Set([0]) });

    // Assess
    const entries = ses.commandCalls(SendBulkEmailCommand)[0]?.args[0].input.BulkEmailEntries;
    expect(entries?.map((entry) => [entry.ReplacementTags, entry.ReplacementHeaders])).toStrictEqual([
      [
        [
          { Name: 'order-email-id', Value: 'o-1_1_email-placed' },
          { Name: 'possible-duplicate', Value: 'true' },
        ],
        [{ Name: 'X-Order-Email-Id', Value: 'o-1:1:email-placed' }],
      ],
      [
        [{ Name: 'order-email-id', Value: 'o-2_1_email-placed' }],
        [{ Name: 'X-Order-Email-Id', Value: 'o-2:1:email-placed' }],
      ],
    ]);
  });

  it('encodes an e-mail id into the characters SES allows in a tag value, deterministically and at most 256', () => {
    // Act
    const encoded = [
      emailTagValue('3f6c1e2a-0b4d-4c8e-9f10-a1b2c3d4e5f6:12:email-shipped'),
      emailTagValue('weird id/ü.#:1:email-placed'),
      emailTagValue(`${'x'.repeat(300)}:1:email-placed`),
    ];

    // Assess
    expect(encoded[0]).toBe('3f6c1e2a-0b4d-4c8e-9f10-a1b2c3d4e5f6_12_email-shipped');
    expect(encoded[1]).toBe('weird_id_____1_email-placed');
    expect(encoded[2]).toHaveLength(256);
    for (const value of encoded) expect(value).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
  });

  it('covers every status of the SDK enum in the mapping under test', () => {
    expect(Object.keys(EXPECTED_KINDS).sort()).toEqual(Object.values(BulkEmailStatus).sort());
  });

  describe.each(Object.entries(EXPECTED_KINDS))('a result with status %s', (status, expected) => {
    it(`is ${expected}`, async () => {
      // Prepare
      ses.on(SendBulkEmailCommand).resolves({
        BulkEmailEntryResults: [
          { Status: 'SUCCESS', MessageId: 'ses-0' },
          { Status: status as BulkEmailStatus, Error: 'details' },
        ],
      });

      // Act
      const results = await sender().sendBulk('placed', emails(2));

      // Assess
      expect(results[0]).toEqual({ kind: 'ok' });
      expect(results[1]?.kind).toBe(expected);
      if (expected !== 'ok') {
        expect(results[1]).toMatchObject({
          reason: `SES SendBulkEmail failed e-mail o-1:1:email-placed with ${status}: details`,
        });
      }
      if (expected === 'permanent') {
        expect(results[1]).toMatchObject({ errorName: status });
      }
    });
  });

  it('maps results by position, and a missing result or status to transient', async () => {
    // Prepare
    ses.on(SendBulkEmailCommand).resolves({
      BulkEmailEntryResults: [
        { Status: 'MESSAGE_REJECTED', Error: 'virus' },
        {},
        { Status: 'SUCCESS', MessageId: 'ses-2' },
        // A status a later SDK may add.
        { Status: 'SOMETHING_NEW' as BulkEmailStatus },
        // No fifth result.
      ],
    });

    // Act
    const results = await sender().sendBulk('placed', emails(5));

    // Assess
    expect(results).toEqual([
      {
        kind: 'permanent',
        reason: 'SES SendBulkEmail failed e-mail o-0:1:email-placed with MESSAGE_REJECTED: virus',
        errorName: 'MESSAGE_REJECTED',
      },
      { kind: 'transient', reason: 'SES SendBulkEmail failed e-mail o-1:1:email-placed with no status' },
      { kind: 'ok' },
      { kind: 'transient', reason: 'SES SendBulkEmail failed e-mail o-3:1:email-placed with SOMETHING_NEW' },
      { kind: 'transient', reason: 'SES SendBulkEmail reported no result for e-mail o-4:1:email-placed' },
    ]);
  });

  it('treats every e-mail as unreported when the response has no results', async () => {
    // Prepare
    ses.on(SendBulkEmailCommand).resolves({});

    // Act
    const results = await sender().sendBulk('placed', emails(2));

    // Assess
    expect(results.map((result) => result.kind)).toEqual(['transient', 'transient']);
  });

  it('throws a whole-call failure for the domain to classify', async () => {
    // Prepare
    const throttled = new TooManyRequestsException({ message: 'Too many requests', $metadata: {} });
    ses.on(SendBulkEmailCommand).rejects(throttled);

    // Act
    const sending = sender().sendBulk('placed', emails(2));

    // Assess
    await expect(sending).rejects.toBe(throttled);
  });

  it('takes SES_BULK_EMAIL_MAX e-mails in one call and refuses more without calling SES', async () => {
    // Prepare
    ses.on(SendBulkEmailCommand).resolves({
      BulkEmailEntryResults: Array.from({ length: 50 }, () => ({ Status: 'SUCCESS' as const })),
    });

    // Act
    const full = await sender().sendBulk('placed', emails(50));
    const tooMany = sender().sendBulk('placed', emails(51));

    // Assess
    expect(full).toHaveLength(50);
    await expect(tooMany).rejects.toThrow(BatchTooLargeError);
    expect(ses).toHaveReceivedCommandTimes(SendBulkEmailCommand, 1);
  });

  it('refuses an e-mail of another kind than the call, which would go out with the wrong template', async () => {
    // Act
    const sending = sender().sendBulk('shipped', [placedEmail(1)]);

    // Assess
    await expect(sending).rejects.toThrow('e-mail o-1:1:email-placed is of kind placed, not shipped');
    expect(ses).not.toHaveReceivedCommand(SendBulkEmailCommand);
  });

  it('answers an empty batch without calling SES', async () => {
    // Act
    const results = await sender().sendBulk('placed', []);

    // Assess
    expect(results).toEqual([]);
    expect(ses).not.toHaveReceivedCommand(SendBulkEmailCommand);
  });
});
