/**
 * Property tests of documentOf over images with hostile extra attributes: names that are special to JavaScript
 * objects (`__proto__`, `constructor`, `toString`...), unicode, dots, `#`, long names, and numbers no JS number holds
 * (integers beyond 2^53, 38-digit decimals). DynamoDB takes any of them as an attribute, and Lambda's JSON parse
 * makes each an own property of the raw image, which is how the records here are built.
 *
 * Each record is tried twice: as toChangeRecord gives it (every attribute an own property), and with its image
 * decoded by the SDK's unmarshall, which assigns names and so turns an attribute `__proto__` into the image's
 * prototype; documentOf must be right either way.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { documentOf } from '../../../lambdas/search-sync/sync.js';
import { PermanentError } from '../../../lambdas/shared/errors.js';
import { toOrderDocument } from '../../../lambdas/shared/search/orders-index.js';
import { type ChangeRecord, toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type { DecodedItem } from '../../../lambdas/shared/stream/lossless.js';
import { storedOrder } from '../../support/orders.js';
import {
  createStreamRecordFactory,
  DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
} from '../../support/stream-records.js';

type RawImage = Record<string, AttributeValue>;
type UnmarshallInput = Parameters<typeof unmarshall>[0];

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Attribute names special to JS objects, or odd in an expression: the ones a naive reader trips on. */
const hostileName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'hasOwnProperty',
    'isPrototypeOf',
    '__defineGetter__',
    'a.b',
    '#name',
    ':value',
    'lines[0]',
    'ünïcödé',
    '注文',
    '🙂',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  // DynamoDB allows names up to 64 KB.
  fc.integer({ min: 256, max: 65_535 }).map((length) => 'n'.repeat(length)),
);

/** Decimal text of an integer beyond 2^53, either sign. */
const hugeInteger = fc
  .tuple(fc.bigInt({ min: MAX_SAFE + 1n, max: 10n ** 38n - 1n }), fc.boolean())
  .map(([magnitude, negative]) => `${negative ? '-' : ''}${magnitude}`);

/** A decimal of 38 significant digits (DynamoDB's precision) with a fractional part. */
const decimal38 = fc
  .tuple(fc.integer({ min: 1, max: 37 }), fc.bigInt({ min: 10n ** 37n, max: 10n ** 38n - 1n }))
  .map(([point, digits]) => `${String(digits).slice(0, point)}.${String(digits).slice(point)}`);

const hostileNumber: fc.Arbitrary<AttributeValue> = fc
  .oneof(hugeInteger, decimal38, fc.integer().map(String))
  .map((text) => ({ N: text }));

const hostileValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  hostileNumber,
  fc.string({ unit: 'binary' }).map((text) => ({ S: text })),
  fc.boolean().map((flag) => ({ BOOL: flag })),
  fc.constant({ NULL: true }),
  fc.array(hostileNumber, { maxLength: 3 }).map((list) => ({ L: list })),
  fc.record({ version: hostileNumber, orderId: fc.constant({ S: 'x' }) }).map((map) => ({ M: map })),
);

/**
 * An attribute `__proto__` holding a map of valid order attributes: unmarshall makes it the decoded image's prototype,
 * so a reader that does not stick to own attributes finds there what the image lacks.
 */
const lendingPrototype: fc.Arbitrary<[string, AttributeValue]> = fc
  .record({
    version: fc.nat().map((version) => ({ N: String(version) })),
    status: fc.constant({ S: 'SHIPPED' }),
  })
  .map((map) => ['__proto__', { M: map }]);

/**
 * Extra attributes to lay over an image, often with a lending prototype; a name may repeat (the last one wins, as in
 * a JSON object).
 */
function extrasWithout(reserved: readonly string[]): fc.Arbitrary<[string, AttributeValue][]> {
  return fc
    .tuple(
      fc.array(
        fc.tuple(
          hostileName.filter((name) => !reserved.includes(name)),
          hostileValue,
        ),
        { maxLength: 6 },
      ),
      fc.option(lendingPrototype),
    )
    .map(([extras, lending]) => (lending === null ? extras : [...extras, lending]));
}

/** `image` with `extras` added as own attributes (Object.fromEntries defines `__proto__` too, as JSON.parse does). */
function withExtras(image: RawImage, extras: readonly [string, AttributeValue][]): RawImage {
  return Object.fromEntries([...Object.entries(image), ...extras]);
}

/** The old image's version as generated, and the tombstone version it must give (undefined: a permanent failure). */
interface VersionCase {
  readonly attribute: AttributeValue | undefined;
  readonly tombstoneVersion: number | undefined;
}

const versionCase: fc.Arbitrary<VersionCase> = fc.oneof(
  fc
    .oneof(
      fc.nat(1_000),
      fc.constant(Number.MAX_SAFE_INTEGER - 1),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1 }),
    )
    .map((version) => ({ attribute: { N: String(version) }, tombstoneVersion: version + 1 })),
  fc.constant({ attribute: undefined, tombstoneVersion: undefined }),
  fc
    .oneof(
      fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: -1 }).map(String),
      // The largest safe integer is refused too: the tombstone one above it would not be safe.
      fc.bigInt({ min: MAX_SAFE, max: 10n ** 38n - 1n }).map(String),
      hugeInteger,
      decimal38,
    )
    .map((text) => ({ attribute: { N: text }, tombstoneVersion: undefined })),
  fc
    .oneof(
      fc.string().map((text): AttributeValue => ({ S: text })),
      fc.constant<AttributeValue>({ NULL: true }),
      fc.constant<AttributeValue>({ L: [{ N: '1' }] }),
      fc.constant<AttributeValue>({ M: { N: { N: '1' } } }),
    )
    .map((attribute) => ({ attribute, tombstoneVersion: undefined })),
);

