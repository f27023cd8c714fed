// One frame of the dashboard as lines of text: nodes, running and recently ended jobs with
// their playbook progress, and the log tail; pure, from a snapshot, so both modes and the tests share it.
import type { HandoffMsg, JobMsg, NodeMsg } from '../../proto/grpc.js';
import { formatDuration } from '../../proto/duration.js';
import { isTerminalJob, type JobState } from '../../proto/records.js';
import { renderProgressLine } from '../../lib/playbook-progress.js';
import { currentStage, escapeControls, exitText, jobEndText, nodesTable, table } from '../format.js';
import { cleanLine, type LogTail, type TailEntry } from './log-tail.js';
import type { StageProgress } from './watched-job.js';

const RECENT_ENDED = 5;
const MAX_ACTIVE_SHOWN = 12;
/**
 * What watch lists each time: every job not ended, and the newest this many (where the last
 * few that ended are); not every stored job, which the coordinator would read from its store.
 */
export const WATCH_LIST_NEWEST = 100;

function fit(s: string, width: number | undefined): string {
  if (width === undefined) return s;
  const cps = [...s];
  return cps.length <= width ? s : cps.slice(0, Math.max(0, width - 1)).join('') + '…';
}

function handoffTo(job: JobMsg | undefined, stage: string, attempt: number): HandoffMsg | undefined {
  return job?.handoffs.find((h) => h.toStage === stage && h.toAttempt === attempt);
}

/** The marker drawn where a stage attempt begins: a handoff when the node changes. */
export function markerText(e: Extract<TailEntry, { kind: 'stage' }>, job: JobMsg | undefined): string {
  const node = e.node || '?';
  const where = `stage ${e.stage} now on ${node} (attempt ${e.attempt})`;
  let text: string;
  if (e.failover) text = `failover: ${where}`;
  else if (e.prevNode && e.node && e.prevNode !== e.node) text = `handoff: ${where}, after ${e.prevStage} on ${e.prevNode}`;
  else text = `stage ${e.stage} on ${node} (attempt ${e.attempt})`;
  text += ` · authoritative node: ${node}`;
  const h = handoffTo(job, e.stage, e.attempt);
  if (h?.toRunDir && h.toNode === e.node) text += ` · runner files on ${h.toNode}: ${h.toRunDir}`;
  return `── ${text} ──`;
}

function entryText(e: TailEntry, job: JobMsg | undefined): string {
  switch (e.kind) {
    case 'stage':
      return markerText(e, job);
    case 'switch':
      return `·· ${e.stage}${e.node ? ` on ${e.node}` : ''} (attempt ${e.attempt}) ··`;
    case 'line':
      return e.text;
    case 'end':
      return `── ${jobEndText(e.job)} ──`;
  }
}

export interface Snapshot {
  address: string;
  now: number;
  intervalMs?: number;
  nodes: NodeMsg[] | undefined;
  jobs: JobMsg[] | undefined;
  problem?: string;
  selectedId?: string;
  selectedAuto: boolean;
  selectedJob?: JobMsg;
  selectedProblem?: string;
  tail?: LogTail;
  progress: (jobId: string) => Map<string, StageProgress> | undefined;
}

