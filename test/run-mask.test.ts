// The run wrapper (dist/agent/runner/wrapper.js, a real detached process) with a mask file: the
// log and the outputs file get *** for the values, the mask file is gone at the end, a run whose
// mask file cannot be read is not started, and one without keeps writing its log directly.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeMaskFile } from '../agent/runner/mask-file.js';
import { ensurePrivateDir, readMeta, readRc, runMetaSchema, stemPaths, writeMeta, type RunPaths } from '../agent/runner/run-files.js';
import { ROOT, waitFor } from './harness/processes.js';

const WRAPPER = join(ROOT, 'dist', 'agent', 'runner', 'wrapper.js');
const SECRET = 'hunter2-not-in-the-log';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshrun-mask-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes the run's metadata as the agent would and starts its wrapper; resolves when the wrapper exits. */
function launch(stem: string, script: string, maskFile: string | null): { paths: RunPaths; exited: Promise<void> } {
  const paths = stemPaths(dir, stem);
  ensurePrivateDir(paths.work);
  const meta = runMetaSchema.parse({
    token: { job: 'j', stage: stem, attempt: 1 },
    jobName: 'j',
    node: 'n',
    argv: ['sh', '-c', script],
    cwd: paths.work,
    removeOnExit: maskFile ? [maskFile] : [],
    maskFile,
    failover: 'reassign',
    timeoutMs: null,
    createdAt: Date.now(),
  });
  writeMeta(paths, meta);
  const w = spawn(process.execPath, [WRAPPER, dir, stem], { stdio: 'ignore', env: { ...process.env, SECRET, MESHRUN_OUTPUT: paths.output } });
  return { paths, exited: new Promise((res) => w.on('exit', () => res())) };
}

describe.skipIf(!existsSync(WRAPPER))('run wrapper with a mask file (run `npm run build` first)', () => {
  it('masks the log and the outputs file, across writes and streams, and removes the mask file', async () => {
    const maskFile = join(dir, 'a.mask.json');
    writeMaskFile(maskFile, [SECRET]);
    const { paths, exited } = launch(
      'a',
      [
        'echo "whole=$SECRET"',
        // split in two writes on one stream; in two across stdout and stderr (the log as a whole
        // never holds it either, though the pieces may land apart)
        'printf "split=%s" "$(printf %s "$SECRET" | head -c 8)"; sleep 0.2; printf "%s\\n" "$(printf %s "$SECRET" | tail -c +9)"',
        'printf "\\nacross=%s" "$(printf %s "$SECRET" | head -c 8)"; sleep 0.2; printf "%s\\n" "$(printf %s "$SECRET" | tail -c +9)" >&2; sleep 0.2; echo',
        'printf %s "$SECRET" | head -c 6; echo " <- a prefix stays"',
        'echo "OUT=$SECRET" >> "$MESHRUN_OUTPUT"',
        'exit 3',
      ].join('; '),
      maskFile,
    );
    await exited;
    expect(readRc(paths)).toBe(3);
    const log = readFileSync(paths.log, 'utf8');
    expect(log).not.toContain(SECRET);
    expect(log).toContain('whole=***\nsplit=***\n');
    expect(log).toContain('across=');
    expect(log).toContain(`${SECRET.slice(0, 6)} <- a prefix stays\n`);
    expect(readFileSync(paths.output, 'utf8')).toBe('OUT=***\n');
    expect(existsSync(maskFile), 'the mask file is removed with the run').toBe(false);
    expect(readMeta(paths)).toMatchObject({ exitCode: 3, error: null });
  });

  it('does not start a run whose mask file cannot be read', async () => {
    const marker = join(dir, 'ran');
    const { paths, exited } = launch('b', `touch ${marker}; echo "$SECRET"`, join(dir, 'missing.mask.json'));
    await exited;
    expect(readRc(paths)).toBe(127);
    expect(existsSync(marker), 'the run never started').toBe(false);
    expect(readFileSync(paths.log, 'utf8')).toMatch(/cannot read the run's mask file .*not starting the run/);
    expect(readMeta(paths)).toMatchObject({ exitCode: 127, error: 'mask file unreadable' });
  });

  it('writes the rc while something the run left running holds its output, and keeps masking that', async () => {
    const maskFile = join(dir, 'c.mask.json');
    writeMaskFile(maskFile, [SECRET]);
    const gate = join(dir, 'gate');
    const { paths, exited } = launch('c', `(while [ ! -e ${gate} ]; do sleep 0.1; done; echo "late=$SECRET") & echo "early=$SECRET"`, maskFile);
    await waitFor('the rc, with the leftover still running', () => readRc(paths) !== undefined, 20_000);
    expect(readRc(paths)).toBe(0);
    expect(readFileSync(paths.log, 'utf8')).toBe('early=***\n');
    writeFileSync(gate, '');
    await exited;
    expect(readFileSync(paths.log, 'utf8')).toBe('early=***\nlate=***\n');
  });

  it('without a mask file writes the log directly, unmasked', async () => {
    const { paths, exited } = launch('d', 'echo "plain=$SECRET"; echo err >&2', null);
    await exited;
    expect(readRc(paths)).toBe(0);
    expect(readFileSync(paths.log, 'utf8')).toBe(`plain=${SECRET}\nerr\n`);
  });
});
