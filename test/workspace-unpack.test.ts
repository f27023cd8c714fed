// Hostile archives, built block by block so no tar library can sanitise them first: each must
// be refused with a typed error naming the entry, leaving nothing behind, not even destDir.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, InvalidInputError, UnsafePathError } from '../lib/errors.js';
import { unpackWorkspace } from '../lib/workspace/index.js';

const LIMITS = { maxBytes: 1024 * 1024, maxFiles: 100 };

interface RawEntry {
  path: string;
  /** ustar typeflag: '0' file, '1' hardlink, '2' symlink, '3' char dev, '5' dir, '6' fifo. */
  type?: string;
  body?: string | Buffer;
  /** Declared size, when it should differ from the body's. */
  size?: number;
  linkpath?: string;
  mode?: number;
}

const octal = (n: number, width: number): string => `${n.toString(8).padStart(width - 1, '0')}\0`;

function rawHeader(e: RawEntry): Buffer {
  const b = Buffer.alloc(512);
  const size = e.size ?? (e.body ? Buffer.byteLength(e.body) : 0);
  b.write(e.path, 0, 100, 'utf8');
  b.write(octal(e.mode ?? 0o644, 8), 100, 'ascii');
  b.write(octal(0, 8), 108, 'ascii');
  b.write(octal(0, 8), 116, 'ascii');
  b.write(octal(size, 12), 124, 'ascii');
  b.write(octal(0, 12), 136, 'ascii');
  b.write(' '.repeat(8), 148, 'ascii');
  b.write(e.type ?? '0', 156, 'ascii');
  b.write(e.linkpath ?? '', 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return b;
}

function rawTar(entries: RawEntry[], trailer: Buffer = Buffer.alloc(1024)): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(rawHeader(e));
    if (e.body !== undefined && e.size === undefined) {
      const body = Buffer.from(e.body);
      parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  parts.push(trailer);
  return Buffer.concat(parts);
}

const tgz = (entries: RawEntry[], trailer?: Buffer): Buffer => gzipSync(rawTar(entries, trailer));

let tmp: string;
let parent: string;
let dest: string;

/** Every path and its content (or link target) below `dir`: must be identical after a refusal. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await fs.readdir(dir, { recursive: true })).sort()) {
    const abs = path.join(dir, name);
    const st = await fs.lstat(abs);
    const what = st.isSymbolicLink() ? `-> ${await fs.readlink(abs)}` : st.isFile() ? await fs.readFile(abs, 'utf8') : 'dir';
    out.push(`${name} ${st.mode.toString(8)} ${what}`);
  }
  return out;
}

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'meshrun-unpack-'));
  // Sentinel layout: tmp/sentinel/{keep.txt, x/} around the destination tmp/sentinel/run/dest.
  parent = path.join(tmp, 'sentinel');
  await fs.mkdir(path.join(parent, 'x'), { recursive: true });
  await fs.writeFile(path.join(parent, 'keep.txt'), 'sentinel');
  await fs.mkdir(path.join(parent, 'run'));
  dest = path.join(parent, 'run', 'dest');
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function expectRefused(archive: Buffer, kind: typeof UnsafePathError | 'TooLarge' | typeof InvalidInputError, names: string, limits = LIMITS): Promise<Error> {
  const before = await snapshot(tmp);
  const err = await unpackWorkspace(archive, dest, limits).then(
    (res) => {
      throw new Error(`archive was not refused: ${JSON.stringify(res)}`);
    },
    (e: unknown) => e as Error,
  );
  if (kind === 'TooLarge') expect(err).toMatchObject({ code: ErrorCode.TooLarge });
  else expect(err).toBeInstanceOf(kind);
  expect(err.message).toContain(names);
  // destDir is removed; everything around it is exactly as before.
  await expect(fs.lstat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  expect(await snapshot(tmp)).toEqual(before);
  return err;
}

describe('unpackWorkspace refuses hostile archives', () => {
  it('an absolute path', async () => {
    const abs = path.join(parent, `abs-${randomUUID()}`);
    await expectRefused(tgz([{ path: 'ok.txt', body: 'fine' }, { path: abs, body: 'pwned' }]), UnsafePathError, abs);
    await expect(fs.lstat(abs)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each(['../escape.txt', '../../x/escape.txt', 'a/../../escape.txt', 'a/b/../../../escape.txt'])('a ".." path: %s', async (p) => {
    const err = await expectRefused(tgz([{ path: 'a/', type: '5' }, { path: 'a/ok.txt', body: 'fine' }, { path: p, body: 'pwned' }]), UnsafePathError, JSON.stringify(p));
    expect(err.message).toContain('..');
  });

  it('a symlink to /etc, then a file written through it', async () => {
    const name = `meshrun-escape-${randomUUID()}`;
    await expectRefused(
      tgz([{ path: 'evil', type: '2', linkpath: '/etc' }, { path: `evil/${name}`, body: 'pwned' }]),
      UnsafePathError,
      '"evil"',
    );
    await expect(fs.lstat(path.join('/etc', name))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a symlink to an absolute path inside the sentinel, then a file through it', async () => {
    await expectRefused(tgz([{ path: 'evil', type: '2', linkpath: path.join(parent, 'x') }, { path: 'evil/planted', body: 'pwned' }]), UnsafePathError, '"evil"');
  });

  it.each(['../../x', '../../../x', 'a/../../x', 'sub/../../../x'])('a symlink climbing out: %s', async (target) => {
    const err = await expectRefused(tgz([{ path: 'sub/', type: '5' }, { path: 'sub/up', type: '2', linkpath: target }]), UnsafePathError, '"sub/up"');
    expect(err.message).toContain(target);
  });

  it('a symlink whose ".." would apply after following another symlink', async () => {
    // `here -> .` is harmless alone; `a -> here/../x` is lexically inside but really outside.
    await expectRefused(tgz([{ path: 'here', type: '2', linkpath: '.' }, { path: 'a', type: '2', linkpath: 'here/../x' }]), UnsafePathError, '"a"');
  });

  it('a file written through an inner symlink', async () => {
    const err = await expectRefused(
      tgz([{ path: 'sub/', type: '5' }, { path: 'inner', type: '2', linkpath: 'sub' }, { path: 'inner/planted', body: 'x' }]),
      UnsafePathError,
      '"inner/planted"',
    );
    expect(err.message).toContain('through the symlink "inner"');
  });

  it('a file replacing an earlier entry (duplicate)', async () => {
    await expectRefused(tgz([{ path: 'f', body: 'one' }, { path: 'f', type: '2', linkpath: 'g' }]), UnsafePathError, 'duplicate');
  });

  it('a hardlink', async () => {
    await expectRefused(tgz([{ path: 'h', type: '1', linkpath: '/etc/passwd' }]), UnsafePathError, '"h"');
  });

  it.each([['a fifo', '6'], ['a character device', '3'], ['a block device', '4'], ['a GNU sparse file', 'S']])('%s', async (_what, type) => {
    await expectRefused(tgz([{ path: 'ok.txt', body: 'fine' }, { path: 'special', type }]), UnsafePathError, '"special"');
  });

  it('a huge declared size, before writing any of it', async () => {
    const err = await expectRefused(tgz([{ path: 'ok.txt', body: 'fine' }, { path: 'big.bin', size: 8 * 1024 ** 3 - 1 }]), 'TooLarge', '"big.bin"');
    expect(err.message).toContain(`${LIMITS.maxBytes} bytes`);
  });

  it('a gzip bomb of real zeros', async () => {
    // 64 MiB of zeros compress to ~64 KiB: refused at the header, nothing written.
    const bomb = tgz([{ path: 'zeros.bin', body: Buffer.alloc(64 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(200 * 1024);
    await expectRefused(bomb, 'TooLarge', '"zeros.bin"');
  });

  it('zeros after the end-of-archive marker', async () => {
    const bomb = tgz([{ path: 'ok.txt', body: 'fine' }], Buffer.alloc(32 * 1024 * 1024));
    await expectRefused(bomb, 'TooLarge', 'tar data', { maxBytes: 1024 * 1024, maxFiles: 10 });
  });

  it('too many entries', async () => {
    const entries = Array.from({ length: 6 }, (_, i) => ({ path: `f${i}`, body: 'x' }));
    await expectRefused(tgz(entries), 'TooLarge', '"f5"', { maxBytes: 1024, maxFiles: 5 });
  });

  it('a deep path whose implied directories exceed the entry limit', async () => {
    await expectRefused(tgz([{ path: 'a/b/c/d/e/f/g', body: 'x' }]), 'TooLarge', '"a/b/c/d/e/f/g"', { maxBytes: 1024, maxFiles: 5 });
  });

  it('more bytes in total than allowed, refused at the entry that crosses the limit', async () => {
    const entries = Array.from({ length: 4 }, (_, i) => ({ path: `f${i}`, body: 'x'.repeat(400) }));
    await expectRefused(tgz(entries), 'TooLarge', '"f2"', { maxBytes: 1000, maxFiles: 10 });
  });

  it('a damaged header after a good file', async () => {
    const tar = rawTar([{ path: 'ok.txt', body: 'fine' }, { path: 'next.txt', body: 'x' }]);
    tar.writeUInt8(tar.readUInt8(1024 + 10) ^ 0xff, 1024 + 10); // inside next.txt's header: checksum no longer matches
    await expectRefused(gzipSync(tar), InvalidInputError, 'damaged');
  });

  it('a truncated archive', async () => {
    const tar = rawTar([{ path: 'ok.txt', body: 'x'.repeat(2000) }]).subarray(0, 1024);
    await expectRefused(gzipSync(tar), InvalidInputError, 'damaged');
  });

  it('data that is not gzip', async () => {
    await expectRefused(Buffer.from('this is not an archive at all'), InvalidInputError, 'gzip');
  });
});

describe('unpackWorkspace', () => {
  it('extracts a benign archive named the way `tar -C dir .` names it', async () => {
    const archive = tgz([
      { path: './', type: '5' },
      { path: './bin/', type: '5', mode: 0o555 },
      { path: './bin/run', body: '#!/bin/sh\n', mode: 0o4755 },
      { path: './notes.txt', body: 'hello', mode: 0o666 },
      { path: './bin/', type: '5' },
      { path: './link', type: '2', linkpath: 'bin/run' },
      { path: 'implicit/dir/file', body: 'deep' },
    ]);
    // bin, bin/run, notes.txt, link, implicit, implicit/dir, implicit/dir/file
    expect(await unpackWorkspace(archive, dest, LIMITS)).toEqual({ files: 7, bytes: 10 + 5 + 4 });
    expect((await fs.stat(dest)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path.join(dest, 'bin'))).mode & 0o777).toBe(0o755);
    // setuid dropped, world-writable dropped: only the executable bit travels.
    expect((await fs.stat(path.join(dest, 'bin/run'))).mode & 0o7777).toBe(0o755);
    expect((await fs.stat(path.join(dest, 'notes.txt'))).mode & 0o7777).toBe(0o644);
    expect(await fs.readlink(path.join(dest, 'link'))).toBe('bin/run');
    expect(await fs.readFile(path.join(dest, 'implicit/dir/file'), 'utf8')).toBe('deep');
  });

  it('allows symlinks that stay inside, including to the root', async () => {
    const archive = tgz([
      { path: 'a/b/', type: '5' },
      { path: 'a/b/up', type: '2', linkpath: '../..' },
      { path: 'a/b/sib', type: '2', linkpath: '../../c/./d' },
      { path: 'self', type: '2', linkpath: '.' },
    ]);
    await expect(unpackWorkspace(archive, dest, LIMITS)).resolves.toEqual({ files: 5, bytes: 0 }) // a, a/b and three links;
  });

  it('refuses an existing destination and leaves it alone', async () => {
    await fs.mkdir(dest);
    await fs.writeFile(path.join(dest, 'mine'), 'keep');
    await expect(unpackWorkspace(tgz([{ path: 'a', body: 'x' }]), dest, LIMITS)).rejects.toThrow(InvalidInputError);
    expect(await fs.readdir(dest)).toEqual(['mine']);
  });

  it('streams a file larger than one zlib chunk', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 17, 'abc');
    const res = await unpackWorkspace(tgz([{ path: 'big', body }, { path: 'after', body: 'x' }]), dest, { maxBytes: 4 * 1024 * 1024, maxFiles: 10 });
    expect(res).toEqual({ files: 2, bytes: body.length + 1 });
    expect((await fs.readFile(path.join(dest, 'big'))).equals(body)).toBe(true);
  });
});
