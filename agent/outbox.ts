// File-backed outbox: every run event is appended here, and fsynced before it is published
// (`sync`, once for all the events appended since: a burst of run ends costs one fdatasync, not
// one each), then relayed in order with a message id so JetStream drops duplicates.
// Survives agent restarts and bus outages of any length; disk use is bounded.
// The file and the cursor stay open and are written in place: an append, an ack and a drain cost
// a write or a truncate each, not an open, a close and (for the cursor) a rename, after which
// ext4 (auto_da_alloc) also starts writing the replaced file back.
import { closeSync, constants, existsSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { outboxRecordSchema, type AgentOutbox, type OutboxRecord, type RunEvent } from '../proto/bus.js';
import type { Logger } from '../lib/log.js';
import { ensurePrivateDir } from './runner/run-files.js';
import { writeFileAtomic } from '../lib/write-file-atomic.js';

export interface OutboxOptions {
  dir: string;
  instance: string;
  maxBytes: number;
  log: Logger;
}

interface CursorFile {
  published: number;
  nextSeq: number;
  /** Over both numbers (`cursorCheck`): a torn in-place write reads as unreadable, not as other numbers. Absent in cursors of older agents (written by rename). */
  check?: string;
}

/** The cursor's size on disk: every write is the whole record, padded, at offset 0. */
const CURSOR_BYTES = 128;

function cursorCheck(published: number, nextSeq: number): string {
  return createHash('sha256').update(`${published}:${nextSeq}`).digest('hex').slice(0, 16);
}

export class Outbox {
  private readonly file: string;
  private readonly cursorFile: string;
  private pending: OutboxRecord[] = [];
  private pendingBytes = 0;
  private published = 0;
  private nextSeq = 1;
  private overBound = false;
  /** Appended since the last fdatasync. */
  private unsynced = false;
  /** The cursor on disk is behind `published`. */
  private cursorDirty = false;
  /** Open for appends (and fdatasync) while this outbox is; reopened after the file is replaced. */
  private fd: number | undefined;
  private cursorFd: number | undefined;

  constructor(private readonly opts: OutboxOptions) {
    ensurePrivateDir(opts.dir);
    this.file = join(opts.dir, 'outbox.jsonl');
    this.cursorFile = join(opts.dir, 'outbox.cursor');
    this.load();
  }

  get size(): number {
    return this.pending.length;
  }

  get bytes(): number {
    return this.pendingBytes;
  }

  /** When this outbox was loaded: the age of pending records from agents that did not stamp them. */
  private readonly loadedAt = Date.now();

  /** The backlog, for the heartbeat: events pending, their bytes, how long the oldest has waited. */
  status(now = Date.now()): AgentOutbox {
    const oldest = this.pending[0];
    return { events: this.pending.length, bytes: this.pendingBytes, oldestAgeMs: oldest ? Math.max(0, now - (oldest.at ?? this.loadedAt)) : 0 };
  }

  append(event: RunEvent): OutboxRecord {
    const seq = this.nextSeq++;
    const rec: OutboxRecord = { id: `${this.opts.instance}-${seq}`, seq, event, at: Date.now() };
    const line = JSON.stringify(rec) + '\n';
    if (this.pendingBytes + line.length > this.opts.maxBytes) this.enforceBound(rec);
    writeSync(this.appendFd(), line);
    this.unsynced = true;
    this.pending.push(rec);
    this.pendingBytes += line.length;
    return rec;
  }

  /** The oldest unpublished record, if any. */
  peek(): OutboxRecord | undefined {
    return this.pending[0];
  }

  /** The oldest `n` unpublished records, oldest first. */
  peekMany(n: number): OutboxRecord[] {
    return this.pending.slice(0, n);
  }

  /** Makes every appended record durable (one fdatasync for all since the last): call before publishing them. */
  sync(): void {
    if (!this.unsynced) return;
    fdatasyncSync(this.appendFd());
    this.unsynced = false;
  }

  /** Closes the files (the agent stopping); a later append or ack opens them again. */
  close(): void {
    this.saveCursor();
    this.closeFile();
    if (this.cursorFd !== undefined) closeSync(this.cursorFd);
    this.cursorFd = undefined;
  }

  private appendFd(): number {
    return (this.fd ??= openSync(this.file, 'a', 0o600));
  }

  private closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Replaces the file with the pending records (compaction): atomic, so a crash leaves the old file or the new. */
  private rewrite(): void {
    this.closeFile();
    writeFileAtomic(this.file, this.pending.map((r) => JSON.stringify(r) + '\n').join(''));
    this.unsynced = false;
  }

  /**
   * Marks records up to and including `seq` as published (the relay acks once per batch); compacts
   * the file when drained. The cursor is not fsynced: one behind the truth after a crash means
   * events published again, which message ids and the coordinator drop.
   */
  ack(seq: number): void {
    while (this.pending.length > 0 && this.pending[0]!.seq <= seq) {
      const r = this.pending.shift()!;
      this.pendingBytes -= JSON.stringify(r).length + 1;
    }
    this.published = Math.max(this.published, seq);
    this.cursorDirty = true;
    this.saveCursor();
    // a relay that keeps up but always has one record in flight never empties the
    // queue: compact when the file holds much more than what is still pending
    if (this.pending.length > 0 && this.fileSize() > this.pendingBytes + Math.min(this.opts.maxBytes, 64 * 1024)) this.rewrite();
    if (this.pending.length === 0) {
      // in place, after the cursor: a crash leaves the old lines (skipped by the cursor) or none
      ftruncateSync(this.appendFd(), 0);
      this.unsynced = false;
      if (this.overBound) {
        this.overBound = false;
        this.opts.log.info('outbox drained below its bound');
      }
    }
  }

  /**
   * Past the bound, drop what a later event makes redundant (a `started` whose run
   * already has its `exited` queued) and warn; exits and rejections are never dropped.
   */
  private enforceBound(incoming: OutboxRecord): void {
    const exited = new Set(
      [...this.pending, incoming].filter((r) => r.event.kind === 'exited').map((r) => JSON.stringify(r.event.token)),
    );
    const before = this.pending.length;
    this.pending = this.pending.filter((r) => !(r.event.kind === 'started' && exited.has(JSON.stringify(r.event.token))));
    this.pendingBytes = this.pending.reduce((n, r) => n + JSON.stringify(r).length + 1, 0);
    this.rewrite();
    if (!this.overBound) {
      this.overBound = true;
      this.opts.log.warn('outbox bound reached: bus unreachable for long; compacting and keeping every exit', {
        maxBytes: this.opts.maxBytes,
        pendingBytes: this.pendingBytes,
        pending: this.pending.length,
        dropped: before - this.pending.length,
      });
    }
  }

  private load(): void {
    // no cursor file: nothing was ever acknowledged, so the outbox file holds every seq
    let cursorOk = !existsSync(this.cursorFile);
    if (existsSync(this.cursorFile)) {
      try {
        const c = JSON.parse(readFileSync(this.cursorFile, 'utf8')) as CursorFile;
        if (c.check !== undefined && c.check !== cursorCheck(c.published, c.nextSeq)) throw new Error('check mismatch');
        this.published = Number(c.published) || 0;
        this.nextSeq = Math.max(1, Number(c.nextSeq) || 1);
        cursorOk = true;
      } catch {
        this.opts.log.warn('outbox cursor unreadable; relaying everything in the outbox', { file: this.cursorFile });
      }
    }
    // Without a cursor, numbering must still never repeat an id JetStream has seen
    // (it would drop the new event as a duplicate): jump past any earlier sequence.
    if (!cursorOk) this.nextSeq = Math.max(this.nextSeq, Date.now() * 1000);
    if (!existsSync(this.file)) return;
    let torn = false;
    const lines = readFileSync(this.file, 'utf8').split('\n');
    for (const line of lines) {
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        // a torn last line from a crash mid-append: the event was never acknowledged to anyone
        this.opts.log.warn('outbox line unreadable, skipped', { line: line.slice(0, 200) });
        torn = true;
        continue;
      }
      const r = outboxRecordSchema.safeParse(parsed);
      if (!r.success) continue;
      this.nextSeq = Math.max(this.nextSeq, r.data.seq + 1);
      if (r.data.seq <= this.published) continue;
      this.pending.push(r.data);
      this.pendingBytes += line.length + 1;
    }
    // rewrite without the torn bytes, so the next append starts on a line of its own
    if (torn) this.rewrite();
    if (this.pending.length > 0) this.opts.log.info('outbox has events to relay', { pending: this.pending.length });
  }

  /**
   * Writes the cursor if acks moved it (the relay calls it after each batch): in place, one
   * write of CURSOR_BYTES at offset 0. Not fsynced, as before; a write torn by a crash fails its
   * check, and an unreadable cursor relays the file again and numbers past any id used.
   */
  saveCursor(): void {
    if (!this.cursorDirty) return;
    const c: CursorFile = { published: this.published, nextSeq: this.nextSeq, check: cursorCheck(this.published, this.nextSeq) };
    const buf = Buffer.from(JSON.stringify(c).padEnd(CURSOR_BYTES - 1) + '\n');
    this.cursorFd ??= openSync(this.cursorFile, constants.O_WRONLY | constants.O_CREAT, 0o600);
    writeSync(this.cursorFd, buf, 0, buf.length, 0);
    this.cursorDirty = false;
  }

  fileSize(): number {
    try {
      return statSync(this.file).size;
    } catch {
      return 0;
    }
  }
}
