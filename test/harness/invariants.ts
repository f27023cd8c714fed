// The invariants every chaos test checks: every job terminal; a stage's result
// comes from its current attempt, never a stale one; each attempt's log as served
// by `meshrun logs` is byte-exact against the runner's <stem>.log on its node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Fleet, JobJson } from './processes.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timeout', 'lost'];

export async function logsByAttempt(fleet: Fleet, id: string): Promise<Map<string, string>> {
  const r = await fleet.cli(['logs', id, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const ev = JSON.parse(line) as { type: string; stage: string; attempt: number; offset: number; text: string };
    if (ev.type !== 'log') continue;
    const key = `${ev.stage}/${ev.attempt}`;
    const prev = out.get(key) ?? '';
    expect(ev.offset, `offset of ${key}`).toBe(Buffer.byteLength(prev));
    out.set(key, prev + ev.text);
  }
  return out;
}

export async function checkInvariants(fleet: Fleet, id: string, agentDirOf: (node: string) => string = (n) => fleet.agentDir(n)): Promise<JobJson> {
  const job = await fleet.job(id);
  expect(TERMINAL, `job ${id} terminal`).toContain(job.state);
  for (const s of job.stages) {
    const current = s.attempts[s.attempts.length - 1];
    if (current) {
      expect(current.state, `stage ${s.name}: current attempt is not stale`).not.toBe('stale');
      expect(s.attempt).toBe(current.attempt);
      if (s.state === 'succeeded' || s.state === 'failed') expect(s.exitCode).toBe(current.exitCode);
    }
    for (const a of s.attempts.slice(0, -1)) expect(['stale', 'lost'], `earlier attempt ${s.name}/${a.attempt}`).toContain(a.state);
  }
  const logs = await logsByAttempt(fleet, id);
  for (const s of job.stages) {
    for (const a of s.attempts) {
      let onDisk: string;
      try {
        onDisk = readFileSync(join(agentDirOf(a.node), 'runs', id, `${s.name}.${a.attempt}.log`), 'utf8');
      } catch {
        continue; // the node never started it
      }
      // a stale attempt's bytes may still be on their way; a current one's must be complete
      const served = logs.get(`${s.name}/${a.attempt}`) ?? '';
      if (a.state === 'stale') expect(onDisk.startsWith(served), `stale log ${s.name}/${a.attempt} is a prefix`).toBe(true);
      else expect(served, `log of ${s.name}/${a.attempt}`).toBe(onDisk);
    }
  }
  return job;
}

/** How many times a stage really ran, from marker lines its command appended. */
export function runsRecorded(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
