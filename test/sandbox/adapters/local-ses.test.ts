import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BadRequestException,
  type BulkEmailEntry,
  NotFoundException,
  SendBulkEmailCommand,
  SendEmailCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SesEmailSender } from '../../../lambdas/order-fanout/adapters/ses-email-sender.js';
import type { OrderEmail } from '../../../lambdas/order-fanout/messages.js';
import { classifyError } from '../../../lambdas/shared/errors.js';
import {
  type LocalEmailTemplate,
  LocalSesClient,
  readOutbox,
  renderTemplateText,
} from '../../../sandbox/adapters/local-ses.js';
import { scriptedFaults } from '../support/scripted-faults.js';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const TEMPLATES = new Map<string, LocalEmailTemplate>([
  ['placed', { name: 'placed', subject: 'Order {{orderId}}', text: 'Total: {{ total }}.{{missing}}' }],
]);

function bulkEntry(to: string, data: Record<string, string>): BulkEmailEntry {
  return {
    Destination: { ToAddresses: [to] },
    ReplacementEmailContent: { ReplacementTemplate: { ReplacementTemplateData: JSON.stringify(data) } },
  };
}

function bulk(entries: BulkEmailEntry[], template = 'placed'): SendBulkEmailCommand {
  return new SendBulkEmailCommand({
    FromEmailAddress: 'orders@example.com',
    DefaultContent: { Template: { TemplateName: template, TemplateData: '{}' } },
    BulkEmailEntries: entries,
  });
}

describe('renderTemplateText', () => {
  it('substitutes {{name}} and renders a missing value empty', () => {
    expect(renderTemplateText('a {{x}} b {{ y }} c {{z}}', { x: 1, y: 'two' })).toBe('a 1 b two c ');
  });
});

