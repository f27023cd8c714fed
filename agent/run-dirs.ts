// The node's share of retention: a job's run directory (`<state>/runs/<job>/`: runner files
// and the job's working directory) is deleted when the coordinator's retention removed the job
// (`forget`), or, as a backstop for a node that was away then, once nothing in it changed for
// `retainRunsFor`. Never while a run of the job is alive or still relaying its log or events:
// such a directory waits until the run has relayed everything.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isValidName } from '../proto/names.js';
import type { Logger } from '../lib/log.js';

export interface RunDirsOptions {
  /** `<state>/runs` */
  runsDir: string;
  retainForMs: number;
  log: Logger;
  /** A run of the job is alive, being prepared, or still relaying here. */
  busy(job: string): boolean;
}

export class RunDirs {
  /** Jobs the coordinator forgot while a run of them was busy: removed once it is not. */
  private readonly forgotten = new Set<string>();

  constructor(private readonly opts: RunDirsOptions) {}

  /** The coordinator removed the job: delete its directory now, or as soon as no run of it is busy. */
  forget(job: string): void {
    if (!isValidName(job)) return;
    if (this.opts.busy(job)) {
      this.forgotten.add(job);
      return;
    }
    this.remove(job, 'the coordinator removed the job');
  }

  /** A new run of the job starts here (an id submitted again): a pending forget no longer applies. */
  started(job: string): void {
    this.forgotten.delete(job);
  }

  /** Removes forgotten jobs no longer busy, and directories untouched for the retention time. */
  sweep(now = Date.now()): void {
    for (const job of this.forgotten) if (!this.opts.busy(job)) this.remove(job, 'the coordinator removed the job');
    let jobs: string[];
    try {
      jobs = readdirSync(this.opts.runsDir);
    } catch {
      return;
    }
    for (const job of jobs) {
      if (!isValidName(job) || this.opts.busy(job)) continue;
      const changed = lastChange(join(this.opts.runsDir, job));
      if (changed !== undefined && now - changed >= this.opts.retainForMs) this.remove(job, `nothing changed for ${Math.round((now - changed) / 3_600_000)} h (--retain-runs-for)`);
    }
  }

  private remove(job: string, why: string): void {
    this.forgotten.delete(job);
    const dir = join(this.opts.runsDir, job);
    try {
      rmSync(dir, { recursive: true, force: true });
      this.opts.log.info('run directory removed', { job, why });
    } catch (err) {
      this.opts.log.warn('run directory not removed; retried later', { job, err });
    }
  }
}

/** When anything directly in a job's directory last changed (runner files; not the work tree). */
function lastChange(dir: string): number | undefined {
  try {
    let last = statSync(dir).mtimeMs;
    for (const f of readdirSync(dir)) {
      try {
        last = Math.max(last, statSync(join(dir, f)).mtimeMs);
      } catch {
        // removed meanwhile
      }
    }
    return last;
  } catch {
    return undefined;
  }
}
