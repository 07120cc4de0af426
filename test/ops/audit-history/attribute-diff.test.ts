import { describe, expect, it } from 'vitest';
import {
  type AttributeMapJson,
  type AttributeValueJson,
  attributeMapProblem,
  attributeValueProblem,
  compareDecimals,
  diffImages,
  renderAttributeValue,
  renderDiffEntry,
  sameAttributeValue,
} from '../../../ops/audit-history/attribute-diff.js';

/** 38 significant digits: more than a double holds (it keeps 15-17). */
const BIG_DECIMAL = '12345678901234567890.123456789012345678';
const BIG_INTEGER = '99999999999999999999999999999999999999';

/** The diff of two images as the lines the CLI prints. */
function diffLines(oldImage: AttributeMapJson | undefined, newImage: AttributeMapJson | undefined): string[] {
  return diffImages(oldImage, newImage).map(renderDiffEntry);
}

describe('renderAttributeValue', () => {
  describe.each<[string, AttributeValueJson, string]>([
    ['S as a JSON string', { S: 'say "hi"\n' }, '"say \\"hi\\"\\n"'],
    ['N as its text exactly', { N: '1.50' }, '1.50'],
    ['a 38-digit decimal N digit for digit', { N: BIG_DECIMAL }, BIG_DECIMAL],
    ['a 38-digit integer N digit for digit', { N: BIG_INTEGER }, BIG_INTEGER],
    ['a negative exponent N as written', { N: '-1.5E-130' }, '-1.5E-130'],
    ['BOOL true', { BOOL: true }, 'true'],
    ['BOOL false', { BOOL: false }, 'false'],
    ['NULL as null', { NULL: true }, 'null'],
    ['B as its byte count', { B: 'AAECAw==' }, '<binary 4 bytes>'],
    ['a one-byte B', { B: 'AA==' }, '<binary 1 byte>'],
    ['SS as a set of JSON strings in order', { SS: ['b', 'a'] }, '{"a", "b"}'],
    ['NS as a set in value order, texts kept', { NS: ['10', '-2.50', '9'] }, '{-2.50, 9, 10}'],
    ['BS as a set of byte counts', { BS: ['AAEC', 'AA=='] }, '{<binary 1 byte>, <binary 3 bytes>}'],
    ['L as a list in its order', { L: [{ S: 'x' }, { N: '2' }, { NULL: true }] }, '["x", 2, null]'],
    ['an empty L', { L: [] }, '[]'],
    ['M with names in order', { M: { b: { N: '1' }, a: { S: 'z' } } }, '{a: "z", b: 1}'],
    [
      'M with a name that is not an identifier',
      { M: { 'first name': { S: 'Ada' } } },
      '{"first name": "Ada"}',
    ],
    [
      'nested M and L',
      { M: { lines: { L: [{ M: { sku: { S: 'SKU-1' }, qty: { N: '2' } } }] } } },
      '{lines: [{qty: 2, sku: "SKU-1"}]}',
    ],
  ])('%s', (_name, value, expected) => {
    it(`renders ${expected}`, () => {
      // Act
      const text = renderAttributeValue(value);

      // Assess
      expect(text).toBe(expected);
    });
  });
});

