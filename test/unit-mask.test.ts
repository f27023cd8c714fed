// Unit tests for masking secret values in a run's output (agent/runner/mask.ts): against a
// plain left-to-right reference on every split of the input, and counted work for linear time.
import { describe, expect, it } from 'vitest';
import { MASK_MIN_CHARS, maskBuffer, maskValues, StreamMasker } from '../agent/runner/mask.js';

/** The semantics, written the slow obvious way: at each position the longest value there wins. */
function reference(values: string[], text: Buffer): Buffer {
  const vs = values.filter((v) => v !== '').map((v) => Buffer.from(v));
  const out: Buffer[] = [];
  let lit = 0;
  for (let pos = 0; pos < text.length; ) {
    let best: Buffer | undefined;
    for (const v of vs) if (text.subarray(pos, pos + v.length).equals(v) && (!best || v.length > best.length)) best = v;
    if (!best) {
      pos++;
      continue;
    }
    out.push(text.subarray(lit, pos), Buffer.from('***'));
    pos += best.length;
    lit = pos;
  }
  out.push(text.subarray(lit));
  return Buffer.concat(out);
}

/** Feeds `text` in chunks of the given sizes (cycled), checking what comes out as it goes. */
function streamed(values: string[], text: Buffer, sizes: number[]): Buffer {
  const m = new StreamMasker(values);
  const maxLen = Math.max(0, ...values.map((v) => Buffer.byteLength(v)));
  const want = reference(values, text);
  const out: Buffer[] = [];
  for (let i = 0, k = 0; i < text.length; k++) {
    const n = Math.min(sizes[k % sizes.length]!, text.length - i);
    out.push(m.push(text.subarray(i, i + n)));
    i += n;
    expect(m.heldBytes, 'held back at most maxLen-1 bytes').toBeLessThanOrEqual(Math.max(0, maxLen - 1));
    const sofar = Buffer.concat(out);
    expect(want.subarray(0, sofar.length).equals(sofar), 'what came out is final').toBe(true);
  }
  out.push(m.end());
  expect(m.heldBytes).toBe(0);
  return Buffer.concat(out);
}

