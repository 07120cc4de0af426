/**
 * A REMOVE leaves a tombstone whatever else its old image holds: the tombstone needs only the key (`orderId`) and the
 * old image's `version`, so an old image that is not a fully valid order must not keep a deleted order searchable.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentOf } from '../../../lambdas/search-sync/sync.js';
import { PermanentError } from '../../../lambdas/shared/errors.js';
import { type ChangeRecord, toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import { type DecodedItem, NumberValue, type RawItem } from '../../../lambdas/shared/stream/lossless.js';
import { storedOrder } from '../../support/orders.js';
import { createStreamRecordFactory, type NativeItem } from '../../support/stream-records.js';

const DELETED_AT = '2024-05-01T12:00:00.000Z';

function removeOf(oldImage: NativeItem): ChangeRecord {
  return toChangeRecord(createStreamRecordFactory().remove(oldImage));
}

/** The permanent error documentOf throws for `record`, or a failed expectation when it throws none. */
function permanentErrorOf(record: ChangeRecord): PermanentError {
  try {
    documentOf(record);
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentError);
    return error as PermanentError;
  }
  throw new Error('documentOf threw nothing');
}

describe('documentOf for a REMOVE', () => {
  const { customerEmail: _email, lines: _lines, ...withoutEmailAndLines } = storedOrder({ version: 4 });

  it.each([
    {
      name: 'a status the order schema refuses',
      oldImage: { ...storedOrder({ version: 4 }), status: 'LOST' },
    },
    { name: 'missing non-key attributes', oldImage: withoutEmailAndLines },
    {
      name: 'a total beyond the safe integer range',
      oldImage: { ...storedOrder({ version: 4 }), totalCents: new NumberValue('90071992547409930') },
    },
    { name: 'nothing but the key and the version', oldImage: { orderId: storedOrder().orderId, version: 4 } },
  ])('writes the tombstone from the key and the version when the old image has $name', ({ oldImage }) => {
    // Prepare
    const record = removeOf(oldImage);

    // Act
    const document = documentOf(record);

    // Assess
    expect(document).toEqual({
      orderId: storedOrder().orderId,
      version: 5,
      deleted: true,
      deletedAt: DELETED_AT,
      removedBy: 'user',
    });
  });

  it('takes the order id from the key, which the old image cannot contradict', () => {
    // Prepare
    const raw = createStreamRecordFactory().remove(storedOrder({ version: 4 }));
    (raw.dynamodb?.OldImage as RawItem).orderId = { S: 'another-order' };

    // Act
    const document = documentOf(toChangeRecord(raw));

    // Assess
    expect(document.orderId).toBe(storedOrder().orderId);
  });

  it('writes version 1 above a version 0', () => {
    // Prepare
    const record = removeOf({ ...storedOrder(), version: 0 });

    // Act
    const document = documentOf(record);

    // Assess
    expect(document.version).toBe(1);
  });

  it.each([
    { name: 'missing', version: undefined },
    { name: 'a string', version: '4' },
    { name: 'negative', version: -1 },
    { name: 'fractional', version: 4.5 },
    { name: 'beyond the safe integer range', version: new NumberValue('9007199254740993') },
    { name: 'a 38-digit decimal', version: new NumberValue('1234567890123456789012345678.9012345678') },
    // The tombstone's version (one above) would not be a safe integer any more.
    { name: 'the largest safe integer', version: Number.MAX_SAFE_INTEGER },
  ])('fails permanently, naming the version, when the version is $name', ({ version }) => {
    // Prepare
    const record = removeOf({ ...storedOrder(), version });

    // Act
    const error = permanentErrorOf(record);

    // Assess
    expect(error.reason).toContain('"version"');
  });

  it('does not read a version inherited through an attribute named __proto__', () => {
    // Prepare: Lambda's JSON parse gives the raw image an own "__proto__" attribute, which the SDK's unmarshall (a
    // decoder that assigns names) turns into the decoded image's prototype; a missing version must not be read there.
    const raw = createStreamRecordFactory().remove(storedOrder({ version: 4 }));
    const { version: _version, ...withoutVersion } = raw.dynamodb?.OldImage ?? {};
    // Object.fromEntries defines "__proto__" as an own attribute, as JSON.parse does.
    const oldImage = Object.fromEntries([
      ...Object.entries(withoutVersion),
      ['__proto__', { M: { version: { N: '9' } } }],
    ]);
    const record = {
      ...toChangeRecord(raw),
      oldImage: unmarshall(oldImage as Parameters<typeof unmarshall>[0], {
        wrapNumbers: true,
      }) as DecodedItem,
    };

    // Act
    const error = permanentErrorOf(record);

    // Assess
    expect(error.reason).toContain('"version"');
  });

  it('still fails permanently without an old image', () => {
    // Prepare
    const raw = createStreamRecordFactory().remove(storedOrder());
    delete raw.dynamodb?.OldImage;

    // Act
    const error = permanentErrorOf(toChangeRecord(raw));

    // Assess
    expect(error.reason).toContain('old image');
  });
});
