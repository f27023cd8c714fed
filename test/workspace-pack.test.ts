// Packing: ignore files, determinism, modes and symlinks, limits; checked by listing the
// archive and by unpacking it again.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Parser, type ReadEntry } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, UnsafePathError } from '../lib/errors.js';
import { packWorkspace, unpackWorkspace } from '../lib/workspace/index.js';

const LIMITS = { maxBytes: 10 * 1024 * 1024, maxFiles: 1000 };
let tmp: string;

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'meshrun-pack-'));
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

async function listArchive(archive: Buffer): Promise<string[]> {
  const names: string[] = [];
  const parser = new Parser({ onReadEntry: (e: ReadEntry) => { names.push(e.path); e.resume(); } });
  const done = new Promise((resolve) => parser.on('end', resolve));
  parser.end(archive);
  await done;
  return names;
}

describe('packWorkspace', () => {
  it('honours root and nested .gitignore, .meshrunignore, and always skips .git', async () => {
    const ws = path.join(tmp, 'ws');
    await write(ws, {
      '.gitignore': '*.log\nbuild/\n!keep.log\n/rootonly.txt\n',
      '.meshrunignore': 'secret.env\n!generated/inventory.ini\n',
      'a.log': 'x',
      'keep.log': 'x',
      'rootonly.txt': 'x',
      'build/out.bin': 'x',
      'secret.env': 'x',
      'generated/.gitignore': '*\n',
      'generated/inventory.ini': 'x',
      'generated/other.tmp': 'x',
      'src/rootonly.txt': 'x',
      'src/.gitignore': 'local.tmp\n!important.log\n',
      'src/local.tmp': 'x',
      'src/important.log': 'x',
      'src/deep/local.tmp': 'x',
      'src/deep/ok.txt': 'x',
      '.git/HEAD': 'ref: refs/heads/main\n',
      'sub/.git': 'gitdir: ../.git/modules/sub\n',
      'sub/file.txt': 'x',
      'Case.LOG': 'git matches case-sensitively',
    });
    const { archive } = await packWorkspace(ws, LIMITS);
    expect(await listArchive(archive)).toEqual([
      '.gitignore',
      '.meshrunignore',
      'Case.LOG',
      'generated/',
      'generated/inventory.ini',
      'keep.log',
      'src/',
      'src/.gitignore',
      'src/deep/',
      'src/deep/ok.txt',
      'src/important.log',
      'src/rootonly.txt',
      'sub/',
      'sub/file.txt',
    ]);
  });

  it('gives the same bytes for the same tree, whatever the mtimes and non-exec mode bits', async () => {
    const files = { 'a.txt': 'alpha', 'dir/b.txt': 'beta', 'dir/sub/c.sh': '#!/bin/sh\n' };
    const one = path.join(tmp, 'one');
    const two = path.join(tmp, 'two');
    await write(one, files);
    await write(two, Object.fromEntries(Object.entries(files).reverse()));
    await fs.chmod(path.join(one, 'dir/sub/c.sh'), 0o755);
    await fs.chmod(path.join(two, 'dir/sub/c.sh'), 0o700);
    await fs.chmod(path.join(two, 'a.txt'), 0o600);
    await fs.symlink('sub/c.sh', path.join(one, 'dir/link'));
    await fs.symlink('sub/c.sh', path.join(two, 'dir/link'));
    await fs.utimes(path.join(two, 'a.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    await fs.utimes(path.join(two, 'dir'), new Date('2011-01-01'), new Date('2011-01-01'));

    const first = await packWorkspace(one, LIMITS);
    const again = await packWorkspace(one, LIMITS);
    const other = await packWorkspace(two, LIMITS);
    expect(again.sha256).toBe(first.sha256);
    expect(other.sha256).toBe(first.sha256);
    expect(other.archive.equals(first.archive)).toBe(true);
    expect(first).toMatchObject({ files: 6, bytes: 5 + 4 + 10 });
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);

    await fs.writeFile(path.join(two, 'a.txt'), 'alphA');
    expect((await packWorkspace(two, LIMITS)).sha256).not.toBe(first.sha256);
  });

  it('round-trips contents, exec bit, inner symlinks, long and non-ASCII names', async () => {
    const ws = path.join(tmp, 'ws');
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(120)}.txt`;
    await write(ws, { 'run.sh': '#!/bin/sh\necho hi\n', 'data.txt': 'plain', [long]: 'long', 'naïve/ünïcode.txt': 'ü', 'empty/.keep': '' });
    await fs.mkdir(path.join(ws, 'emptydir'));
    await fs.chmod(path.join(ws, 'run.sh'), 0o755);
    await fs.symlink('../data.txt', path.join(ws, 'naïve/link'));
    await fs.symlink('naïve', path.join(ws, 'dirlink'));

    const packed = await packWorkspace(ws, LIMITS);
    const dest = path.join(tmp, 'out');
    const res = await unpackWorkspace(packed.archive, dest, LIMITS);
    expect(res).toEqual({ files: packed.files, bytes: packed.bytes });

    expect((await fs.stat(dest)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path.join(dest, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await fs.stat(path.join(dest, 'data.txt'))).mode & 0o777).toBe(0o644);
    expect(await fs.readFile(path.join(dest, long), 'utf8')).toBe('long');
    expect(await fs.readFile(path.join(dest, 'naïve/ünïcode.txt'), 'utf8')).toBe('ü');
    expect(await fs.readlink(path.join(dest, 'naïve/link'))).toBe('../data.txt');
    expect(await fs.readFile(path.join(dest, 'naïve/link'), 'utf8')).toBe('plain');
    expect(await fs.readlink(path.join(dest, 'dirlink'))).toBe('naïve');
    expect((await fs.stat(path.join(dest, 'emptydir'))).isDirectory()).toBe(true);
    expect(await fs.readFile(path.join(dest, 'empty/.keep'), 'utf8')).toBe('');
  });

  it('packs and unpacks an empty workspace', async () => {
    const ws = path.join(tmp, 'ws');
    await fs.mkdir(ws);
    const packed = await packWorkspace(ws, LIMITS);
    expect(packed).toMatchObject({ files: 0, bytes: 0 });
    expect(await unpackWorkspace(packed.archive, path.join(tmp, 'out'), LIMITS)).toEqual({ files: 0, bytes: 0 });
  });

  it.each([
    ['a relative link that climbs out', '../../outside.txt'],
    ['an absolute link', '/etc/passwd'],
    ['a link that climbs after a name', 'sub/../../outside.txt'],
  ])('refuses %s, naming it', async (_what, target) => {
    const ws = path.join(tmp, 'ws');
    await write(ws, { 'sub/x': 'x' });
    await fs.symlink(target, path.join(ws, 'sub/escape'));
    const err = await packWorkspace(ws, LIMITS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafePathError);
    expect((err as Error).message).toContain('"sub/escape"');
    expect((err as Error).message).toContain(target);
  });

  it('does not look into ignored paths, even for escaping symlinks', async () => {
    const ws = path.join(tmp, 'ws');
    await write(ws, { '.gitignore': 'venv/\n', 'a.txt': 'a' });
    await fs.mkdir(path.join(ws, 'venv'));
    await fs.symlink('/usr/bin/python3', path.join(ws, 'venv/python'));
    expect(await listArchive((await packWorkspace(ws, LIMITS)).archive)).toEqual(['.gitignore', 'a.txt']);
  });

  it('skips fifos, which cannot travel to another machine', async () => {
    const ws = path.join(tmp, 'ws');
    await write(ws, { 'a.txt': 'a' });
    await execa('mkfifo', [path.join(ws, 'pipe')]);
    expect(await listArchive((await packWorkspace(ws, LIMITS)).archive)).toEqual(['a.txt']);
  });

  it('refuses a tree over maxBytes with TOO_LARGE naming the size and the limit', async () => {
    const ws = path.join(tmp, 'ws');
    await write(ws, { 'a.bin': 'x'.repeat(3000), 'b/c.bin': 'y'.repeat(3000) });
    const err = await packWorkspace(ws, { maxBytes: 4096 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.TooLarge });
    expect((err as Error).message).toContain('6000 bytes');
    expect((err as Error).message).toContain('4096 bytes');
    await expect(packWorkspace(ws, { maxBytes: 6000 })).resolves.toMatchObject({ bytes: 6000 });
  });
});
