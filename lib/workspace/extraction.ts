// Creates the entries of one archive inside a fresh directory, one at a time, refusing any
// entry that could reach outside it or replace what an earlier entry created.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ReadEntry } from 'tar';
import { InvalidInputError, MeshrunError, UnsafePathError } from '../errors.js';
import { TooLargeError, formatBytes } from './limits.js';
import { checkLinkTarget, normalizeEntryPath } from './safe-path.js';

export interface ExtractionLimits {
  maxBytes: number;
  maxFiles: number;
}

type Kind = 'dir' | 'file' | 'symlink';

/** The state of one extraction: what has been created, and the running totals. */
export class Extraction {
  readonly #dest: string;
  readonly #opts: ExtractionLimits;
  /** Everything created so far; the destination is fresh and private, so this is the truth. */
  readonly #kinds = new Map<string, Kind>();
  #current: ReadEntry | undefined;
  #aborted = false;
  count = 0;
  bytes = 0;

  constructor(dest: string, opts: ExtractionLimits) {
    this.#dest = dest;
    this.#opts = opts;
  }

  /** Stop the entry in progress: its remaining body will never arrive. */
  abort(): void {
    this.#aborted = true;
    const e = this.#current;
    if (e) {
      e.on('error', () => undefined); // a late parser write must not become an uncaught error
      e.destroy();
    }
  }

  async entry(e: ReadEntry): Promise<void> {
    this.#current = e;
    try {
      await this.#entry(e);
    } catch (err) {
      if (err instanceof MeshrunError) throw err;
      // ENAMETOOLONG, ENOSPC and the like: still name the entry that could not be written.
      throw new InvalidInputError(`cannot extract archive entry ${JSON.stringify(e.path)}: ${(err as Error).message}`, { cause: err });
    }
  }

  async #entry(e: ReadEntry): Promise<void> {
    const rel = normalizeEntryPath(e.path);
    const refuse = (why: string): never => {
      throw new UnsafePathError(`refusing archive entry ${JSON.stringify(e.path)}: ${why}`);
    };
    if (rel === '') {
      // `./` is how `tar -C dir .` names the root: nothing to create.
      if (e.type !== 'Directory') refuse('only a directory can name the archive root');
      e.resume();
      return;
    }
    // Directories are counted when created, below, explicit or implied by a deeper path.
    if (e.type !== 'Directory') this.#countEntry(e.path);
    switch (e.type) {
      case 'Directory':
        await this.#prepare(rel, e.path, refuse, true);
        if (!this.#kinds.has(rel)) await this.#mkdir(rel, e.path);
        e.resume();
        return;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        await this.#prepare(rel, e.path, refuse, false);
        await this.#file(rel, e);
        return;
      case 'SymbolicLink':
        checkLinkTarget(rel, e.linkpath ?? '');
        await this.#prepare(rel, e.path, refuse, false);
        await fs.symlink(e.linkpath ?? '', this.#abs(rel));
        this.#kinds.set(rel, 'symlink');
        e.resume();
        return;
      case 'Link':
        return refuse(`hardlinks are not allowed (to ${JSON.stringify(e.linkpath)})`);
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        return refuse(`${e.type} entries are not allowed`);
      default:
        return refuse(`unsupported entry type ${e.type}`);
    }
  }

  /** Create missing parents and refuse anything that would go through a symlink or a file. */
  async #prepare(rel: string, entryName: string, refuse: (why: string) => never, isDir: boolean): Promise<void> {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const kind = this.#kinds.get(parent);
      if (kind === 'symlink') refuse(`it would be written through the symlink ${JSON.stringify(parent)}`);
      if (kind === 'file') refuse(`its parent ${JSON.stringify(parent)} is a file`);
      if (kind === undefined) await this.#mkdir(parent, entryName);
    }
    const existing = this.#kinds.get(rel);
    // A repeated directory is harmless; anything else repeated would replace an earlier entry.
    if (existing !== undefined && !(isDir && existing === 'dir')) refuse(`duplicate entry (already extracted as a ${existing})`);
  }

  /** Implicit parent directories count too: deep paths would otherwise create inodes for free. */
  #countEntry(name: string): void {
    if (++this.count > this.#opts.maxFiles) {
      throw new TooLargeError(`archive has more than ${this.#opts.maxFiles} entries (refused at ${JSON.stringify(name)})`);
    }
  }

  async #mkdir(rel: string, entryName: string): Promise<void> {
    this.#countEntry(entryName);
    // 0755 whatever the archive says: a 0555 directory would block later entries and cleanup.
    await fs.mkdir(this.#abs(rel), { mode: 0o755 });
    this.#kinds.set(rel, 'dir');
  }

  async #file(rel: string, e: ReadEntry): Promise<void> {
    const { maxBytes } = this.#opts;
    if (this.bytes + e.size > maxBytes) {
      throw new TooLargeError(
        `archive entry ${JSON.stringify(e.path)} declares ${formatBytes(e.size)}, which would take the total past the limit of ${formatBytes(maxBytes)}`,
      );
    }
    // O_EXCL|O_NOFOLLOW: belt and braces on top of #kinds, never open an existing path.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const mode = (e.mode ?? 0) & 0o111 ? 0o755 : 0o644;
    const fh = await fs.open(this.#abs(rel), flags, 0o600);
    this.#kinds.set(rel, 'file');
    const stopped = (): Error => new Error('extraction stopped');
    try {
      // The aborted checks sit right before each read: a destroyed entry would never
      // settle a read that started after the destruction.
      if (this.#aborted) throw stopped();
      for await (const chunk of e as AsyncIterable<Buffer>) {
        this.bytes += chunk.length;
        if (this.bytes > maxBytes) throw new TooLargeError(`archive exceeds the limit of ${formatBytes(maxBytes)} at ${JSON.stringify(e.path)}`);
        await fh.write(chunk);
        if (this.#aborted) throw stopped();
      }
      // Only the executable bit travels: no setuid/setgid/sticky, no world-writable files.
      await fh.chmod(mode);
    } finally {
      await fh.close();
    }
  }

  #abs(rel: string): string {
    return path.join(this.#dest, rel);
  }
}
