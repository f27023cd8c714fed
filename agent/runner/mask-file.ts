// A run's mask file (<stem>.mask.json: the values to mask, a JSON array of strings, 0600) and
// masking a runner file in place. Free of heavy imports: the detached wrapper loads it.
import { closeSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { writeFileAtomic } from '../../lib/write-file-atomic.js';
import { StreamMasker } from './mask.js';

export function writeMaskFile(file: string, values: readonly string[]): void {
  writeFileAtomic(file, JSON.stringify(values), 0o600);
}

/** The values to mask, or undefined when the file cannot be read or is not a list of strings. */
export function readMaskFile(file: string): string[] | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

export function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
}

/**
 * Rewrites a file with the values masked (streamed, atomically). One that cannot be masked (not
 * a regular file, unreadable) is removed rather than left in clear; returns why, or null.
 */
export function maskFileInPlace(file: string, values: readonly string[]): string | null {
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    rmSync(file, { force: true, recursive: true });
    return (err as Error).message;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const m = new StreamMasker(values);
    const buf = Buffer.allocUnsafe(64 * 1024);
    const inFd = openSync(file, 'r');
    try {
      const outFd = openSync(tmp, 'w', 0o600);
      try {
        for (let n; (n = readSync(inFd, buf, 0, buf.length, null)) > 0; ) writeAll(outFd, m.push(buf.subarray(0, n)));
        writeAll(outFd, m.end());
        fsyncSync(outFd);
      } finally {
        closeSync(outFd);
      }
    } finally {
      closeSync(inFd);
    }
    renameSync(tmp, file);
    return null;
  } catch (err) {
    rmSync(tmp, { force: true });
    rmSync(file, { force: true });
    return `cannot mask it (${(err as Error).message})`;
  }
}