/** Deterministic PRNG (mulberry32): the same cases on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const str = (b: Buffer): string => b.toString('utf8');

describe('StreamMasker', () => {
  it('replaces every occurrence with ***', () => {
    expect(str(maskBuffer(['s3cret'], Buffer.from('token=s3cret\nagain s3crets3cret\n')))).toBe('token=***\nagain ******\n');
  });

  it('passes through without values, and keeps empty input empty', () => {
    expect(str(maskBuffer([], Buffer.from('plain')))).toBe('plain');
    expect(maskBuffer(['s3cret'], Buffer.alloc(0)).length).toBe(0);
    const m = new StreamMasker(['s3cret']);
    expect(m.push(Buffer.alloc(0)).length).toBe(0);
    expect(m.end().length).toBe(0);
  });

  it('masks a value split across chunks, at every split point and in 1-byte chunks', () => {
    const text = Buffer.from('a s3cret-value b s3cret-value');
    const want = 'a *** b ***';
    for (let cut = 0; cut <= text.length; cut++) {
      const m = new StreamMasker(['s3cret-value']);
      expect(str(Buffer.concat([m.push(text.subarray(0, cut)), m.push(text.subarray(cut)), m.end()])), `cut at ${cut}`).toBe(want);
    }
    expect(str(streamed(['s3cret-value'], text, [1]))).toBe(want);
  });

  it('holds back only a possible start of a value, and returns the rest at once', () => {
    const m = new StreamMasker(['s3cret-value']);
    expect(str(m.push(Buffer.from('line one\n')))).toBe('line one\n');
    expect(str(m.push(Buffer.from('token=s3cr')))).toBe('token=');
    expect(str(m.push(Buffer.from('et-value!\n')))).toBe('***!\n');
    expect(str(m.push(Buffer.from('s3cr')))).toBe('');
    expect(str(m.end()), 'a prefix that never completed is written at the end').toBe('s3cr');
  });

  it('lets the longer value win at the same start, and the leftmost win otherwise', () => {
    expect(str(maskBuffer(['abcd', 'abcdef'], Buffer.from('xabcdefy')))).toBe('x***y');
    expect(str(maskBuffer(['abcd', 'abcdef'], Buffer.from('xabcdey')))).toBe('x***ey');
    expect(str(maskBuffer(['cdef', 'abcd'], Buffer.from('abcdef')))).toBe('***ef');
    expect(str(maskBuffer(['bcd', 'abcz'], Buffer.from('abcd')))).toBe('a***');
    // a short match waits while a longer one from further left may still complete, and what
    // follows the replaced one is searched again from its end
    const values = ['abcde', 'abcdefghZ', 'cdefgh', 'gh'];
    const text = Buffer.from('abcdefghXX');
    expect(str(maskBuffer(values, text))).toBe('***f***XX');
    expect(str(streamed(values, text, [1]))).toBe('***f***XX');
  });

  it('masks multi-byte UTF-8 values byte-exactly, whatever the chunking', () => {
    const values = ['pässwörd🔑', 'ö🔑ö'];
    const text = Buffer.from('🔑pässwörd🔑ö ö🔑ö pässwörd ✓');
    const want = '🔑***ö *** pässwörd ✓';
    expect(str(maskBuffer(values, text))).toBe(want);
    for (const sizes of [[1], [2], [3], [5, 1, 7]]) expect(str(streamed(values, text, sizes)), `chunks ${sizes.join(',')}`).toBe(want);
  });

  it('agrees with the reference on random values, texts and chunkings', () => {
    const rand = rng(42);
    const pick = (alphabet: string, n: number): string => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    for (let round = 0; round < 400; round++) {
      const alphabet = round % 2 ? 'ab' : 'abcé';
      const values = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(alphabet, 1 + Math.floor(rand() * 6)));
      const text = Buffer.from(pick(alphabet, Math.floor(rand() * 60)));
      const want = reference(values, text).toString('hex');
      expect(maskBuffer(values, text).toString('hex'), JSON.stringify({ values, text: str(text) })).toBe(want);
      const sizes = Array.from({ length: 3 }, () => 1 + Math.floor(rand() * 8));
      expect(streamed(values, text, sizes).toString('hex'), JSON.stringify({ values, text: str(text), sizes })).toBe(want);
    }
  });

  it('does work linear in the input, whatever the chunking and the number of values', () => {
    // worst cases for a search that rescans: long shared prefixes that almost match everywhere
    const values = Array.from({ length: 50 }, (_, i) => 'a'.repeat(i + 4) + 'b');
    const workFor = (n: number, chunk: number): number => {
      const m = new StreamMasker(values);
      const text = Buffer.from('a'.repeat(n - 1) + 'b');
      for (let i = 0; i < n; i += chunk) m.push(text.subarray(i, i + chunk));
      m.end();
      return m.work;
    };
    for (const chunk of [1, 7, 4096]) {
      const small = workFor(20_000, chunk);
      const large = workFor(80_000, chunk);
      expect(large, `chunks of ${chunk}`).toBeLessThanOrEqual(4 * small + 1000);
      expect(large, `chunks of ${chunk}: a few steps per byte`).toBeLessThanOrEqual(4 * 80_000);
    }
    // many matches: every one is seen once
    const m = new StreamMasker(['aaaa', 'aaaaaaaa']);
    const out = str(Buffer.concat([m.push(Buffer.from('a'.repeat(100_000))), m.end()]));
    expect(out === '***'.repeat(12_500), 'every 8 bytes masked').toBe(true);
    expect(m.work).toBeLessThanOrEqual(10 * 100_000);
  });
});

describe('maskValues', () => {
  it(`skips values shorter than ${MASK_MIN_CHARS} characters, counted without surrounding space`, () => {
    expect(maskValues(['abc', 'abcd', '  ab  ', 'äöüß', '🔑🔑🔑'])).toEqual(['abcd', 'äöüß']);
  });

  it('adds each line of a multi-line value, trimmed, and drops duplicates', () => {
    const key = '-----BEGIN KEY-----\n  MIIEvQIBADANBg\r\nab\n-----END KEY-----\n';
    const v = maskValues([key, 'MIIEvQIBADANBg']);
    expect(v).toContain(key);
    expect(v).toEqual(expect.arrayContaining(['-----BEGIN KEY-----', 'MIIEvQIBADANBg', '-----END KEY-----']));
    expect(v).not.toContain('ab');
    expect(v.filter((x) => x === 'MIIEvQIBADANBg')).toHaveLength(1);
  });

  it('adds the JSON-escaped form of a value that has one', () => {
    expect(maskValues(['pa"ss\\word'])).toEqual(['pa"ss\\word', 'pa\\"ss\\\\word']);
    expect(maskValues(['plainvalue'])).toEqual(['plainvalue']);
  });
});
