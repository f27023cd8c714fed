// Sorted, depth-first directory walk that never follows symlinks, plus a file reader that
// refuses to be redirected through one; shared by pack, artifact collection and prune.
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UnsafePathError } from '../errors.js';

export interface WalkEntry {
  /** '/'-separated path relative to the walk root. */
  rel: string;
  abs: string;
  stat: Stats;
}

export interface WalkOptions {
  /** Return false to leave an entry out; for a directory, its contents are skipped too. */
  keep?: (rel: string, stat: Stats) => boolean | Promise<boolean>;
  /** Called before a directory's children are listed (pack loads nested .gitignore here). */
  enterDir?: (rel: string, abs: string) => Promise<void>;
}

/**
 * Yield every entry below `root` in a stable order (names sorted by UTF-16 code units, not
 * locale, so two machines agree), parents before children. Symlinks are yielded, not entered.
 */
export async function* walkTree(root: string, opts: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  yield* walkDir(root, '', opts);
}

async function* walkDir(abs: string, rel: string, opts: WalkOptions): AsyncGenerator<WalkEntry> {
  await opts.enterDir?.(rel, abs);
  const names = (await fs.readdir(abs)).sort(compareCodeUnits);
  for (const name of names) {
    const childAbs = path.join(abs, name);
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const stat = await fs.lstat(childAbs);
    if (opts.keep && !(await opts.keep(childRel, stat))) continue;
    yield { rel: childRel, abs: childAbs, stat };
    if (stat.isDirectory()) yield* walkDir(childAbs, childRel, opts);
  }
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Read a file that the walk saw as a regular file. O_NOFOLLOW plus the inode check make sure
 * a file swapped for a symlink (or another file) after the walk is not read in its place.
 */
export async function readWalkedFile(entry: WalkEntry): Promise<Buffer> {
  const swapped = (): never => {
    throw new UnsafePathError(`${JSON.stringify(entry.rel)} was replaced while the tree was being read; refusing to follow it`);
  };
  const fh = await fs.open(entry.abs, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') swapped();
    throw err;
  });
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.ino !== entry.stat.ino || st.dev !== entry.stat.dev) swapped();
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
