// Unpacks a workspace or artifact tar.gz into a fresh private directory, treating the archive
// as hostile: unsafe paths, links and special files are refused, sizes are capped while streaming.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { InvalidInputError, UnsafePathError } from '../errors.js';
import { Extraction } from './extraction.js';
import { TooLargeError, checkLimit, formatBytes } from './limits.js';

export interface UnpackOptions {
  /** Cap on the summed size of regular files, checked against each declared size before writing. */
  maxBytes: number;
  /** Cap on the number of entries of any kind (files, directories, symlinks). */
  maxFiles: number;
}

export interface UnpackResult {
  /** Entries extracted: regular files, directories and symlinks. */
  files: number;
  /** Summed size of the regular files written. */
  bytes: number;
}

// Headers, pax records and padding on top of file data; anything beyond is a metadata bomb.
const PER_ENTRY_OVERHEAD = 8 * 1024;
const STREAM_SLACK = 64 * 1024;

/**
 * Extract `archive` into `destDir`, which must not exist yet: it is created with mode 0700.
 * Refused with UnsafePathError naming the entry: absolute paths, `..` components, symlinks
 * with absolute or escaping targets, entries beneath an extracted symlink, duplicates,
 * hardlinks, devices, fifos and unknown types. Over a limit: TooLargeError, as soon as a
 * header declares too much. On any failure destDir is removed entirely; since every write
 * is confined to it (no entry is created through a symlink), nothing is left anywhere.
 */
export async function unpackWorkspace(archive: Buffer, destDir: string, opts: UnpackOptions): Promise<UnpackResult> {
  checkLimit('maxBytes', opts.maxBytes);
  checkLimit('maxFiles', opts.maxFiles);
  const dest = path.resolve(destDir);
  await fs.mkdir(path.dirname(dest), { recursive: true });
  try {
    await fs.mkdir(dest, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new InvalidInputError(`cannot unpack into ${dest}: it already exists (archives are extracted into a fresh directory)`);
    }
    throw err;
  }
  try {
    return await extract(archive, dest, opts);
  } catch (err) {
    await fs.rm(dest, { recursive: true, force: true });
    throw err;
  }
}

async function extract(archive: Buffer, dest: string, opts: UnpackOptions): Promise<UnpackResult> {
  const x = new Extraction(dest, opts);
  const parser = new Parser({ maxMetaEntrySize: 64 * 1024 });
  let failure: unknown;
  let chain: Promise<void> = Promise.resolve();
  let tarBytes = 0;
  let sawEof = false;
  const streamLimit = opts.maxBytes + (opts.maxFiles + 2) * PER_ENTRY_OVERHEAD + STREAM_SLACK;

  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      tarBytes += chunk.length;
      if (tarBytes > streamLimit) {
        cb(new TooLargeError(`archive expands to more than ${formatBytes(streamLimit)} of tar data for limits of ${formatBytes(opts.maxBytes)} and ${opts.maxFiles} entries`));
        return;
      }
      // Bytes after the end-of-archive marker would only pile up in the parser's buffer.
      if (sawEof || parser.write(chunk)) cb();
      else parser.once('drain', () => cb());
    },
    final(cb) {
      parser.once('end', () => cb());
      parser.end();
    },
  });
  const fail = (err: unknown): void => {
    if (failure !== undefined) return;
    failure = err;
    sink.destroy(err instanceof Error ? err : new Error(String(err)));
    // A handler may be waiting for body bytes that will never come now.
    x.abort();
  };
  // Entries are handled strictly in order, one at a time: later entries are checked
  // against what earlier ones created (symlinks, duplicates).
  const enqueue = (step: () => Promise<void>): void => {
    chain = chain.then(() => (failure === undefined ? step() : undefined)).catch(fail);
  };
  parser.on('entry', (entry: ReadEntry) => enqueue(() => x.entry(entry)));
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    enqueue(async () => {
      throw new UnsafePathError(`refusing archive entry ${JSON.stringify(entry.path)}: unsupported entry type ${entry.type}`);
    });
  });
  parser.on('eof', () => {
    sawEof = true;
  });
  parser.on('warn', (code: string, message: string) => {
    // An archive of an empty workspace holds only the end marker; the parser calls that
    // "unrecognized" because it saw no entry, but it is well formed.
    if (message === 'Unrecognized archive format' && x.count === 0 && sawEof) return;
    fail(new InvalidInputError(`workspace archive is damaged: ${message} (${code})`));
  });
  parser.on('error', fail);

  try {
    await pipeline(Readable.from([archive]), createGunzip(), sink);
  } catch (err) {
    fail(isZlibError(err) ? new InvalidInputError(`workspace archive is not valid gzip: ${(err as Error).message}`, { cause: err }) : err);
  }
  await chain;
  if (failure !== undefined) throw failure;
  return { files: x.count, bytes: x.bytes };
}

function isZlibError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
