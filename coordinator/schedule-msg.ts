// A schedule as the gRPC API sends it: its record, its next tick, and each firing with the state
// its job is in now (read from the job store, so an outcome is never stale).
import type { ScheduleFiringMsg, ScheduleMsg } from '../proto/grpc.js';
import type { JobRecord } from '../proto/records.js';
import type { Firing } from '../proto/schedule.js';
import { lastRun, type ScheduleView } from './schedules.js';

function firingMsg(f: Firing | undefined, jobs: Map<string, JobRecord>): ScheduleFiringMsg | null {
  if (!f) return null;
  const job = f.job ? jobs.get(f.job) : undefined;
  return {
    tickMs: f.tick ?? 0,
    atMs: f.at,
    outcome: f.outcome,
    job: f.job ?? '',
    jobState: f.job ? (job?.state ?? 'removed') : '',
    jobExitCode: job?.exitCode ?? undefined,
    detail: f.detail,
  };
}

export function toScheduleMsg(v: ScheduleView, withHistory: boolean): ScheduleMsg {
  const r = v.rec;
  return {
    name: r.name,
    cron: r.cron,
    timeZone: r.timeZone,
    jobName: r.jobName,
    workspace: r.workspace ?? '',
    overlap: r.overlap,
    catchUp: r.catchUp,
    catchUpWindowMs: r.catchUpWindowMs,
    paused: r.paused,
    createdAtMs: r.createdAt,
    createdBy: r.createdBy,
    nextRunMs: v.nextRun ?? 0,
    lastRun: firingMsg(lastRun(r), v.jobs),
    lastDecision: firingMsg(r.history[0], v.jobs),
    queuedTickMs: r.queuedTick ?? 0,
    history: withHistory ? r.history.map((f) => firingMsg(f, v.jobs)!) : [],
  };
}
