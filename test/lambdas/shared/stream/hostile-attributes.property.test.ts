import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changedAttributes, toAuditLine } from '../../../../lambdas/audit-log/audit-line.js';
import { toChangeRecord } from '../../../../lambdas/shared/stream/change-record.js';
import { type DecodedValue, NumberValue } from '../../../../lambdas/shared/stream/lossless.js';
import { hostileImage as image, mapJson, type Wire, wireJson } from '../../../support/hostile-attributes.js';

/**
 * Issue 12: attribute names are whatever a writer of the table chose, and numbers have up to 38 digits. Decoding a
 * stream record (every consumer's first step) and the audit line keep every name, at any depth, as an own property,
 * keep every number's exact digits, and pollute nothing.
 */

function record(
  oldImage: readonly (readonly [string, Wire])[],
  newImage: readonly (readonly [string, Wire])[],
): DynamoDBRecord {
  const key: [string, Wire] = ['orderId', { S: 'o-1' }];
  return JSON.parse(
    `{"eventID":"e-1","eventName":"MODIFY","eventSourceARN":"arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/x",` +
      `"dynamodb":{"SequenceNumber":"100000000000000000001","ApproximateCreationDateTime":1700000000,` +
      `"Keys":${mapJson([key])},"OldImage":${mapJson([key, ...oldImage])},"NewImage":${mapJson([key, ...newImage])}}}`,
  ) as DynamoDBRecord;
}

/** Asserts that `decoded` holds exactly `value`: names as own keys, numbers with their exact digits. */
function expectDecoded(decoded: DecodedValue | undefined, value: Wire): void {
  if ('M' in value) {
    expect(decoded).toBeTypeOf('object');
    const map = decoded as Record<string, DecodedValue>;
    expect(Object.keys(map).sort()).toStrictEqual(value.M.map(([name]) => name).sort());
    for (const [name, inner] of value.M) {
      expect(Object.hasOwn(map, name)).toBe(true);
      expectDecoded(Object.getOwnPropertyDescriptor(map, name)?.value as DecodedValue, inner);
    }
  } else if ('L' in value) {
    const list = decoded as DecodedValue[];
    expect(list).toHaveLength(value.L.length);
    value.L.forEach((inner, index) => {
      expectDecoded(list[index], inner);
    });
  } else if ('N' in value) {
    expect(decoded).toBeInstanceOf(NumberValue);
    expect((decoded as NumberValue).value).toBe(value.N);
  } else {
    expect(decoded).toStrictEqual('S' in value ? value.S : value.BOOL);
  }
}

describe('stream records with any attribute names and numbers', () => {
  it('decode with every name an own property and every number exact, polluting nothing', () => {
    fc.assert(
      fc.property(image, image, (oldImage, newImage) => {
        // Prepare
        const raw = record(oldImage, newImage);
        const prototypeNames = Object.getOwnPropertyNames(Object.prototype);

        // Act
        const change = toChangeRecord(raw);

        // Assess
        expectDecoded(change.newImage, { M: [['orderId', { S: 'o-1' }], ...newImage] });
        expectDecoded(change.oldImage, { M: [['orderId', { S: 'o-1' }], ...oldImage] });
        expect(Object.getOwnPropertyNames(Object.prototype)).toStrictEqual(prototypeNames);
        expect(Object.getPrototypeOf(change.newImage)).toBe(Object.prototype);
      }),
      { numRuns: 300 },
    );
  });

  it('become audit lines that keep the raw images and name exactly the changed attributes', () => {
    fc.assert(
      fc.property(image, image, (oldImage, newImage) => {
        // Prepare
        const raw = record(oldImage, newImage);

        // Act
        const line = toAuditLine(toChangeRecord(raw));

        // Assess: the line's images are the raw ones, `__proto__` included. Compared as JSON text: an own member named
        // `constructor` defeats the matchers' type check.
        const text = JSON.stringify(line);
        expect(JSON.stringify(line.newImage)).toBe(JSON.stringify(raw.dynamodb?.NewImage));
        expect(JSON.stringify(line.oldImage)).toBe(JSON.stringify(raw.dynamodb?.OldImage));
        expect(JSON.stringify(JSON.parse(text))).toBe(text);
        const before = new Map(oldImage.map(([name, value]) => [name, wireJson(value)]));
        const after = new Map(newImage.map(([name, value]) => [name, wireJson(value)]));
        const names = new Set([...before.keys(), ...after.keys()]);
        const differing = [...names].filter((name) => before.get(name) !== after.get(name));
        // Equal texts are equal values; different texts may still be equal numbers ("1.50" and "1.5"), which
        // the generator does not produce, or a reordered map, which it can: only check the sure direction.
        for (const name of changedAttributes(line.oldImage, line.newImage)) {
          expect(differing).toContain(name);
        }
        for (const name of names) {
          if (before.has(name) !== after.has(name)) expect(line.changedAttributes).toContain(name);
        }
      }),
      { numRuns: 300 },
    );
  });
});
