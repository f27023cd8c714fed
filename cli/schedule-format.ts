// Schedules as `meshrun schedule list|show` print them, and their --json shapes (times in epoch
// ms like the job shapes; null where there is none).
import { formatDuration } from '../proto/duration.js';
import type { ScheduleFiringMsg, ScheduleMsg } from '../proto/grpc.js';
import { escapeControls, table } from './format.js';

const ms = (n: number): number | null => (n > 0 ? n : null);

function firingJson(f: ScheduleFiringMsg | null): Record<string, unknown> | null {
  if (!f) return null;
  return {
    tick: ms(f.tickMs),
    at: ms(f.atMs),
    outcome: f.outcome,
    job: f.job || null,
    jobState: f.jobState || null,
    jobExitCode: f.jobExitCode ?? null,
    detail: f.detail,
  };
}

export function scheduleJson(s: ScheduleMsg, withHistory = false): Record<string, unknown> {
  return {
    name: s.name,
    cron: s.cron,
    timeZone: s.timeZone,
    jobName: s.jobName,
    workspace: s.workspace || null,
    overlap: s.overlap,
    catchUp: s.catchUp,
    catchUpWindowMs: s.catchUp === 'once' ? s.catchUpWindowMs : null,
    paused: s.paused,
    createdAt: s.createdAtMs,
    createdBy: s.createdBy,
    nextRun: ms(s.nextRunMs),
    queuedTick: ms(s.queuedTickMs),
    lastRun: firingJson(s.lastRun),
    lastDecision: firingJson(s.lastDecision),
    ...(withHistory ? { history: s.history.map(firingJson) } : {}),
  };
}

/** 2026-11-29 22:15:00Z */
export function utc(t: number): string {
  return t > 0 ? new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

/** `in 4s`, `3m ago`. */
function relative(t: number, now: number): string {
  const d = t - now;
  return d >= 0 ? `in ${formatDuration(d)}` : `${formatDuration(-d)} ago`;
}

function jobOutcome(f: ScheduleFiringMsg): string {
  if (!f.job) return f.outcome;
  const exit = f.jobExitCode === undefined || f.jobExitCode === null ? '' : ` (exit ${f.jobExitCode})`;
  return `${f.jobState}${exit}`;
}

export function schedulesTable(list: ScheduleMsg[], now = Date.now()): string {
  const rows = [['NAME', 'CRON', 'ZONE', 'NEXT RUN', 'LAST RUN', 'OUTCOME', 'LAST DECISION', 'OVERLAP']];
  for (const s of list) {
    const next = s.paused ? 'paused' : s.nextRunMs > 0 ? `${utc(s.nextRunMs)} (${relative(s.nextRunMs, now)})` : '-';
    const last = s.lastRun ? `${s.lastRun.job} (${relative(s.lastRun.atMs, now)})` : '-';
    const decision = s.lastDecision ? `${s.lastDecision.outcome} ${relative(s.lastDecision.atMs, now)}` : '-';
    rows.push([s.name, s.cron, s.timeZone, next, last, s.lastRun ? jobOutcome(s.lastRun) : '-', decision, s.overlap]);
  }
  return table(rows);
}

export function scheduleDetail(s: ScheduleMsg, now = Date.now()): string {
  const line = (l: string): string => escapeControls(l) + '\n';
  const catchUp = s.catchUp === 'once' ? `once within ${formatDuration(s.catchUpWindowMs)}` : 'none';
  let out = [
    `schedule ${s.name}${s.paused ? '  (paused)' : ''}`,
    `cron: ${s.cron}  zone: ${s.timeZone}`,
    `job: ${s.jobName}${s.workspace ? `  workspace ${s.workspace.slice(0, 12)}` : ''}`,
    `overlap: ${s.overlap}  catch-up: ${catchUp}`,
    `next run: ${s.paused ? 'paused' : s.nextRunMs > 0 ? `${utc(s.nextRunMs)} (${relative(s.nextRunMs, now)})` : '-'}`,
    ...(s.queuedTickMs > 0 ? [`queued: the tick of ${utc(s.queuedTickMs)} waits for the previous job to end`] : []),
    `created ${utc(s.createdAtMs)} by ${s.createdBy}`,
    '',
  ]
    .map(line)
    .join('');
  if (s.history.length === 0) return out + line('no tick decided yet');
  const rows = [['TICK', 'DECIDED', 'OUTCOME', 'JOB', 'STATE', 'DETAIL']];
  for (const f of s.history) rows.push([f.tickMs > 0 ? utc(f.tickMs) : '(run-now)', utc(f.atMs), f.outcome, f.job || '-', f.job ? jobOutcome(f) : '-', f.detail]);
  out += table(rows);
  return out;
}
