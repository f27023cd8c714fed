// Process identity from /proc: a pid alone can be reused, so a run is recognised by
// its pid *and* the kernel's start time of that pid (field 22 of /proc/PID/stat).
import { readFileSync } from 'node:fs';

export interface ProcIdentity {
  pid: number;
  startTicks: number;
}

export function procStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return parseStartTicks(stat);
  } catch {
    return undefined;
  }
}

/** Pure: field 22 (starttime) of a /proc/PID/stat line; comm may contain spaces and ')'. */
export function parseStartTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is index 19
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : undefined;
}

/** Zombie or gone counts as not running. */
export function isSameProcessAlive(id: ProcIdentity): boolean {
  try {
    const stat = readFileSync(`/proc/${id.pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const state = stat.slice(close + 2, close + 3);
    return state !== 'Z' && state !== 'X' && parseStartTicks(stat) === id.startTicks;
  } catch {
    return false;
  }
}
