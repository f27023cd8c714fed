// Unit tests for the agent's file-backed outbox: order, sequence numbers that survive
// restarts, crash-torn lines, and the disk bound that never drops an exit.

import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from '../agent/outbox.js';
import { silentLogger, type Logger } from '../lib/log.js';
import type { RunEvent } from '../proto/bus.js';

interface LogCall {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  meta?: Record<string, unknown>;
}

function recordingLogger(): { log: Logger; calls: LogCall[] } {
  const calls: LogCall[] = [];
  const log: Logger = {
    debug: (msg, meta) => void calls.push({ level: 'debug', msg, meta }),
    info: (msg, meta) => void calls.push({ level: 'info', msg, meta }),
    warn: (msg, meta) => void calls.push({ level: 'warn', msg, meta }),
    error: (msg, meta) => void calls.push({ level: 'error', msg, meta }),
    child: () => log,
  };
  return { log, calls };
}

const token = (stage: string, attempt = 1) => ({ job: 'j1', stage, attempt });

function started(stage: string, attempt = 1): RunEvent {
  return { kind: 'started', node: 'n1', token: token(stage, attempt), pid: 4242, startedAt: 1_700_000_000_000 };
}

function exited(stage: string, exitCode = 0, attempt = 1): RunEvent {
  return {
    kind: 'exited',
    node: 'n1',
    token: token(stage, attempt),
    exitCode,
    signal: null,
    endedAt: 1_700_000_001_000,
    logBytes: 10,
    eventsBytes: 0,
    stopReason: null,
    vanished: false,
    outputs: {},
    artifacts: null,
    failures: [],
    error: null,
  };
}

