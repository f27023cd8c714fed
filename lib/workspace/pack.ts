// Packs a workspace directory into a deterministic tar.gz for the coordinator's object store,
// honouring .gitignore/.meshrunignore and refusing symlinks that would leave the workspace.
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { IgnoreRules } from './ignore-rules.js';
import { TooLargeError, checkLimit, formatBytes } from './limits.js';
import { checkLinkTarget } from './safe-path.js';
import { writeTarGz, type TarEntry } from './tar-writer.js';
import { readWalkedFile, walkTree } from './walk.js';

export interface PackOptions {
  /** Upper bound on the summed size of regular files, in bytes. */
  maxBytes: number;
}

export interface PackResult {
  /** gzip-compressed tar; the same tree always gives the same bytes. */
  archive: Buffer;
  /** Hex sha256 of `archive`: the object-store key. */
  sha256: string;
  /** Entries packed: regular files, directories and symlinks (the root itself is not one). */
  files: number;
  /** Summed size of the regular files, uncompressed. */
  bytes: number;
}

/**
 * Pack `dir`. Regular files (executable bit kept), directories and relative symlinks that stay
 * inside the workspace are packed; sockets, fifos and devices are skipped because they cannot
 * be carried to another machine. Throws UnsafePathError naming an escaping symlink, and
 * TooLargeError (code TOO_LARGE) naming the tree size and the limit.
 */
export async function packWorkspace(dir: string, opts: PackOptions): Promise<PackResult> {
  checkLimit('maxBytes', opts.maxBytes);
  const root = path.resolve(dir);
  const rootStat = await fs.stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) throw new InvalidInputError(`workspace ${root} is not a directory`);

  const rules = await IgnoreRules.load(root);
  const entries: TarEntry[] = [];
  let declared = 0;
  const walk = walkTree(root, {
    enterDir: (rel, abs) => rules.enterDir(rel, abs),
    keep: (rel, st) => !rules.ignores(rel, st.isDirectory()),
  });
  for await (const entry of walk) {
    const { rel, stat } = entry;
    if (stat.isDirectory()) {
      entries.push({ type: 'dir', path: rel });
    } else if (stat.isFile()) {
      declared += stat.size;
      entries.push({ type: 'file', path: rel, executable: (stat.mode & 0o111) !== 0, read: () => readWalkedFile(entry) });
    } else if (stat.isSymbolicLink()) {
      const target = await fs.readlink(entry.abs);
      checkLinkTarget(rel, target);
      entries.push({ type: 'symlink', path: rel, target });
    }
  }
  // Walk the whole tree before refusing, so the error gives the real size, not "over by one file".
  if (declared > opts.maxBytes) throw tooLarge(declared, opts.maxBytes);

  let bytes = 0;
  const { archive, sha256 } = await writeTarGz(entries, (_path, size) => {
    bytes += size;
    // Files can grow between the walk and the read.
    if (bytes > opts.maxBytes) throw tooLarge(bytes, opts.maxBytes);
  });
  return { archive, sha256, files: entries.length, bytes };
}

function tooLarge(size: number, limit: number): TooLargeError {
  return new TooLargeError(`workspace is ${formatBytes(size)}, over the limit of ${formatBytes(limit)}; add large paths to .meshrunignore`);
}