/** The raw image of `record`; the factory always sets the one its event carries. */
function imageOf(record: DynamoDBRecord, which: 'OldImage' | 'NewImage'): RawImage {
  const image = record.dynamodb?.[which];
  if (image === undefined) throw new Error(`The factory left out ${which}`);
  return image as RawImage;
}

/** The change record of `raw` as toChangeRecord gives it, and the same with `which` decoded by unmarshall. */
function bothDecodings(raw: DynamoDBRecord, which: 'OldImage' | 'NewImage'): ChangeRecord[] {
  const record = toChangeRecord(raw);
  const decoded = unmarshall(imageOf(raw, which) as UnmarshallInput, { wrapNumbers: true }) as DecodedItem;
  return [record, { ...record, ...(which === 'OldImage' ? { oldImage: decoded } : { newImage: decoded }) }];
}

/** What documentOf gives for `record`: its document, or what it threw. */
function outcomeOf(record: ChangeRecord): { document: unknown } | { error: unknown } {
  try {
    return { document: documentOf(record) };
  } catch (error) {
    return { error };
  }
}

/** Object.prototype's own properties, to tell whether a parse wrote to it. */
function objectPrototypeSnapshot(): Map<string | symbol, unknown> {
  const descriptors = Object.getOwnPropertyDescriptors(Object.prototype);
  return new Map(
    Reflect.ownKeys(descriptors).map((key) => {
      const descriptor = descriptors[key as keyof typeof descriptors];
      return [key, descriptor?.value ?? descriptor?.get];
    }),
  );
}

describe('documentOf over hostile images', () => {
  it('gives every REMOVE the tombstone of its key and version, or a permanent failure naming the version', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        versionCase,
        // `orderId` may be overwritten in the old image: the key is what counts.
        extrasWithout(['version']),
        fc.boolean(),
        (orderId, version, extras, ttl) => {
          // Prepare
          const factory = createStreamRecordFactory();
          const raw = (ttl ? factory.ttlRemove : factory.remove)(storedOrder({ orderId }));
          const { version: _last, ...withoutVersion } = imageOf(raw, 'OldImage');
          raw.dynamodb = {
            ...raw.dynamodb,
            OldImage: withExtras(
              withoutVersion,
              version.attribute === undefined ? extras : [...extras, ['version', version.attribute]],
            ),
          };

          // Act
          const outcomes = bothDecodings(raw, 'OldImage').map(outcomeOf);

          // Assess
          for (const outcome of outcomes) {
            if (version.tombstoneVersion === undefined) {
              expect(outcome).toStrictEqual({ error: expect.any(PermanentError) });
              expect((outcome as { error: PermanentError }).error.reason).toContain('"version"');
            } else {
              expect(outcome).toStrictEqual({
                document: {
                  orderId,
                  version: version.tombstoneVersion,
                  deleted: true,
                  deletedAt: new Date(DEFAULT_APPROXIMATE_CREATION_DATE_TIME * 1000).toISOString(),
                  removedBy: ttl ? 'ttl' : 'user',
                },
              });
            }
          }
        },
      ),
    );
  });

  it('builds the order document of an INSERT or MODIFY as a plain object, whatever extras the new image has', () => {
    const order = storedOrder({ version: 3, status: 'PAID' });
    const expected = toOrderDocument(order);
    const before = objectPrototypeSnapshot();
    fc.assert(
      fc.property(
        fc.constantFrom('INSERT', 'MODIFY'),
        extrasWithout(Object.keys(order)),
        extrasWithout([]),
        (eventName, extras, oldExtras) => {
          // Prepare
          const factory = createStreamRecordFactory();
          const raw =
            eventName === 'INSERT'
              ? factory.insert(order)
              : factory.modify({ ...order, version: 2, status: 'PLACED' }, order);
          raw.dynamodb = {
            ...raw.dynamodb,
            NewImage: withExtras(imageOf(raw, 'NewImage'), extras),
            ...(eventName === 'MODIFY' ? { OldImage: withExtras(imageOf(raw, 'OldImage'), oldExtras) } : {}),
          };

          // Act
          const documents = bothDecodings(raw, 'NewImage').map(documentOf);

          // Assess
          for (const document of documents) {
            expect(document).toStrictEqual(expected);
            expect(Object.getPrototypeOf(document)).toBe(Object.prototype);
            expect(Object.keys(document).sort()).toEqual(Object.keys(expected).sort());
            for (const line of 'lines' in document ? document.lines : []) {
              expect(Object.getPrototypeOf(line)).toBe(Object.prototype);
            }
          }
          expect(objectPrototypeSnapshot()).toEqual(before);
        },
      ),
    );
  });
});
