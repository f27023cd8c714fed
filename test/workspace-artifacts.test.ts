// Artifacts: glob collection and extraction round-trip without following symlinks out of the
// run directory; prune removes exactly the matched files.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, InvalidInputError } from '../lib/errors.js';
import { collectArtifacts, extractArtifacts, packWorkspace, pruneFiles } from '../lib/workspace/index.js';

let tmp: string;
let runDir: string;
let outside: string;

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'meshrun-artifacts-'));
  runDir = path.join(tmp, 'run');
  outside = path.join(tmp, 'outside');
  await fs.mkdir(outside);
  await fs.writeFile(path.join(outside, 'secret.key'), 'outside secret');
  await fs.writeFile(path.join(outside, 'report.log'), 'outside log');
  await write(runDir, {
    'out/report.json': '{"ok":true}',
    'out/deep/trace.txt': 'trace',
    'build.log': 'top log',
    'sub/step.log': 'sub log',
    'sub/notes.txt': 'not collected',
    'tool.sh': '#!/bin/sh\n',
    '.env': 'TOKEN=x',
    'keys/id_ed25519': 'private',
    'keys/id_ed25519.pub': 'public',
  });
  await fs.chmod(path.join(runDir, 'tool.sh'), 0o755);
  // Links a hostile or careless run could leave behind.
  await fs.symlink(path.join(outside, 'secret.key'), path.join(runDir, 'out/leak.json'));
  await fs.symlink(outside, path.join(runDir, 'out/outside-dir'));
  await fs.symlink('../build.log', path.join(runDir, 'sub/inner.log'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function write(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), content);
  }
}

async function outsideIntact(): Promise<void> {
  expect((await fs.readdir(outside)).sort()).toEqual(['report.log', 'secret.key']);
  expect(await fs.readFile(path.join(outside, 'secret.key'), 'utf8')).toBe('outside secret');
}

describe('collectArtifacts / extractArtifacts', () => {
  it('collects matched regular files only, never through symlinks, and round-trips them', async () => {
    const res = await collectArtifacts(runDir, ['out/**', '**/*.log', 'tool.sh'], { maxBytes: 1024 * 1024 });
    expect(res.files).toEqual(['build.log', 'out/deep/trace.txt', 'out/report.json', 'sub/step.log', 'tool.sh']);
    expect(res.sha256).toMatch(/^[0-9a-f]{64}$/);

    const again = await collectArtifacts(runDir, ['out/**', '**/*.log', 'tool.sh'], { maxBytes: 1024 * 1024 });
    expect(again.sha256).toBe(res.sha256);

    const dest = path.join(tmp, 'fetched');
    // five files plus the implied directories out, out/deep and sub
    expect(await extractArtifacts(res.archive, dest)).toEqual({ files: 8, bytes: 7 + 5 + 11 + 7 + 10 });
    expect(await fs.readFile(path.join(dest, 'out/report.json'), 'utf8')).toBe('{"ok":true}');
    expect(await fs.readFile(path.join(dest, 'out/deep/trace.txt'), 'utf8')).toBe('trace');
    expect(await fs.readFile(path.join(dest, 'sub/step.log'), 'utf8')).toBe('sub log');
    expect((await fs.stat(path.join(dest, 'tool.sh'))).mode & 0o111).not.toBe(0);
    await expect(fs.lstat(path.join(dest, 'out/leak.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.lstat(path.join(dest, 'out/outside-dir'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.lstat(path.join(dest, 'sub/inner.log'))).rejects.toMatchObject({ code: 'ENOENT' });
    await outsideIntact();
  });

  it('collects nothing into a valid empty archive', async () => {
    const res = await collectArtifacts(runDir, ['nope/**'], { maxBytes: 10 });
    expect(res.files).toEqual([]);
    expect(await extractArtifacts(res.archive, path.join(tmp, 'fetched'))).toEqual({ files: 0, bytes: 0 });
  });

  it('refuses artifacts over maxBytes, naming size and limit', async () => {
    const err = await collectArtifacts(runDir, ['**'], { maxBytes: 16 }).then(
      () => {
        throw new Error('not refused');
      },
      (e: unknown) => e as Error,
    );
    expect(err).toMatchObject({ code: ErrorCode.TooLarge });
    expect(err.message).toMatch(/over the limit of 16 B \(16 bytes\)/);
  });

  it('refuses bad globs before touching anything', async () => {
    await expect(collectArtifacts(runDir, ['../outside/**'], { maxBytes: 1024 })).rejects.toThrow(InvalidInputError);
    await expect(collectArtifacts(runDir, [path.join(outside, '*')], { maxBytes: 1024 })).rejects.toThrow(InvalidInputError);
  });

  it('extracts with the unpack rules: limits enforced, fresh directory only', async () => {
    const ws = path.join(tmp, 'ws');
    await fs.mkdir(ws);
    await fs.writeFile(path.join(ws, 'ok'), 'x');
    const good = await packWorkspace(ws, { maxBytes: 1024 });
    await expect(extractArtifacts(good.archive, path.join(tmp, 'a'), { maxBytes: 0, maxFiles: 10 })).rejects.toMatchObject({ code: ErrorCode.TooLarge });
    await expect(fs.lstat(path.join(tmp, 'a'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(extractArtifacts(good.archive, runDir)).rejects.toThrow(InvalidInputError);
  });
});

describe('pruneFiles', () => {
  it('removes matched files only, unlinks matched symlinks without touching targets', async () => {
    const removed = await pruneFiles(runDir, ['.env', 'keys/id_*', '**/*.key', 'out/leak.json', 'out/outside-dir/**']);
    expect(removed).toEqual(['.env', 'keys/id_ed25519', 'keys/id_ed25519.pub', 'out/leak.json']);
    await expect(fs.lstat(path.join(runDir, '.env'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.lstat(path.join(runDir, 'out/leak.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    // Directories stay; unmatched files stay; the symlinked directory was not entered.
    expect(await fs.readdir(path.join(runDir, 'keys'))).toEqual([]);
    expect(await fs.readFile(path.join(runDir, 'build.log'), 'utf8')).toBe('top log');
    expect(await fs.readlink(path.join(runDir, 'out/outside-dir'))).toBe(outside);
    await outsideIntact();
  });

  it('removes nothing when nothing matches, and refuses unsafe globs', async () => {
    expect(await pruneFiles(runDir, ['*.pem'])).toEqual([]);
    await expect(pruneFiles(runDir, ['../outside/secret.key'])).rejects.toThrow(InvalidInputError);
    await outsideIntact();
  });
});
