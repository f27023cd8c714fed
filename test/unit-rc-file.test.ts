// The .rc file is the run's final result, written by the shell wrapper in place with one write
// of its line: a reader takes it only whole (with its newline), so an empty file - the moment
// between the wrapper's open and its write, or a wrapper killed there - is no result yet.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRc, stemPaths, type RunPaths } from '../agent/runner/run-files.js';

let dir: string;
let paths: RunPaths;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshrun-rc-'));
  paths = stemPaths(dir, 'stage.1');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('reading a run\'s .rc', () => {
  it('is no result while absent, empty or without its newline', () => {
    expect(readRc(paths)).toBeUndefined();
    writeFileSync(paths.rc, '');
    expect(readRc(paths)).toBeUndefined();
    writeFileSync(paths.rc, '13');
    expect(readRc(paths)).toBeUndefined();
  });

  it('is the exit code once the line is whole; anything else in it is no result', () => {
    writeFileSync(paths.rc, '137\n');
    expect(readRc(paths)).toBe(137);
    writeFileSync(paths.rc, '0\n');
    expect(readRc(paths)).toBe(0);
    writeFileSync(paths.rc, 'x\n');
    expect(readRc(paths)).toBeUndefined();
  });
});
