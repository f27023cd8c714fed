// Counts what jobs did from the records the coordinator persists: terminal outcomes of jobs,
// stages and attempts, stage durations, dispatch latency and failovers, each counted once.
// Writes of one job coalesce (a record may skip states), so every change is read as a diff
// against what was counted already, kept per job only until the job ends.
import type { Counter, Histogram } from 'prom-client';
import { isTerminalJob, isTerminalStage, type AttemptState, type JobRecord } from '../proto/records.js';

/** The metrics a JobMetrics feeds (made by metrics.ts on the coordinator's registry). */
export interface JobMetricSinks {
  jobsTotal: Counter<'state'>;
  stagesTotal: Counter<'state'>;
  attemptsTotal: Counter<'outcome'>;
  stageDuration: Histogram<'outcome'>;
  dispatchLatency: Histogram;
  jobStartLatency: Histogram;
  failovers: Counter<'outcome'>;
}

const ENDED_ATTEMPT: ReadonlySet<AttemptState> = new Set(['succeeded', 'failed', 'cancelled', 'timeout', 'lost', 'stale']);

/** What has been counted of one job that has not ended: keys of the form `start:stage/n`, `end:stage/n`, `stage:name/attempts`. */
interface Counted {
  keys: Set<string>;
  started: boolean;
}

export class JobMetrics {
  private readonly jobs = new Map<string, Counted>();

  constructor(private readonly m: JobMetricSinks) {}

  /** Jobs being tracked (those seen that have not ended): bounded by the active jobs. */
  get tracked(): number {
    return this.jobs.size;
  }

  /**
   * Held jobs as a coordinator loaded them on taking the lead: what they did before is someone
   * else's count (the previous leader's), so it is marked counted, and only what follows counts.
   */
  prime(jobs: Iterable<JobRecord>): void {
    for (const job of jobs) {
      if (job.endedAt !== null) continue;
      const c: Counted = { keys: new Set(), started: false };
      this.diff(job, c, false);
      this.jobs.set(job.id, c);
    }
  }

  /** A persisted change of `job`: counts what is new since the last one seen. */
  observe(job: JobRecord): void {
    let c = this.jobs.get(job.id);
    if (!c) {
      // a late write of an ended job (a stale result, a prune): counted when it ended
      if (job.endedAt !== null) return;
      c = { keys: new Set(), started: false };
      this.jobs.set(job.id, c);
      // seen first with attempts (not at its creation): a job this coordinator did not see
      // from the start, e.g. one taken up again after it had ended - its past is not counted
      if (job.stages.some((s) => s.attempts.length > 0)) {
        this.diff(job, c, false);
        return;
      }
    }
    this.diff(job, c, true);
    if (isTerminalJob(job.state) && job.endedAt !== null) {
      this.m.jobsTotal.inc({ state: job.state });
      this.jobs.delete(job.id);
    }
  }

  /** Marks everything in `job` as counted, recording it in the metrics when `count`. */
  private diff(job: JobRecord, c: Counted, count: boolean): void {
    for (const stage of job.stages) {
      for (const a of stage.attempts) {
        const key = `${stage.name}/${a.attempt}`;
        if (a.startedAt !== null && !c.keys.has(`start:${key}`)) {
          c.keys.add(`start:${key}`);
          if (count) this.m.dispatchLatency.observe(Math.max(0, a.startedAt - a.assignedAt) / 1000);
          if (count && !c.started) this.m.jobStartLatency.observe(Math.max(0, a.startedAt - job.submittedAt) / 1000);
          c.started = true;
        }
        if (ENDED_ATTEMPT.has(a.state) && !c.keys.has(`end:${key}`)) {
          c.keys.add(`end:${key}`);
          if (!count) continue;
          this.m.attemptsTotal.inc({ outcome: a.state });
          // stale: given up when its node was lost and reassigned; lost: the same under `failover: fail`
          if (a.state === 'stale') this.m.failovers.inc({ outcome: 'reassigned' });
          else if (a.state === 'lost') this.m.failovers.inc({ outcome: 'lost' });
          else if (a.startedAt !== null && a.endedAt !== null) this.m.stageDuration.observe({ outcome: a.state }, Math.max(0, a.endedAt - a.startedAt) / 1000);
        }
      }
      // keyed by the attempts made, so a stage that is run again (a retry) and ends again counts again
      const skey = `stage:${stage.name}/${stage.attempts.length}`;
      if (isTerminalStage(stage.state) && !c.keys.has(skey)) {
        c.keys.add(skey);
        if (count) this.m.stagesTotal.inc({ state: stage.state });
      }
    }
  }
}
