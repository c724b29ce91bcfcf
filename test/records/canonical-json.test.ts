import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/errors.js';
import { canonicalJson } from '../../src/domain/canonical-json.js';

// The reference implementation by the RFC's author, used as an oracle for representable values.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (input: unknown) => string | undefined;

/**
 * RFC 8785 test data: cyberphone/json-canonicalization `testdata/input` and `testdata/output`
 * (arrays, french, structures, unicode, values, weird), copied with escapes so every byte is visible.
 */
const VECTORS: [name: string, input: string, output: string][] = [
  [
    'arrays',
    '[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]',
    '[56,{"1":[],"10":null,"d":true}]',
  ],
  [
    'french',
    '{\n  "peach": "This sorting order",\n  "péché": "is wrong according to French",\n  "pêche": "but canonicalization MUST",\n  "sin":   "ignore locale"\n}',
    '{"peach":"This sorting order","péché":"is wrong according to French","pêche":"but canonicalization MUST","sin":"ignore locale"}',
  ],
  [
    'structures',
    '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n  "10": { },\n  "": "empty",\n  "a": { },\n  "111": [ {"e": "yes","E": "no" } ],\n  "A": {"b": "123"}\n}',
    '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{"E":"no","e":"yes"}],"A":{"b":"123"},"a":{}}',
  ],
  ['unicode', '{\n  "Unnormalized Unicode":"\\u1e0d\\u0307"\n}\n', '{"Unnormalized Unicode":"\u1e0d\u0307"}'],
  [
    'values',
    '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}',
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  ],
  [
    'weird',
    '{\n  "\\u20ac": "Euro Sign",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n  "\\ud83d\\ude02": "Smiley",\n  "\\u00f6": "Latin Small Letter O With Diaeresis",\n  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "</script>": "Browser Challenge"\n}\n',
    '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  ],
  ['simpleString', '    "this is a test string 1235"', '"this is a test string 1235"'],
];

/** RFC 8785 Appendix B: IEEE-754 bit patterns and their required serialisation. */
const APPENDIX_B: [bits: string, expected: string][] = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'],
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];

function doubleFromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson: RFC 8785 test vectors', () => {
  it.each(VECTORS)('%s', (_name, input, output) => {
    expect(canonicalJson(JSON.parse(input))).toBe(output);
  });

  it('writes the RFC §3.2.4 example as the published UTF-8 bytes', () => {
    const input = JSON.parse(VECTORS.find(([name]) => name === 'values')?.[1] ?? '') as unknown;
    const hex = Buffer.from(canonicalJson(input), 'utf8').toString('hex').replace(/(..)/g, '$1 ').trim();
    expect(hex).toBe(
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c 22 6e ' +
        '75 6d 62 65 72 73 22 3a 5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 65 2b 33 30 ' +
        '2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 ' +
        '5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d',
    );
  });

  it('sorts keys by UTF-16 code units, as in the RFC §3.2.3 example', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Parsing the output again would re-order integer-like keys, so read the order from the text.
    const text = canonicalJson(input);
    const positions = Object.values(input).map((value) => [value, text.indexOf(value)] as const);
    positions.sort((a, b) => a[1] - b[1]);
    expect(positions.map(([value]) => value)).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });
});

describe('canonicalJson: RFC 8785 Appendix B numbers', () => {
  it.each(APPENDIX_B)('%s → %s', (bits, expected) => {
    expect(canonicalJson(doubleFromBits(bits))).toBe(expected);
  });
});

describe('canonicalJson: values RFC 8785 cannot represent', () => {
  it.each<[string, unknown]>([
    ['NaN', Number.NaN],
    ['NaN (Appendix B 7fffffffffffffff)', doubleFromBits('7fffffffffffffff')],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['NaN nested in an array', { a: [1, Number.NaN] }],
    ['a lone high surrogate', 'x\ud800y'],
    ['a lone low surrogate', '\udc00'],
    ['a reversed surrogate pair', '\ude00\ud83d'],
    ['a lone surrogate in a key', { '\ud800': 1 }],
    ['a lone surrogate parsed from a JSON escape', JSON.parse('{"a":"\\ud800"}')],
    ['bigint', 1n],
    ['a function member', { f: () => 1 }],
    ['a symbol member', { s: Symbol('s') }],
    ['undefined at the top', undefined],
    ['undefined inside an array', [undefined]],
    ['a Map', new Map([['a', 1]])],
    ['a class instance', new (class Thing {})()],
  ])('throws InternalError for %s', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(InternalError);
  });

  it('throws InternalError for a cycle, naming where', () => {
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).back = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cyclic at \/a\/back/);
  });

  it('names the JSON Pointer of the offending value', () => {
    expect(() => canonicalJson({ 'a/b': [0, { c: Number.NaN }] })).toThrow(/at \/a~1b\/1\/c/);
  });

  it('accepts a shared (non-cyclic) object twice and omits undefined members', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ b: shared, a: shared, u: undefined })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('serialises a Date through toJSON and -0 as 0', () => {
    expect(canonicalJson({ at: new Date('2026-06-28T10:00:00Z'), z: -0 })).toBe(
      '{"at":"2026-06-28T10:00:00.000Z","z":0}',
    );
  });
});

describe('canonicalJson: properties', () => {
  it('agrees with the reference implementation on every JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 500 },
    );
  });

  it('writes every well-formed string, as a value or a key, and every finite number as JSON.stringify does', () => {
    const strings = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({
        unit: fc.constantFrom(
          ...['a', 'é', '/', '"', '\\', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f', '\u2028'],
          ...['\ud83d\ude00', '\uffff', '\ue000'],
        ),
      }),
    );
    fc.assert(
      fc.property(strings, (text) => {
        expect(canonicalJson(text)).toBe(JSON.stringify(text));
        expect(canonicalJson({ [text]: 1 })).toBe(`{${JSON.stringify(text)}:1}`);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()), (number) => {
        expect(canonicalJson(number)).toBe(JSON.stringify(number));
      }),
      { numRuns: 1000 },
    );
  });

  it('is a fixed point: parsing the output and canonicalising again gives the same text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
