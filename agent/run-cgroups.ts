// Each run in a cgroup of its own, so a stop kills every process it started (setsid ones
// too); named for the agent's instance and the run's token, so a restarted agent finds it.
import { join } from 'node:path';
import { tokenKey, type RunToken } from '../proto/names.js';
import { detectCgroupSupport, makeCgroup, type CgroupSupport } from '../lib/cgroup.js';
import type { Logger } from '../lib/log.js';

/** The directory under a cgroup2 mount that holds every run's cgroup. */
export const CGROUP_DIR = 'meshrun';

export interface RunCgroupsOptions {
  instance: string;
  log: Logger;
  /** Seam for tests; detected on this machine when unset. */
  support?: CgroupSupport;
}

export class RunCgroups {
  private readonly support: CgroupSupport;

  constructor(private readonly opts: RunCgroupsOptions) {
    this.support = opts.support ?? detectCgroupSupport(CGROUP_DIR);
    if (this.support.ok) opts.log.info('runs get a cgroup each', { root: this.support.root, killFile: this.support.killFile });
    else opts.log.warn('runs are not put in cgroups: a stop kills their process group only, not processes that left it', { why: this.support.why });
  }

  /** Makes the run's cgroup before launch; null when cgroups are not usable (process group only). */
  create(token: RunToken): string | null {
    if (!this.support.ok) return null;
    const dir = join(this.support.root, `${this.opts.instance}.${token.job}.${token.stage}.${token.attempt}`);
    try {
      makeCgroup(dir);
      return dir;
    } catch (err) {
      this.opts.log.warn('cannot make the run a cgroup; its process group only will be stopped', { token: tokenKey(token), dir, err });
      return null;
    }
  }
}