describe('sameAttributeValue', () => {
  it.each<[string, AttributeValueJson, AttributeValueJson, boolean]>([
    ['numbers equal as decimals', { N: '1.50' }, { N: '1.5' }, true],
    ['numbers with an exponent', { N: '15E-1' }, { N: '1.5' }, true],
    [
      '38-digit numbers one unit apart',
      { N: BIG_INTEGER },
      { N: '99999999999999999999999999999999999998' },
      false,
    ],
    [
      '38-digit decimals differing in the last digit',
      { N: BIG_DECIMAL },
      { N: `${BIG_DECIMAL.slice(0, -1)}9` },
      false,
    ],
    ['strings', { S: 'a' }, { S: 'a' }, true],
    ['a string and a number of the same text', { S: '1' }, { N: '1' }, false],
    ['string sets in another order', { SS: ['a', 'b'] }, { SS: ['b', 'a'] }, true],
    ['string sets with other members', { SS: ['a', 'b'] }, { SS: ['a', 'c'] }, false],
    ['number sets in another order and spelling', { NS: ['1.0', '2'] }, { NS: ['2.00', '1'] }, true],
    ['binary sets in another order', { BS: ['AA==', 'AQ=='] }, { BS: ['AQ==', 'AA=='] }, true],
    ['binaries with the same bytes', { B: 'AAEC' }, { B: 'AAEC' }, true],
    ['binaries with other bytes', { B: 'AAEC' }, { B: 'AAED' }, false],
    ['lists in another order', { L: [{ N: '1' }, { N: '2' }] }, { L: [{ N: '2' }, { N: '1' }] }, false],
    [
      'maps in another member order',
      { M: { a: { N: '1' }, b: { N: '2' } } },
      { M: { b: { N: '2.0' }, a: { N: '1' } } },
      true,
    ],
    [
      'maps with an extra member',
      { M: { a: { N: '1' } } },
      { M: { a: { N: '1' }, b: { NULL: true } } },
      false,
    ],
    ['BOOL and NULL', { BOOL: false }, { NULL: true }, false],
  ])('%s -> %s', (_name, a, b, expected) => {
    // Act
    const forth = sameAttributeValue(a, b);
    const back = sameAttributeValue(b, a);

    // Assess
    expect(forth).toBe(expected);
    expect(back).toBe(expected);
  });
});

describe('diffImages', () => {
  it('shows every attribute of an INSERT as added, in name order', () => {
    // Prepare
    const newImage: AttributeMapJson = {
      status: { S: 'PLACED' },
      orderId: { S: 'o-1' },
      totalCents: { N: '1500' },
    };

    // Act
    const lines = diffLines(undefined, newImage);

    // Assess
    expect(lines).toEqual(['+ orderId: "o-1"', '+ status: "PLACED"', '+ totalCents: 1500']);
  });

  it('shows every attribute of a REMOVE as removed', () => {
    // Act
    const lines = diffLines({ status: { S: 'SHIPPED' }, coupon: { S: 'X' } }, undefined);

    // Assess
    expect(lines).toEqual(['- coupon: "X"', '- status: "SHIPPED"']);
  });

  it('shows a changed, an added and a removed top-level attribute', () => {
    // Prepare
    const oldImage: AttributeMapJson = { status: { S: 'PLACED' }, coupon: { S: 'X' } };
    const newImage: AttributeMapJson = { status: { S: 'SHIPPED' }, note: { S: 'gift' } };

    // Act
    const lines = diffLines(oldImage, newImage);

    // Assess
    expect(lines).toEqual(['- coupon: "X"', '+ note: "gift"', '~ status: "PLACED" -> "SHIPPED"']);
  });

  it('goes down into maps and lists to the value that changed', () => {
    // Prepare
    const line = (sku: string, quantity: string): AttributeValueJson => ({
      M: { sku: { S: sku }, quantity: { N: quantity } },
    });
    const oldImage: AttributeMapJson = {
      address: { M: { city: { S: 'Ghent' }, zip: { S: '9000' } } },
      lines: { L: [line('SKU-1', '1'), line('SKU-2', '5'), line('SKU-3', '1')] },
    };
    const newImage: AttributeMapJson = {
      address: { M: { city: { S: 'Bruges' }, zip: { S: '9000' }, 'c/o': { S: 'Ada' } } },
      lines: { L: [line('SKU-1', '3'), line('SKU-2', '5')] },
    };

    // Act
    const lines = diffLines(oldImage, newImage);

    // Assess
    expect(lines).toEqual([
      '+ address["c/o"]: "Ada"',
      '~ address.city: "Ghent" -> "Bruges"',
      '~ lines[0].quantity: 1 -> 3',
      '- lines[2]: {quantity: 1, sku: "SKU-3"}',
    ]);
  });

  it('shows an element appended to a list as added at its index', () => {
    // Act
    const lines = diffLines({ tags: { L: [{ S: 'a' }] } }, { tags: { L: [{ S: 'a' }, { S: 'b' }] } });

    // Assess
    expect(lines).toEqual(['+ tags[1]: "b"']);
  });

  it('shows a set that changed as a whole, and a set in another order as no change', () => {
    // Prepare
    const oldImage: AttributeMapJson = { tags: { SS: ['a', 'b'] }, sizes: { NS: ['1', '2'] } };
    const newImage: AttributeMapJson = { tags: { SS: ['c', 'b'] }, sizes: { NS: ['2', '1.0'] } };

    // Act
    const lines = diffLines(oldImage, newImage);

    // Assess
    expect(lines).toEqual(['~ tags: {"a", "b"} -> {"b", "c"}']);
  });

  it('treats numbers equal as decimals as no change, however deep', () => {
    // Prepare
    const oldImage: AttributeMapJson = { price: { N: '1.50' }, lines: { L: [{ M: { qty: { N: '2.0' } } }] } };
    const newImage: AttributeMapJson = { price: { N: '1.5' }, lines: { L: [{ M: { qty: { N: '2' } } }] } };

    // Act
    const entries = diffImages(oldImage, newImage);

    // Assess
    expect(entries).toEqual([]);
  });

  it('renders 38-digit numbers exactly on both sides of a change', () => {
    // Prepare
    const next = '12345678901234567890.123456789012345679';

    // Act
    const lines = diffLines({ total: { N: BIG_DECIMAL } }, { total: { N: next } });

    // Assess
    expect(lines).toEqual([`~ total: ${BIG_DECIMAL} -> ${next}`]);
  });

  it('shows a change of type as a change of the whole value', () => {
    // Act
    const lines = diffLines(
      { note: { S: '1' }, flag: { BOOL: true }, meta: { M: { a: { N: '1' } } } },
      { note: { N: '1' }, flag: { NULL: true }, meta: { L: [{ N: '1' }] } },
    );

    // Assess
    expect(lines).toEqual(['~ flag: true -> null', '~ meta: {a: 1} -> [1]', '~ note: "1" -> 1']);
  });

  it('shows a binary that changed by its sizes', () => {
    // Act
    const lines = diffLines({ blob: { B: 'AAEC' } }, { blob: { B: 'AAECAw==' } });

    // Assess
    expect(lines).toEqual(['~ blob: <binary 3 bytes> -> <binary 4 bytes>']);
  });

  it('keeps the raw AttributeValues in the entries', () => {
    // Act
    const entries = diffImages({ status: { S: 'PLACED' } }, { status: { S: 'PAID' } });

    // Assess
    expect(entries).toEqual([
      { op: 'changed', path: 'status', oldValue: { S: 'PLACED' }, newValue: { S: 'PAID' } },
    ]);
  });
});

