import { describe, expect, it } from 'vitest';
import { canonicalLastMember, canonicalValueEnd } from './canonical-json.js';

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const KEYS = ['a', 'id', 'name', '1', '01', '48x48', '__proto__', 'é', 'k\u2028', 'emoji😀', 'q"uote'];
const STRINGS = ['', 'plain', 'tab\there', 'line\nbreak', 'quote"s', 'back\\slash', 'é and 😀', '\u0001', '\ud800', 'a/b', '\u2028'];
const NUMBERS = [0, -0, 1, -1, 42, 1.5, -0.25, 1e21, 1e-7, 123456789012345, 2 ** 53 + 2, 3.14159];

function value(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 3 || r < 0.35) {
    const pick = rand();
    if (pick < 0.4) return STRINGS[Math.floor(rand() * STRINGS.length)];
    if (pick < 0.75) return NUMBERS[Math.floor(rand() * NUMBERS.length)];
    return [true, false, null][Math.floor(rand() * 3)];
  }
  if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => value(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (let k = Math.floor(rand() * 5); k > 0; k--)
    Object.defineProperty(o, KEYS[Math.floor(rand() * KEYS.length)]!, {
      value: value(rand, depth + 1),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  return o;
}

/** Texts of the same value as other writers put them: spaced, with other escapes and number forms, or a key twice. */
function variants(text: string): string[] {
  return [
    text,
    text.replace(/,/g, ', '),
    text.replace(/:/g, ': '),
    text.replace(/é/g, '\\u00e9'),
    text.replace(/\//g, '\\/'),
    text.replace(/\\u2028/g, '\u2028'),
    text.replace(/\b1\.5\b/g, '1.50'),
    text.replace(/:42\b/g, ':4.2e1'),
    text.replace(/^\{"([^"]*)":([^,{}[\]]*),/, '{"$1":$2,"$1":$2,'),
    `[${text}]`,
  ];
}

/** True when the check vouches for `text` at `from` and is right to. */
function vouches(text: string): boolean {
  JSON.parse(text);
  const end = canonicalValueEnd(text, 0);
  if (end < 0) return false;
  expect(end).toBe(text.length);
  expect(JSON.stringify(JSON.parse(text))).toBe(text);
  return true;
}

describe('canonical JSON text', () => {
  it('vouches only for text JSON.stringify writes as it is, over many generated values and their variants', () => {
    let vouched = 0;
    let refused = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const rand = prng(seed);
      for (const text of variants(JSON.stringify(value(rand, 0)))) {
        if (vouches(text)) vouched++;
        else refused++;
      }
    }
    expect(vouched).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });

  it('refuses what JSON.stringify would write otherwise', () => {
    for (const text of [
      '{"a":1,"a":2}',
      '{"1":1,"b":2}',
      '{"a" :1}',
      '[1, 2]',
      '"\\/"',
      '"\\u00e9"',
      '1.0',
      '-0',
      '1e3',
      '"\\ud800"',
      '012',
    ]) {
      expect(canonicalValueEnd(text, 0), text).toBe(-1);
    }
    for (const text of ['{"a":1,"b":{"a":2}}', '{"48x48":"u"}', '"\\n\\t\\"\\\\"', '1e+21', '-0.5', '[[],{}]', '"😀"']) {
      expect(canonicalValueEnd(text, 0), text).toBe(text.length);
    }
  });

  it("finds a message's payload as its last member, and only there", () => {
    const payload = { id: 7, title: 'x', nested: { list: [1, 'two', null] } };
    const message = JSON.stringify({ specversion: '1.0', id: 'e', data: payload });
    const at = canonicalLastMember(message, 'data', true)!;
    expect(message.slice(at.start, at.end)).toBe(JSON.stringify(payload));
    expect(canonicalLastMember(message, 'data', false)).toEqual(at);
    expect(canonicalLastMember(JSON.stringify({ data: payload, id: 'e' }), 'data')).toBeUndefined();
    expect(canonicalLastMember(`{"id":"e","data":${JSON.stringify(payload, null, 2)}}`, 'data')).toBeUndefined();
    expect(canonicalLastMember(`{"id":"e", "data":${JSON.stringify(payload)}}`, 'data')).toBeUndefined();
    const last = `{"data":1,"id":"e","data":${JSON.stringify(payload)}}`;
    const twice = canonicalLastMember(last, 'data', true)!;
    expect(JSON.parse(last.slice(twice.start, twice.end))).toEqual((JSON.parse(last) as { data: unknown }).data);
  });
});
