import { gunzipSync } from 'node:zlib';
import type { AttributeValue } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AuditLine,
  auditObjectKey,
  encodeAuditObject,
  serializeAuditLine,
  tableNameFromStreamArn,
  toAuditLine,
} from '../../../lambdas/audit-log/audit-line.js';
import { PermanentError } from '../../../lambdas/shared/errors.js';
import { toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import { hostileName } from '../../support/hostile-attributes.js';
import { changeRecord, ORDER_KEYS, type RawImage, type RawRecordInput, rawRecord } from './records.js';

/** One attribute of every AttributeValue type, as Lambda delivers it (binary as base64). */
const EVERY_TYPE: RawImage = {
  orderId: { S: 'o-1' },
  s: { S: 'héllo "quoted" \n line' },
  emptyS: { S: '' },
  n: { N: '12345678901234567890123456789012345678' },
  b: { B: 'AAEC/f7/' },
  ss: { SS: ['a', 'b'] },
  ns: { NS: ['1', '0.12345678901234567890123456789012345678'] },
  bs: { BS: ['AQ==', 'Ag=='] },
  m: { M: { inner: { N: '-1E-130' }, deeper: { M: { x: { NULL: true } } } } },
  l: { L: [{ S: 'x' }, { N: '18446744073709551617' }, { BOOL: false }, { L: [] }, { M: {} }] },
  nul: { NULL: true },
  bool: { BOOL: true },
};

/** Number texts that a JS number, a BigInt or a careless normaliser would change. */
const EXACT_NUMBERS = [
  ['38 significant digits', '12345678901234567890123456789012345678'],
  ['38-digit fraction', '0.12345678901234567890123456789012345678'],
  ['2^64 + 1', '18446744073709551617'],
  ['beyond 2^128', '340282366920938463463374607431768211457'],
  ['largest magnitude', '-9.9999999999999999999999999999999999999E+125'],
  ['smallest magnitude', '1E-130'],
  ['trailing zeros', '1.500'],
] as const;

function lineText(line: AuditLine): string {
  return JSON.stringify(line);
}

describe('toAuditLine', () => {
  it('writes every field of a MODIFY, images exactly as in the record', () => {
    // Prepare
    const oldImage: RawImage = { ...EVERY_TYPE, bool: { BOOL: false } };
    const record = changeRecord({ eventName: 'MODIFY', oldImage, newImage: EVERY_TYPE });

    // Act
    const line = toAuditLine(record);

    // Assess
    expect(line).toStrictEqual({
      eventId: 'event-400000000000000000001',
      eventName: 'MODIFY',
      sequenceNumber: '400000000000000000001',
      approximateCreationTime: '2024-05-01T12:00:00.000Z',
      orderId: 'o-1',
      keys: ORDER_KEYS,
      oldImage,
      newImage: EVERY_TYPE,
      changedAttributes: ['bool'],
      actor: 'user',
    });
  });

  describe.each([
    ['oldImage', 'REMOVE', { oldImage: EVERY_TYPE }],
    ['newImage', 'INSERT', { newImage: EVERY_TYPE }],
  ] as const)('every AttributeValue type in the %s', (field, eventName, images) => {
    it.each(Object.keys(EVERY_TYPE))('keeps %s as its raw AttributeValue JSON', (attribute) => {
      // Prepare
      const record = changeRecord({ eventName, ...images });

      // Act
      const text = lineText(toAuditLine(record));

      // Assess
      const parsed = JSON.parse(text) as Record<string, RawImage>;
      expect(parsed[field]?.[attribute]).toStrictEqual(EVERY_TYPE[attribute]);
      expect(text).toContain(JSON.stringify(EVERY_TYPE[attribute]));
    });
  });

  describe.each(EXACT_NUMBERS)('the number %s', (_name, text) => {
    it.each<[string, AttributeValue]>([
      ['N', { N: text }],
      ['NS', { NS: [text, '7'] }],
      ['N in a map', { M: { amount: { N: text } } }],
      ['N in a list', { L: [{ N: text }] }],
    ])('stays byte-identical as %s', (_type, value) => {
      // Prepare
      const image: RawImage = { orderId: { S: 'o-1' }, value };
      const record = changeRecord({ eventName: 'INSERT', newImage: image });

      // Act
      const text = lineText(toAuditLine(record));

      // Assess
      expect(text).toContain(JSON.stringify(value));
      expect((JSON.parse(text) as AuditLine).newImage).toStrictEqual(image);
    });
  });

  it('writes binary read through the SDK (Uint8Array) as the base64 text Lambda delivers', () => {
    // Prepare
    const lambdaRecord = rawRecord({ eventName: 'INSERT', newImage: EVERY_TYPE });
    const sdkImage = {
      ...EVERY_TYPE,
      b: { B: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
      bs: { BS: [Uint8Array.from([1]), Buffer.from([2])] },
    } as unknown as RawImage;
    const sdkRecord = rawRecord({ eventName: 'INSERT', newImage: sdkImage });

    // Act
    const fromLambda = lineText(toAuditLine(toChangeRecord(lambdaRecord)));
    const fromSdk = lineText(toAuditLine(toChangeRecord(sdkRecord)));

    // Assess
    expect(fromSdk).toBe(fromLambda);
  });

  it('rejects a value that JSON cannot represent as a permanent failure', () => {
    // Prepare
    const record = changeRecord({ eventName: 'INSERT', newImage: { orderId: { S: 'o-1' } } });
    const broken = {
      ...record,
      raw: { ...record.raw, dynamodb: { ...record.raw.dynamodb, NewImage: { x: { N: 1n } } } },
    } as unknown as typeof record;

    // Act
    const act = () => toAuditLine(broken);

    // Assess
    expect(act).toThrow(PermanentError);
    expect(act).toThrow(/NewImage\.x\.N/);
  });

  describe('changedAttributes', () => {
    const base: RawImage = {
      orderId: { S: 'o-1' },
      status: { S: 'PLACED' },
      total: { N: '100' },
      address: { M: { city: { S: 'Ghent' }, zip: { S: '9000' } } },
      tags: { SS: ['a', 'b'] },
    };

    it.each<[string, RawRecordInput, string[]]>([
      ['INSERT lists every new attribute', { eventName: 'INSERT', newImage: base }, Object.keys(base).sort()],
      ['REMOVE lists every old attribute', { eventName: 'REMOVE', oldImage: base }, Object.keys(base).sort()],
      ['MODIFY with nothing changed', { eventName: 'MODIFY', oldImage: base, newImage: { ...base } }, []],
      [
        'MODIFY of a value',
        { eventName: 'MODIFY', oldImage: base, newImage: { ...base, status: { S: 'PAID' } } },
        ['status'],
      ],
      [
        'MODIFY of a type (N to S)',
        { eventName: 'MODIFY', oldImage: base, newImage: { ...base, total: { S: '100' } } },
        ['total'],
      ],
      [
        'MODIFY adding and removing attributes',
        {
          eventName: 'MODIFY',
          oldImage: { ...base, legacy: { BOOL: true } },
          newImage: { ...base, note: { S: 'x' } },
        },
        ['legacy', 'note'],
      ],
      [
        'MODIFY with reordered map keys and set members',
        {
          eventName: 'MODIFY',
          oldImage: base,
          newImage: {
            tags: { SS: ['b', 'a'] },
            address: { M: { zip: { S: '9000' }, city: { S: 'Ghent' } } },
            total: { N: '100' },
            status: { S: 'PLACED' },
            orderId: { S: 'o-1' },
          },
        },
        [],
      ],
      [
        'MODIFY inside a nested map',
        {
          eventName: 'MODIFY',
          oldImage: base,
          newImage: { ...base, address: { M: { city: { S: 'Ghent' }, zip: { S: '9050' } } } },
        },
        ['address'],
      ],
      [
        'MODIFY of a list order (lists are ordered)',
        {
          eventName: 'MODIFY',
          oldImage: { ...base, l: { L: [{ S: 'a' }, { S: 'b' }] } },
          newImage: { ...base, l: { L: [{ S: 'b' }, { S: 'a' }] } },
        },
        ['l'],
      ],
      [
        'MODIFY of a number beyond double precision in its last digit',
        {
          eventName: 'MODIFY',
          oldImage: { ...base, total: { N: '12345678901234567890123456789012345678' } },
          newImage: { ...base, total: { N: '12345678901234567890123456789012345679' } },
        },
        ['total'],
      ],
    ])('%s', (_name, input, expected) => {
      // Prepare
      const record = changeRecord(input);

      // Act
      const line = toAuditLine(record);

      // Assess
      expect(line.changedAttributes).toStrictEqual(expected);
    });
  });

  describe.each([
    ['INSERT', { eventName: 'INSERT', newImage: ORDER_KEYS }, 'user'],
    ['MODIFY', { eventName: 'MODIFY', oldImage: ORDER_KEYS, newImage: ORDER_KEYS }, 'user'],
    ["a user's REMOVE", { eventName: 'REMOVE', oldImage: ORDER_KEYS }, 'user'],
    ['a TTL REMOVE', { eventName: 'REMOVE', oldImage: ORDER_KEYS, ttl: true }, 'ttl'],
  ] as const)('actor of %s', (_name, input, actor) => {
    it(`is ${actor}`, () => {
      // Prepare
      const record = changeRecord(input);

      // Act
      const line = toAuditLine(record);

      // Assess
      expect(line.actor).toBe(actor);
    });
  });
});

describe('auditObjectKey', () => {
  it.each([
    [
      'the first record’s hour, first and last sequence numbers',
      [
        {
          sequenceNumber: '400000000000000000001',
          approximateCreationTime: Date.UTC(2024, 4, 1, 12, 59, 59),
        },
        { sequenceNumber: '400000000000000000009', approximateCreationTime: Date.UTC(2024, 4, 1, 13, 0, 1) },
      ],
      'table=Orders/dt=2024-05-01/hour=12/400000000000000000001-400000000000000000009.jsonl.gz',
    ],
    [
      'a single record, UTC midnight',
      [{ sequenceNumber: '42', approximateCreationTime: Date.UTC(2024, 11, 31, 0, 0, 0) }],
      'table=Orders/dt=2024-12-31/hour=00/42-42.jsonl.gz',
    ],
  ])('uses %s', (_name, records, expected) => {
    // Act
    const key = auditObjectKey('Orders', records);

    // Assess
    expect(key).toBe(expected);
  });

  it('is built from stream records: their time and sequence numbers', () => {
    // Prepare
    const records = [
      changeRecord({ eventName: 'INSERT', newImage: ORDER_KEYS, sequenceNumber: '500000000000000000100' }),
      changeRecord({ eventName: 'INSERT', newImage: ORDER_KEYS, sequenceNumber: '500000000000000000200' }),
    ];

    // Act
    const key = auditObjectKey('Orders', records);

    // Assess
    expect(key).toBe(
      'table=Orders/dt=2024-05-01/hour=12/500000000000000000100-500000000000000000200.jsonl.gz',
    );
  });

  it('refuses an empty batch', () => {
    expect(() => auditObjectKey('Orders', [])).toThrow(/at least one record/);
  });
});

describe('tableNameFromStreamArn', () => {
  it.each([
    ['arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000', 'Orders'],
    ['arn:aws-cn:dynamodb:cn-north-1:123456789012:table/my.table-1_x/stream/label', 'my.table-1_x'],
    ['arn:aws:dynamodb:eu-west-1:123456789012:table/Orders', undefined],
    ['arn:aws:kinesis:eu-west-1:123456789012:stream/Orders', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s -> %s', (arn, expected) => {
    expect(tableNameFromStreamArn(arn)).toBe(expected);
  });
});

describe('encodeAuditObject', () => {
  it('gzips one newline-terminated JSON line per record, in order', () => {
    // Prepare
    const lines = [
      toAuditLine(changeRecord({ eventName: 'INSERT', newImage: EVERY_TYPE, sequenceNumber: '1' })),
      toAuditLine(
        changeRecord({ eventName: 'REMOVE', oldImage: EVERY_TYPE, sequenceNumber: '2', ttl: true }),
      ),
    ];

    // Act
    const body = encodeAuditObject(lines);

    // Assess
    const text = gunzipSync(body).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')).toStrictEqual([JSON.stringify(lines[0]), JSON.stringify(lines[1]), '']);
  });
});

describe('toAuditLine: the order id column', () => {
  it('leaves out orderId for a table whose keys have none', () => {
    // Prepare
    const record = changeRecord({
      eventName: 'INSERT',
      newImage: { pollId: { S: 'p' } },
      keys: { pollId: { S: 'p' } },
    });

    // Act
    const line = toAuditLine(record);

    // Assess
    expect(line).not.toHaveProperty('orderId');
  });
});

describe('serializeAuditLine: what the Athena tables rely on', () => {
  /** Any text at all, control characters and lone surrogates included. */
  const anyText = fc.string({ unit: 'binary', maxLength: 40 });

  it('never writes a line break or the lines table delimiter U+0001, whatever the item holds', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.oneof(hostileName, anyText), anyText), {
          selector: ([name]) => name,
          minLength: 1,
          maxLength: 6,
        }),
        (attributes) => {
          // Prepare
          const image: RawImage = { ...ORDER_KEYS };
          for (const [name, text] of attributes) {
            Object.defineProperty(image, name, { value: { S: text }, enumerable: true, writable: true });
          }

          // Act
          const text = serializeAuditLine(
            toAuditLine(changeRecord({ eventName: 'INSERT', newImage: image })),
          );

          // Assess: one line per record (TextInputFormat splits on \n and \r), one field per line.
          for (const forbidden of ['\n', '\r', '\u0001']) expect(text).not.toContain(forbidden);
        },
      ),
    );
  });
});