describe('LocalSesClient', () => {
  let outputDir: string;
  beforeEach(() => {
    outputDir = mkdtempSync(join(tmpdir(), 'local-ses-test-'));
  });
  afterEach(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('sends a bulk e-mail per entry, rendered from the template with the entry data', async () => {
    // Prepare
    const ses = new LocalSesClient({ outputDir, templates: TEMPLATES, clock: () => NOW });

    // Act
    const output = await ses.send(
      bulk([
        bulkEntry('a@example.com', { orderId: 'o-1', total: '1.00 EUR' }),
        bulkEntry('b@example.com', {}),
      ]),
    );

    // Assess
    expect(output.BulkEmailEntryResults?.map((r) => r.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(await readOutbox(outputDir)).toEqual([
      {
        messageId: output.BulkEmailEntryResults?.[0]?.MessageId,
        sentAt: '2024-05-01T12:00:00.000Z',
        operation: 'SendBulkEmail',
        from: 'orders@example.com',
        to: ['a@example.com'],
        template: 'placed',
        data: { orderId: 'o-1', total: '1.00 EUR' },
        subject: 'Order o-1',
        text: 'Total: 1.00 EUR.',
      },
      expect.objectContaining({ to: ['b@example.com'], subject: 'Order ', data: {} }),
    ]);
    expect(ses.stats()).toMatchObject({
      calls: { SendBulkEmail: 1 },
      accepted: 2,
      sentByTemplate: { placed: 2 },
    });
  });

  it('answers TEMPLATE_NOT_FOUND per entry for a template the app does not have', async () => {
    // Prepare
    const ses = new LocalSesClient({ outputDir, templates: TEMPLATES });

    // Act
    const output = await ses.send(bulk([bulkEntry('a@example.com', {})], 'nope'));

    // Assess
    expect(output.BulkEmailEntryResults).toEqual([expect.objectContaining({ Status: 'TEMPLATE_NOT_FOUND' })]);
    expect(await readOutbox(outputDir)).toEqual([]);
  });

  it('fails an entry with a bad address or bad data as INVALID_PARAMETER, and sends the others', async () => {
    // Prepare
    const ses = new LocalSesClient({ outputDir, templates: TEMPLATES });
    const badData: BulkEmailEntry = {
      Destination: { ToAddresses: ['c@example.com'] },
      ReplacementEmailContent: { ReplacementTemplate: { ReplacementTemplateData: '[1]' } },
    };

    // Act
    const output = await ses.send(
      bulk([bulkEntry('not-an-address', {}), badData, bulkEntry('d@example.com', {})]),
    );

    // Assess
    expect(output.BulkEmailEntryResults?.map((r) => r.Status)).toEqual([
      'INVALID_PARAMETER',
      'INVALID_PARAMETER',
      'SUCCESS',
    ]);
    expect((await readOutbox(outputDir)).map((e) => e.to)).toEqual([['d@example.com']]);
  });

  it.each([
    ['no entries', bulk([])],
    ['51 entries', bulk(Array.from({ length: 51 }, (_u, i) => bulkEntry(`x${i}@example.com`, {})))],
    [
      'no From address',
      new SendBulkEmailCommand({
        DefaultContent: { Template: { TemplateName: 'placed' } },
        BulkEmailEntries: [bulkEntry('a@example.com', {})],
      }),
    ],
  ])('refuses a call with %s as BadRequest', async (_name, command) => {
    await expect(new LocalSesClient({ outputDir }).send(command)).rejects.toThrow(BadRequestException);
  });

  it('fails injected entries as ACCOUNT_THROTTLED and injected calls with TooManyRequests, writing nothing', async () => {
    // Prepare
    const ses = new LocalSesClient({ outputDir, faults: scriptedFaults({ entries: [0], calls: [1] }) });

    // Act
    const first = await ses.send(bulk([bulkEntry('a@example.com', {}), bulkEntry('b@example.com', {})]));
    const second = await ses.send(bulk([bulkEntry('c@example.com', {})])).catch((e: unknown) => e);

    // Assess
    expect(first.BulkEmailEntryResults?.map((r) => r.Status)).toEqual(['ACCOUNT_THROTTLED', 'SUCCESS']);
    expect(second).toBeInstanceOf(TooManyRequestsException);
    expect(classifyError(second)).toBe('transient');
    expect((await readOutbox(outputDir)).map((e) => e.to)).toEqual([['b@example.com']]);
    expect(ses.stats()).toMatchObject({ totalCalls: 2, injectedCallFaults: 1, injectedEntryFaults: 1 });
  });

  it('sends one templated e-mail with SendEmail, and answers NotFound for an unknown template', async () => {
    // Prepare
    const ses = new LocalSesClient({ outputDir, templates: TEMPLATES });
    const command = (name: string): SendEmailCommand =>
      new SendEmailCommand({
        FromEmailAddress: 'orders@example.com',
        Destination: { ToAddresses: ['a@example.com'] },
        Content: { Template: { TemplateName: name, TemplateData: '{"orderId":"o-9"}' } },
      });

    // Act
    const output = await ses.send(command('placed'));
    const unknown = ses.send(command('nope'));

    // Assess
    expect(output.MessageId).toEqual(expect.any(String));
    await expect(unknown).rejects.toThrow(NotFoundException);
    expect(await readOutbox(outputDir)).toEqual([
      expect.objectContaining({ operation: 'SendEmail', subject: 'Order o-9', template: 'placed' }),
    ]);
  });

  it("serves the fan-out's SesEmailSender: one outcome per e-mail", async () => {
    // Prepare
    const ses = new LocalSesClient({
      outputDir,
      templates: TEMPLATES,
      faults: scriptedFaults({ entries: [1] }),
    });
    const sender = fanoutSender(ses);

    // Act
    const outcomes = await sender.sendBulk('placed', [orderEmail('o-1'), orderEmail('o-2')]);

    // Assess
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'transient']);
    expect((await readOutbox(outputDir)).map((e) => e.subject)).toEqual(['Order o-1']);
  });

  it("records the e-mail id and the possible-duplicate mark the fan-out's SesEmailSender sends", async () => {
    // Prepare
    const ses = new LocalSesClient({ outputDir });
    const sender = fanoutSender(ses);

    // Act
    await sender.sendBulk('placed', [orderEmail('o-1'), orderEmail('o-2')], {
      possibleDuplicates: new Set([1]),
    });

    // Assess
    expect((await readOutbox(outputDir)).map((e) => [e.headers, e.tags])).toEqual([
      [{ 'X-Order-Email-Id': 'o-1:1:email-placed' }, { 'order-email-id': 'o-1_1_email-placed' }],
      [
        { 'X-Order-Email-Id': 'o-2:1:email-placed' },
        { 'order-email-id': 'o-2_1_email-placed', 'possible-duplicate': 'true' },
      ],
    ]);
  });
});

/** The fan-out's sender on the stand-in, with templates named after their kinds. */
function fanoutSender(ses: LocalSesClient): SesEmailSender {
  return new SesEmailSender(ses, {
    fromAddress: 'orders@example.com',
    templates: { placed: 'placed', shipped: 'shipped', cancelled: 'cancelled' },
  });
}

/** A placed e-mail of order `orderId`. */
function orderEmail(orderId: string): OrderEmail {
  return {
    emailId: `${orderId}:1:email-placed`,
    kind: 'placed',
    to: `${orderId}@example.com`,
    data: { orderId, customerId: 'c-1', total: '1.00 EUR', lineCount: '1' },
  };
}
