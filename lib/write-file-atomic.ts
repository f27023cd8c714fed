// Write-then-rename so a reader never sees half a file, even across a crash. Free of
// heavy imports: the detached run wrapper loads it on every run start.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

export interface AtomicWriteOptions {
  /**
   * fsync before the rename, so the new content survives a power loss. Off for files that are
   * rewritten often and only say how far something got (a relay cursor): a stale one after a
   * crash means work done again, idempotently; an fsync on a busy disk costs milliseconds.
   * @default true
   */
  sync?: boolean;
}

export function writeFileAtomic(path: string, data: string, mode = 0o600, o: AtomicWriteOptions = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    if (o.sync ?? true) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
