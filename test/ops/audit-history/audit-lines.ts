/** Record factories for the audit history's tests: audit lines as the audit log writes them, and their objects. */
import { type GetObjectCommandOutput, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  type AuditImage,
  type AuditLine,
  auditObjectKey,
  changedAttributes,
  encodeAuditObject,
} from '../../../lambdas/audit-log/audit-line.js';
import type { LocalS3Client } from '../../../sandbox/adapters/local-s3.js';

export const ORDER_ID = '0b8e1c9e-4f6a-4d2b-9c1e-2f3a4b5c6d7e';
export const OTHER_ORDER_ID = '7d6c5b4a-3f2e-4c1b-9a8e-0f1e2d3c4b5a';
export const TABLE = 'Orders';
export const AUDIT_BUCKET = 'audit-bucket';

/** A 21-digit sequence number like DynamoDB's, counting from 400000000000000000001. */
export function seq(n: number): string {
  return (400000000000000000000n + BigInt(n)).toString();
}

/** An order image in AttributeValue JSON: the key, status and version, plus any extra attributes. */
export function orderImage(
  fields: { status?: string; version?: number; orderId?: string } = {},
  extra: AuditImage = {},
): AuditImage {
  return {
    orderId: { S: fields.orderId ?? ORDER_ID },
    status: { S: fields.status ?? 'PLACED' },
    version: { N: String(fields.version ?? 1) },
    ...extra,
  };
}

export interface LineInput {
  readonly sequenceNumber: string;
  readonly eventName?: AuditLine['eventName'];
  readonly oldImage?: AuditImage;
  readonly newImage?: AuditImage;
  readonly orderId?: string;
  readonly time?: string;
  readonly actor?: AuditLine['actor'];
  readonly eventId?: string;
}

/** An audit line with realistic defaults: a MODIFY of ORDER_ID by a user at 2024-05-01T12:00:00Z. */
export function auditLine(input: LineInput): AuditLine {
  const orderId = input.orderId ?? ORDER_ID;
  const eventName = input.eventName ?? 'MODIFY';
  const oldImage = eventName === 'INSERT' ? undefined : (input.oldImage ?? orderImage({ orderId }));
  const newImage =
    eventName === 'REMOVE'
      ? undefined
      : (input.newImage ?? orderImage({ orderId, status: 'PAID', version: 2 }));
  return {
    eventId: input.eventId ?? `event-${input.sequenceNumber}`,
    eventName,
    sequenceNumber: input.sequenceNumber,
    approximateCreationTime: input.time ?? '2024-05-01T12:00:00.000Z',
    orderId,
    keys: { orderId: { S: orderId } },
    ...(oldImage === undefined ? {} : { oldImage }),
    ...(newImage === undefined ? {} : { newImage }),
    changedAttributes: changedAttributes(oldImage, newImage),
    actor: input.actor ?? 'user',
  };
}

/** The key the audit log gives a batch of these lines. */
export function objectKeyOf(lines: readonly AuditLine[], table = TABLE): string {
  return auditObjectKey(
    table,
    lines.map((line) => ({
      sequenceNumber: line.sequenceNumber,
      approximateCreationTime: Date.parse(line.approximateCreationTime),
    })),
  );
}

/** The text of an object of these lines, as the reader sees it once gunzipped. */
export function objectText(lines: readonly AuditLine[]): string {
  return lines.map((line) => `${JSON.stringify(line)}\n`).join('');
}

/** Stores a batch as the audit log does (gzipped JSON Lines, conditional create); resolves with its key. */
export async function putAuditObject(
  client: LocalS3Client,
  lines: readonly AuditLine[],
  options: { readonly bucket?: string; readonly table?: string; readonly key?: string } = {},
): Promise<string> {
  const key = options.key ?? objectKeyOf(lines, options.table);
  await client.send(
    new PutObjectCommand({
      Bucket: options.bucket ?? AUDIT_BUCKET,
      Key: key,
      Body: encodeAuditObject(lines),
      IfNoneMatch: '*',
      ContentType: 'application/x-ndjson',
      ContentEncoding: 'gzip',
    }),
  );
  return key;
}

/** A GetObject body as the SDK's stream mixin offers it in Node. */
export function getObjectBody(bytes: Uint8Array): GetObjectCommandOutput['Body'] {
  return {
    transformToByteArray: async () => new Uint8Array(bytes),
  } as unknown as GetObjectCommandOutput['Body'];
}