export interface FrameSize {
  width?: number;
  height?: number;
  tailLines: number;
  tty: boolean;
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function isActive(j: JobMsg): boolean {
  return !isTerminalJob(j.state as JobState);
}

const newest = (jobs: JobMsg[], at: (j: JobMsg) => number): JobMsg | undefined => [...jobs].sort((a, b) => at(b) - at(a))[0];

export function newestRunning(jobs: JobMsg[]): JobMsg | undefined {
  return newest(jobs.filter((j) => j.state === 'running'), (j) => j.startedAtMs || j.submittedAtMs);
}

/** Without --job: the most recently started running job, else the last one that started, else the last submitted. */
export function pickJob(jobs: JobMsg[]): JobMsg | undefined {
  return newestRunning(jobs) ?? newest(jobs.filter((j) => j.startedAtMs > 0), (j) => j.startedAtMs) ?? newest(jobs, (j) => j.submittedAtMs);
}

/** Active jobs (newest first), then the last few that ended. */
export function shownJobs(jobs: JobMsg[]): { active: JobMsg[]; moreActive: number; ended: JobMsg[] } {
  const active = jobs.filter(isActive).sort((a, b) => (b.startedAtMs || b.submittedAtMs) - (a.startedAtMs || a.submittedAtMs));
  const ended = jobs.filter((j) => !isActive(j)).sort((a, b) => b.endedAtMs - a.endedAtMs).slice(0, RECENT_ENDED);
  return { active: active.slice(0, MAX_ACTIVE_SHOWN), moreActive: Math.max(0, active.length - MAX_ACTIVE_SHOWN), ended };
}

function jobStages(j: JobMsg): { stage: string; node: string; note: string } {
  const running = j.stages.filter((s) => s.state === 'running');
  if (running.length > 0) return { stage: running.map((s) => s.name).join(','), node: running.map((s) => s.node || '?').join(','), note: '' };
  const s = currentStage(j);
  return { stage: s?.name ?? '-', node: s?.node || (j.state === 'queued' || s?.state === 'queued' ? '(waiting)' : '-'), note: s?.state === 'queued' ? s.reason : '' };
}

function jobsSection(snap: Snapshot): string[] {
  if (!snap.jobs) return ['JOBS', '  (unknown)'];
  const { active, moreActive, ended } = shownJobs(snap.jobs);
  const title = `JOBS (${active.length + moreActive} active${ended.length ? `, last ${ended.length} ended` : ''})`;
  const list = [...active, ...ended];
  if (list.length === 0) return [title, '  (no jobs yet)'];
  const rows = [['', 'ID', 'NAME', 'STATE', 'STAGE', 'NODE', 'TIME', 'NOTE']];
  for (const j of list) {
    const s = jobStages(j);
    const time = isActive(j)
      ? j.startedAtMs ? `running ${formatDuration(snap.now - j.startedAtMs)}` : `queued ${formatDuration(snap.now - j.submittedAtMs)}`
      : `ended ${formatDuration(Math.max(0, snap.now - j.endedAtMs))} ago`;
    const state = j.state + exitText(j.exitCode);
    rows.push([j.id === snap.selectedId ? '▸' : ' ', j.id, j.name || '-', state, s.stage, s.node, time, s.note || (isActive(j) ? '' : j.reason)]);
  }
  const lines = table(rows).trimEnd().split('\n');
  const out = [title, lines[0]!];
  list.forEach((j, i) => {
    out.push(lines[i + 1]!);
    const progress = snap.progress(j.id);
    if (!progress) return;
    for (const st of j.stages) {
      const sp = progress.get(st.name);
      // the progress of the stage's current attempt: running now, or how the last one ended
      if (!sp || (st.attempt && sp.attempt !== st.attempt) || (st.state !== 'running' && !sp.state.done)) continue;
      out.push(`    └ ${st.name}: ${renderProgressLine(sp.state)}`);
    }
  });
  if (moreActive > 0) out.push(`  … and ${moreActive} more active`);
  return out;
}

function nodesSection(snap: Snapshot): string[] {
  if (!snap.nodes) return ['NODES', '  (unknown)'];
  if (snap.nodes.length === 0) return ['NODES (0)', '  (no agents have joined)'];
  const counts = new Map<string, number>();
  for (const n of snap.nodes) counts.set(n.state, (counts.get(n.state) ?? 0) + 1);
  const summary = [...counts].map(([s, c]) => `${c} ${s}`).join(', ');
  return [`NODES (${summary})`, ...nodesTable(snap.nodes).trimEnd().split('\n')];
}

function logTitle(snap: Snapshot): string {
  if (!snap.selectedId) return 'LOG';
  const j = snap.selectedJob;
  const parts = [`LOG job ${snap.selectedId}${j?.name ? ` (${j.name})` : ''}`];
  if (snap.selectedAuto) parts.push(j && isActive(j) ? 'most recently started' : 'most recent');
  if (j) parts.push(j.state + exitText(j.exitCode));
  if (j?.authoritativeNode) parts.push(`authoritative node now: ${j.authoritativeNode}`);
  return parts.join(' · ');
}

export function renderFrame(snap: Snapshot, size: FrameSize): string[] {
  const width = size.width;
  const header = [`meshrun watch · coordinator ${snap.address} · ${clock(snap.now)}${snap.intervalMs ? ` · every ${formatDuration(snap.intervalMs)}` : ''}${size.tty ? ' · q or Ctrl-C quits' : ''}`];
  if (snap.problem) header.push(`! ${snap.problem}`);
  let top = [...header, '', ...nodesSection(snap), '', ...jobsSection(snap), ''];

  const body: string[] = [logTitle(snap)];
  if (snap.selectedProblem) body.push(`  (${snap.selectedProblem})`);
  if (!snap.selectedId) body.push('  (no jobs to show: submit one, or pass --job ID)');
  else if (snap.tail && snap.tail.tail(1).length === 0) body.push('  (no output yet)');

  let rows = snap.tail && snap.selectedId ? size.tailLines : 0;
  if (size.height !== undefined) {
    // the log keeps at least a few rows; the tables give way first
    const room = size.height - body.length - Math.min(rows, 6);
    if (top.length > room) {
      const keep = Math.max(1, room - 1);
      top = [...top.slice(0, keep), `  … ${top.length - keep} more lines (enlarge the terminal)`];
    }
    rows = Math.min(rows, Math.max(0, size.height - top.length - body.length));
  }
  const markerWidth = size.tty && width ? width - 1 : undefined;
  const tail = (snap.selectedId && snap.tail ? snap.tail.tail(rows) : []).map((e) => {
    const t = entryText(e, snap.selectedJob);
    return markerWidth && (e.kind === 'stage' || e.kind === 'end') ? t.padEnd(markerWidth, '─') : t;
  });
  // names and reasons are shown escaped (as in `jobs`); log lines arrive cleaned by the tail
  const lines = [...top, ...body, ...tail].map((l) => fit(cleanLine(escapeControls(l)).trimEnd(), width === undefined ? undefined : width - 1));
  return size.height === undefined ? lines : lines.slice(0, size.height);
}