function rejected(stage: string): RunEvent {
  return { kind: 'rejected', node: 'n1', token: token(stage), reason: 'workspace missing' };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshrun-outbox-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function open(over: Partial<{ instance: string; maxBytes: number; log: Logger }> = {}): Outbox {
  return new Outbox({ dir, instance: 'n1', maxBytes: 1 << 20, log: silentLogger, ...over });
}

/** Everything still queued, oldest first: drained through the public API from a copy of the dir. */
function queued(o: Outbox): { seq: number; kind: string; stage: string }[] {
  const copyDir = mkdtempSync(join(tmpdir(), 'meshrun-outbox-copy-'));
  try {
    cpSync(dir, copyDir, { recursive: true });
    const copy = new Outbox({ dir: copyDir, instance: 'probe', maxBytes: 1 << 20, log: silentLogger });
    expect(copy.size).toBe(o.size);
    const out: { seq: number; kind: string; stage: string }[] = [];
    for (let r = copy.peek(); r; r = copy.peek()) {
      out.push({ seq: r.seq, kind: r.event.kind, stage: r.event.token.stage });
      copy.ack(r.seq);
    }
    return out;
  } finally {
    rmSync(copyDir, { recursive: true, force: true });
  }
}

describe('Outbox: append, peek, ack', () => {
  it('numbers records from 1 with the instance in the id, and peeks the oldest', () => {
    const o = open();
    expect(o.size).toBe(0);
    expect(o.peek()).toBeUndefined();
    const a = o.append(started('a'));
    const b = o.append(exited('a'));
    expect([a.seq, a.id, b.seq, b.id]).toEqual([1, 'n1-1', 2, 'n1-2']);
    expect(o.size).toBe(2);
    expect(o.peek()).toEqual({ id: 'n1-1', seq: 1, event: started('a'), at: expect.any(Number) });
    expect(o.peek()).toEqual(a); // peek does not consume
  });

  it('ack removes records up to and including the seq, in order', () => {
    const o = open();
    o.append(started('a'));
    o.append(exited('a'));
    o.append(started('b'));
    o.ack(2);
    expect(o.size).toBe(1);
    expect(o.peek()!.seq).toBe(3);
    o.ack(1); // an old ack changes nothing
    expect(o.peek()!.seq).toBe(3);
    o.ack(3);
    expect(o.size).toBe(0);
    expect(o.peek()).toBeUndefined();
  });

  it('bytes track what is queued, and the file is emptied once everything is acknowledged', () => {
    const o = open();
    o.append(started('a'));
    o.append(exited('a'));
    expect(o.bytes).toBe(o.fileSize());
    expect(o.bytes).toBeGreaterThan(0);
    o.ack(2);
    expect(o.bytes).toBe(0);
    expect(o.fileSize()).toBe(0);
  });

  it('keeps its files private', () => {
    const nested = join(dir, 'state', 'outbox');
    const o = new Outbox({ dir: nested, instance: 'n1', maxBytes: 1 << 20, log: silentLogger });
    o.append(started('a'));
    expect(statSync(nested).mode & 0o777).toBe(0o700);
    expect(statSync(join(nested, 'outbox.jsonl')).mode & 0o777).toBe(0o600);
  });
});

describe('Outbox: restarts', () => {
  it('un-acknowledged records reload in order, and numbering continues after them', () => {
    const o = open();
    o.append(started('a'));
    o.append(exited('a', 3));
    o.append(started('b'));
    o.ack(1);

    const again = open();
    expect(queued(again)).toEqual([
      { seq: 2, kind: 'exited', stage: 'a' },
      { seq: 3, kind: 'started', stage: 'b' },
    ]);
    expect(again.peek()!.event).toMatchObject(exited('a', 3));
    expect(again.append(exited('b')).seq).toBe(4);
  });

  it('a seq is never reused after everything was acknowledged and the file emptied', () => {
    const o = open();
    for (const s of ['a', 'b', 'c']) o.append(started(s));
    o.ack(3);
    expect(o.fileSize()).toBe(0);

    const again = open({ instance: 'n1' });
    expect(again.size).toBe(0);
    const r = again.append(started('d'));
    expect(r.seq).toBe(4);
    expect(r.id).toBe('n1-4');

    const third = open();
    expect(third.append(started('e')).seq).toBe(5);
  });

  it('a seq is never reused when nothing was ever acknowledged', () => {
    const o = open();
    o.append(started('a'));
    o.append(started('b'));
    const again = open();
    expect(again.size).toBe(2);
    expect(again.append(started('c')).seq).toBe(3);
  });

  it('a torn last line (crash mid-append) is skipped with a warning; the rest reloads', () => {
    const o = open();
    o.append(started('a'));
    o.append(exited('a'));
    appendFileSync(join(dir, 'outbox.jsonl'), '{"id":"n1-3","seq":3,"event":{"kind":"sta');

    const { log, calls } = recordingLogger();
    const again = open({ log });
    expect(queued(again)).toEqual([
      { seq: 1, kind: 'started', stage: 'a' },
      { seq: 2, kind: 'exited', stage: 'a' },
    ]);
    expect(calls.filter((c) => c.level === 'warn').map((c) => c.msg)).toEqual(['outbox line unreadable, skipped']);
    expect(again.append(started('b')).seq).toBe(3);
  });

  // Regression (fixed): before the fix, Outbox.load() skips a torn last line but leaves it in outbox.jsonl, and append()
  // opens the file with 'a' and writes right after it, with no newline in between. The
  // next record is glued onto the torn bytes ('{"id":"n1-3","seq":3,"event":{"kind":"sta{"id":"n1-3",...}')
  // so the restart after that skips it as unreadable too: an event that append() fsynced
  // and returned is lost, against "nothing is lost". Expected: after torn line + restart +
  // append(exited b) + restart, the queue is [1 started a, 2 exited a, 3 exited b];
  // actual: [1, 2] and a second "outbox line unreadable" warning.
  it('a record appended after a torn line survives the next restart', () => {
    const o = open();
    o.append(started('a'));
    o.append(exited('a'));
    appendFileSync(join(dir, 'outbox.jsonl'), '{"id":"n1-3","seq":3,"event":{"kind":"sta');
    const again = open();
    again.append(exited('b', 1));
    const third = open();
    expect(queued(third)).toEqual([
      { seq: 1, kind: 'started', stage: 'a' },
      { seq: 2, kind: 'exited', stage: 'a' },
      { seq: 3, kind: 'exited', stage: 'b' },
    ]);
  });

  it('a line that is JSON but not a record is skipped', () => {
    const o = open();
    o.append(started('a'));
    appendFileSync(join(dir, 'outbox.jsonl'), JSON.stringify({ id: 'x', seq: 7, event: { kind: 'bogus' } }) + '\n');
    const again = open();
    expect(queued(again)).toEqual([{ seq: 1, kind: 'started', stage: 'a' }]);
    expect(again.append(started('b')).seq).toBe(2);
  });

  it('an unreadable cursor relays everything still in the file and warns', () => {
    const o = open();
    o.append(started('a'));
    o.append(started('b'));
    o.ack(1);
    writeFileSync(join(dir, 'outbox.cursor'), '{not json');
    const { log, calls } = recordingLogger();
    const again = open({ log });
    expect(again.size).toBe(2);
    expect(calls.some((c) => c.level === 'warn' && c.msg.startsWith('outbox cursor unreadable'))).toBe(true);
    // the cursor is lost: numbering jumps past anything JetStream may have seen, never back
    expect(again.append(started('c')).seq).toBeGreaterThan(2);
  });
});

describe('Outbox: files written in place', () => {
  it('acks rewrite the cursor and drains truncate the file in place: the same inodes throughout, no rename', () => {
    const o = open();
    o.append(started('a'));
    o.sync();
    o.ack(1);
    const cursor = join(dir, 'outbox.cursor');
    const file = join(dir, 'outbox.jsonl');
    const inodes = { cursor: statSync(cursor).ino, file: statSync(file).ino };
    for (const stage of ['b', 'c', 'd']) {
      const r = o.append(started(stage));
      o.sync();
      o.ack(r.seq);
    }
    expect({ cursor: statSync(cursor).ino, file: statSync(file).ino }).toEqual(inodes);
    expect(statSync(file).size).toBe(0);
    expect(JSON.parse(readFileSync(cursor, 'utf8'))).toMatchObject({ published: 4, nextSeq: 5 });
    o.close();
    // a restart reads it: nothing to relay, numbering goes on
    const again = open();
    expect(again.size).toBe(0);
    expect(again.append(started('e')).seq).toBe(5);
  });

  it('a cursor whose check does not match its numbers (a torn write) counts as unreadable: everything relayed, numbering jumps', () => {
    const o = open();
    o.append(started('a'));
    o.append(started('b'));
    o.ack(1);
    o.close();
    const cursor = join(dir, 'outbox.cursor');
    const c = JSON.parse(readFileSync(cursor, 'utf8')) as { published: number; nextSeq: number; check: string };
    // the numbers of an older write under this one's check
    writeFileSync(cursor, JSON.stringify({ ...c, nextSeq: 1 }));
    const { log, calls } = recordingLogger();
    const again = open({ log });
    expect(calls.some((x) => x.level === 'warn' && x.msg.startsWith('outbox cursor unreadable'))).toBe(true);
    expect(again.size).toBe(2);
    expect(again.append(started('c')).seq).toBeGreaterThan(Date.now());
  });

  it('reads a cursor written by an older agent (no check)', () => {
    const o = open();
    o.append(started('a'));
    o.append(started('b'));
    o.close();
    writeFileSync(join(dir, 'outbox.cursor'), JSON.stringify({ published: 1, nextSeq: 3 }));
    const again = open();
    expect(queued(again)).toEqual([{ seq: 2, kind: 'started', stage: 'b' }]);
    expect(again.append(started('c')).seq).toBe(3);
  });
});

describe('Outbox: the disk bound', () => {
  it('past the bound, a started whose run has its exit queued is dropped; every exit is kept', () => {
    const { log, calls } = recordingLogger();
    const o = open({ maxBytes: 1, log });
    o.append(started('a'));
    o.append(started('b'));
    o.append(exited('a', 0));
    o.append(started('c'));
    o.append(exited('b', 2));
    o.append(rejected('d'));

    expect(queued(o)).toEqual([
      { seq: 3, kind: 'exited', stage: 'a' },
      { seq: 4, kind: 'started', stage: 'c' },
      { seq: 5, kind: 'exited', stage: 'b' },
      { seq: 6, kind: 'rejected', stage: 'd' },
    ]);
    expect(o.size).toBe(4);
    expect(o.bytes).toBe(o.fileSize());

    const warns = calls.filter((c) => c.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.msg).toMatch(/^outbox bound reached/);
    expect(warns[0]!.meta).toMatchObject({ maxBytes: 1 });
  });

  it('the started of another attempt of the same stage is kept', () => {
    const o = open({ maxBytes: 1 });
    o.append(started('a', 1));
    o.append(started('a', 2));
    o.append(exited('a', 0, 1));
    expect(queued(o)).toEqual([
      { seq: 2, kind: 'started', stage: 'a' },
      { seq: 3, kind: 'exited', stage: 'a' },
    ]);
    expect(open().peek()!.event.token.attempt).toBe(2);
  });

  it('within the bound nothing is dropped and nothing is logged', () => {
    const { log, calls } = recordingLogger();
    const o = open({ maxBytes: 1 << 20, log });
    o.append(started('a'));
    o.append(exited('a'));
    expect(o.size).toBe(2);
    expect(calls).toEqual([]);
  });

  it('exits alone are never dropped, even far past the bound', () => {
    const o = open({ maxBytes: 1 });
    for (let i = 1; i <= 20; i++) o.append(exited(`s${i}`, i));
    expect(o.size).toBe(20);
    expect(queued(o).map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('the bound is only counted on what is queued: a drained outbox accepts again without dropping', () => {
    const lineOf = (e: RunEvent) => JSON.stringify({ id: 'n1-1', seq: 1, event: e, at: Date.now() }).length + 1;
    // room for one started and one exited, not for two starteds and an exited
    const { log, calls } = recordingLogger();
    const o = open({ maxBytes: lineOf(started('a')) + lineOf(exited('a')) + 5, log });
    o.append(started('a'));
    o.append(started('b'));
    o.append(exited('a')); // over: started a goes
    expect(queued(o).map((r) => r.seq)).toEqual([2, 3]);
    o.ack(3);
    expect(calls.map((c) => [c.level, c.msg])).toEqual([
      ['warn', expect.stringMatching(/^outbox bound reached/)],
      ['info', 'outbox drained below its bound'],
    ]);
    o.append(started('c'));
    o.append(exited('c'));
    expect(o.size).toBe(2);
    expect(calls).toHaveLength(2);
  });

  it('what the bound dropped stays dropped after a restart', () => {
    const o = open({ maxBytes: 1 });
    o.append(started('a'));
    o.append(exited('a'));
    expect(readFileSync(join(dir, 'outbox.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    const again = open();
    expect(queued(again)).toEqual([{ seq: 2, kind: 'exited', stage: 'a' }]);
    expect(again.append(started('b')).seq).toBe(3);
  });
});