describe('compareDecimals', () => {
  it.each<[string, string, number]>([
    ['1', '2', -1],
    ['10', '9', 1],
    ['1.50', '1.5', 0],
    ['-2', '1', -1],
    ['-10', '-9', -1],
    ['0.001', '0.01', -1],
    ['1E+2', '99.999', 1],
    [BIG_INTEGER, '99999999999999999999999999999999999998', 1],
    [BIG_DECIMAL, '12345678901234567890.12345678901234568', -1],
  ])('%s vs %s -> %i', (a, b, expected) => {
    // Act
    const order = compareDecimals(a, b);

    // Assess
    expect(Math.sign(order)).toBe(expected);
    expect(Math.sign(compareDecimals(b, a))).toBe(-expected || 0);
  });
});

describe('attributeValueProblem', () => {
  it.each<[string, unknown, string | undefined]>([
    ['a string', { S: 'x' }, undefined],
    ['a nested map and list', { M: { a: { L: [{ N: '1' }, { NULL: true }] } } }, undefined],
    ['two descriptors', { S: 'x', N: '1' }, 'v must have exactly one of'],
    ['an unknown descriptor', { X: 'x' }, 'v must have exactly one of'],
    ['a number that is not one', { N: 'one' }, 'v.N is not a number text'],
    ['a JSON number as N', { N: 1 }, 'v.N is not a number text'],
    ['binary that is not base64', { B: 'not base64!' }, 'v.B is not base64 text'],
    ['NULL false', { NULL: false }, 'v.NULL is not true'],
    ['a bad member deep inside', { M: { lines: { L: [{ M: { qty: { N: 'x' } } }] } } }, 'v.lines[0].qty.N'],
    ['an array', [], 'v is not an AttributeValue object'],
  ])('%s', (_name, value, expected) => {
    // Act
    const problem = attributeValueProblem(value, 'v');

    // Assess
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(expected);
  });

  it('names the attribute of an image at fault', () => {
    // Act
    const problem = attributeMapProblem({ status: { S: 'PAID' }, version: { N: true } }, 'newImage');

    // Assess
    expect(problem).toBe('newImage.version.N is not a number text');
  });
});
