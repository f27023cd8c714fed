// Unit tests for durations as people write them ("90s", "1h30m", a number of seconds)
// and as meshrun prints them back.

import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../proto/duration.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1m5s', 65_000],
    ['2d', 172_800_000],
    ['1.5h', 5_400_000],
    ['1h0m30s', 3_630_000],
    ['90', 90_000],
    ['0.25', 250],
    ['  45s  ', 45_000],
    [90, 90_000],
    [0, 0],
    [1.5, 1500],
  ])('%j -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    'bogus',
    '',
    '   ',
    '1h 30m',
    '30S',
    '-5',
    '-5s',
    '1m30',
    's',
    '5mss',
    '1e3',
    '30 s',
  ])('%j is not a duration', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('number %d is not a duration', (n) => {
    expect(parseDuration(n)).toBeUndefined();
  });

  it('"ms" is read as milliseconds, not minutes then seconds', () => {
    expect(parseDuration('1ms')).toBe(1);
    expect(parseDuration('1m1s')).toBe(61_000);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [250, '250ms'],
    [1500, '1.5s'],
    [30_000, '30.0s'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [3_600_000, '1h0m'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('what it prints parses back to the same duration', () => {
    for (const ms of [250, 1500, 90_000, 5_400_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  // Regression (fixed): before the fix, the minutes/hours branches floor the big unit but round the small one, so a
  // value just under the next minute or hour prints 60 of the small unit:
  // formatDuration(119_999) is "1m60s" (expected "2m0s"), formatDuration(7_199_999) is
  // "1h60m" (expected "2h0m").
  it('never prints 60 seconds or 60 minutes', () => {
    expect(formatDuration(119_999)).toBe('2m0s');
    expect(formatDuration(7_199_999)).toBe('2h0m');
  });
});
