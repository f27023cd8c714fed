// Stops every run started under a state directory (test fleets, the bench, the dev
// fleet): runs outlive their agents by design, so killing the agents is not enough.
import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { killCgroup, removeCgroup } from './cgroup.js';

/** Kills run process groups (.pid), run cgroups and live wrappers (.json) found under `dir`, and removes the cgroups. */
export function killRunsUnder(dir: string): void {
  const cgroups: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 5) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        // a job's working directory holds the user's files, never runner files
        if (e.name !== 'work' && !e.name.startsWith('work.')) walk(p, depth + 1);
      } else if (e.name.endsWith('.pid')) {
        const n = Number(safeRead(p).trim());
        if (Number.isInteger(n) && n > 1) tryKill(-n);
      } else if (e.name.endsWith('.json') && !e.name.endsWith('.events.json')) {
        try {
          const meta = JSON.parse(safeRead(p)) as { wrapperPid?: number | null; cgroup?: string | null };
          // only a run cgroup the agent made (<cgroup2 mount>/meshrun/<run>)
          if (typeof meta.cgroup === 'string' && /\/meshrun\/[^/]+$/.test(meta.cgroup)) {
            killCgroup(meta.cgroup);
            cgroups.push(meta.cgroup);
          }
          const w = meta.wrapperPid;
          // only a process that still is a meshrun wrapper (a pid may have been reused)
          if (typeof w === 'number' && w > 1 && isWrapper(safeRead(`/proc/${w}/cmdline`))) tryKill(w);
        } catch {
          // not runner metadata
        }
      }
    }
  };
  walk(dir, 0);
  // a killed cgroup empties within moments; it can be removed only then
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 50 && cgroups.some((c) => !removeCgroup(c)); i++) Atomics.wait(wait, 0, 0, 20);
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}


/** A process that still is a meshrun run wrapper: the Node one, or the shell one (named `meshrun-run`). */
function isWrapper(cmdline: string): boolean {
  return cmdline.includes('wrapper.js') || cmdline.split('\0').includes('meshrun-run');
}
