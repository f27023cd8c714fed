// Unit tests for reading a process's start time (field 22) out of /proc/PID/stat,
// against lines recorded on a real Linux machine.

import { describe, expect, it } from 'vitest';
import { parseStartTicks } from '../agent/runner/procfs.js';

// Recorded from /proc/PID/stat on the authoring machine (kernel with CLK_TCK 100); the
// expected value is field 22 as printed by `awk '{print $22}'` where comm has no space.
const FIXTURES: [string, string, number][] = [
  [
    'pid 1',
    '1 (process_api) S 0 0 0 0 -1 4194560 44052 7524623 0 499 61 351 19532 3720 10 -10 13 0 24 41426944 2901 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
    24,
  ],
  [
    'bash',
    '13209 (bash) S 13208 13209 13209 0 -1 4194560 3686 36681 0 3 0 2 21 5 20 0 1 0 100456 5124096 972 18446744073709551615 94412808978432 94412809767837 140726464394752 0 0 0 65536 4 1132560123 1 0 0 17 0 0 0 0 0 0 94412810001136 94412810049380 94413453459456 140726464400251 140726464400266 140726464400266 140726464401386 0\n',
    100456,
  ],
  [
    'cat (running)',
    '14914 (cat) R 14911 14911 13209 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 105848 3133440 414 18446744073709551615 94861129670656 94861129690537 140735421054544 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94861129706544 94861129708160 94861926121472 140735421061856 140735421061876 140735421061876 140735421063147 0\n',
    105848,
  ],
  [
    // a copy of sleep run as "/tmp/a b": comm has a space
    'comm with a space',
    '15006 (a b) S 15005 14997 13209 0 -1 4194304 130 0 0 0 0 0 0 0 20 0 1 0 106105 2990080 403 18446744073709551615 94805214519296 94805214537225 140729948429856 0 0 0 0 6 0 1 0 0 17 1 0 0 0 0 0 94805214551312 94805214552576 94806107504640 140729948433133 140729948433145 140729948433145 140729948434415 0\n',
    106105,
  ],
  [
    // a copy of sleep run as "/tmp/x) S 1 (y": comm holds ") S 1 (" and looks like
    // fields to a naive split; the kernel does not escape it
    'comm with ") S 1 ("',
    '15001 (x) S 1 (y) S 15000 14997 13209 0 -1 4194304 135 0 0 0 0 0 0 0 20 0 1 0 106084 2990080 445 18446744073709551615 94733549531136 94733549549065 140736365481696 0 0 0 0 6 0 1 0 0 17 1 0 0 0 0 0 94733549563152 94733549564416 94734122749952 140736365484763 140736365484781 140736365484781 140736365486057 0\n',
    106084,
  ],
];

describe('parseStartTicks', () => {
  it.each(FIXTURES)('%s', (_name, line, ticks) => {
    expect(parseStartTicks(line)).toBe(ticks);
  });

  it('reads the same value without the trailing newline', () => {
    expect(parseStartTicks(FIXTURES[1]![1].trimEnd())).toBe(100456);
  });

  it('a constructed comm "a) b" (parentheses and spaces) is skipped as a whole', () => {
    const rest = 'S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0';
    expect(parseStartTicks(`123 (a) b) ${rest}`)).toBe(777);
    expect(parseStartTicks(`123 ((() ${rest}`)).toBe(777);
    expect(parseStartTicks(`123 () ${rest}`)).toBe(777);
  });

  it('a line without ")" or truncated before field 22 gives nothing', () => {
    expect(parseStartTicks('')).toBeUndefined();
    expect(parseStartTicks('123 bash S 1 1 1')).toBeUndefined();
    expect(parseStartTicks('15006 (a b) S 15005 14997 13209 0 -1 4194304 130 0 0 0 0 0 0 0 20 0 1 0')).toBeUndefined();
    expect(parseStartTicks('15006 (a b)')).toBeUndefined();
  });

  it('a non-numeric field 22 gives nothing', () => {
    expect(parseStartTicks('1 (x) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 abc 0')).toBeUndefined();
  });
});
