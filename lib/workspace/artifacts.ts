// Stage artifacts: collect the run directory's files matching glob patterns into a tar.gz,
// extract such an archive safely, and prune files with sensitive contents from a run directory.
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { compileGlobs } from './globs.js';
import { TooLargeError, checkLimit, formatBytes } from './limits.js';
import { writeTarGz, type TarEntry } from './tar-writer.js';
import { unpackWorkspace, type UnpackOptions, type UnpackResult } from './unpack.js';
import { readWalkedFile, walkTree } from './walk.js';

export interface CollectOptions {
  /** Cap on the summed size of the collected files, in bytes. */
  maxBytes: number;
  /** Globs of files never packed (the job's prune globs), even when `globs` match them. */
  exclude?: readonly string[];
}

export interface CollectResult {
  archive: Buffer;
  sha256: string;
  /** Collected paths, relative to the run directory, in archive order. */
  files: string[];
}

/**
 * Pack the regular files below `runDir` whose relative path matches one of `globs`.
 * Symlinks are neither collected nor entered: a run could otherwise link `/etc/shadow` (or
 * any file the agent can read) into its artifacts. The archive holds file entries only;
 * parent directories are recreated on extraction. TooLargeError names the size and limit.
 */
export async function collectArtifacts(runDir: string, globs: readonly string[], opts: CollectOptions): Promise<CollectResult> {
  checkLimit('maxBytes', opts.maxBytes);
  const matches = compileGlobs(globs);
  // the job's prune globs: files meant to be removed are never packed either
  const excluded = compileGlobs(opts.exclude ?? []);
  const root = await existingDir(runDir);
  const entries: TarEntry[] = [];
  const files: string[] = [];
  let declared = 0;
  for await (const entry of walkTree(root, { keep: (_rel, st) => !st.isSymbolicLink() })) {
    if (!entry.stat.isFile() || !matches(entry.rel) || excluded(entry.rel)) continue;
    declared += entry.stat.size;
    files.push(entry.rel);
    entries.push({ type: 'file', path: entry.rel, executable: (entry.stat.mode & 0o111) !== 0, read: () => readWalkedFile(entry) });
  }
  if (declared > opts.maxBytes) throw tooLarge(declared, opts.maxBytes);
  let bytes = 0;
  const { archive, sha256 } = await writeTarGz(entries, (_p, size) => {
    bytes += size;
    if (bytes > opts.maxBytes) throw tooLarge(bytes, opts.maxBytes);
  });
  return { archive, sha256, files };
}

/** Defaults for extractArtifacts: generous, but a bomb still stops long before a full disk. */
export const ARTIFACT_LIMITS: UnpackOptions = { maxBytes: 1024 ** 3, maxFiles: 100_000 };

/**
 * Extract an artifact archive into `outDir` with the workspace unpack rules: `outDir` must
 * not exist, and it is removed again if the archive is refused.
 */
export function extractArtifacts(archive: Buffer, outDir: string, limits: UnpackOptions = ARTIFACT_LIMITS): Promise<UnpackResult> {
  return unpackWorkspace(archive, outDir, limits);
}

/**
 * Remove every non-directory entry below `dir` matching `globs`; returns the removed paths,
 * relative and sorted. A matched symlink is unlinked itself (its target is untouched) and
 * symlinked directories are never entered, so nothing outside `dir` is removed. Directories
 * stay, even when emptied: `secrets/**` removes the files in `secrets`.
 */
export async function pruneFiles(dir: string, globs: readonly string[]): Promise<string[]> {
  const matches = compileGlobs(globs);
  const root = await existingDir(dir);
  const doomed: string[] = [];
  for await (const entry of walkTree(root)) {
    if (!entry.stat.isDirectory() && matches(entry.rel)) doomed.push(entry.rel);
  }
  for (const rel of doomed) await fs.unlink(path.join(root, rel));
  return doomed;
}

async function existingDir(dir: string): Promise<string> {
  const root = path.resolve(dir);
  const st = await fs.stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new InvalidInputError(`${root} is not a directory`);
  return root;
}

function tooLarge(size: number, limit: number): TooLargeError {
  return new TooLargeError(`artifacts are ${formatBytes(size)}, over the limit of ${formatBytes(limit)}`);
}
