// Human-readable tables for the read commands.
import { formatDuration } from '../proto/duration.js';
import type { JobMsg, NodeMsg } from '../proto/grpc.js';

/** A multi-line message (a task's msg plus stderr) on one line, bounded. */
export function oneLine(msg: string, max = 400): string {
  const s = msg.trim().replace(/\s*\n\s*/g, ' | ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

const exit = (c: number | null | undefined): string => (c === null || c === undefined ? '-' : String(c));

/** ` (exit N)` when the exit code is known, else nothing. */
export function exitText(c: number | null | undefined): string {
  return c === null || c === undefined ? '' : ` (exit ${c})`;
}

/** How a job ended, e.g. `job build-1 failed (exit 2): stage test failed`. */
export function jobEndText(j: JobMsg): string {
  return `job ${j.id} ${j.state}${exitText(j.exitCode)}${j.reason ? `: ${j.reason}` : ''}`;
}

export function currentStage(j: JobMsg): JobMsg['stages'][number] | undefined {
  return j.stages.find((s) => s.state === 'running') ?? j.stages.find((s) => s.state === 'queued') ?? j.stages[j.stages.length - 1];
}

export function jobsTable(jobs: JobMsg[], now = Date.now()): string {
  const rows = [['ID', 'NAME', 'STATE', 'EXIT', 'STAGE', 'NODE', 'AGE']];
  for (const j of jobs) {
    const s = currentStage(j);
    rows.push([j.id, j.name, j.state, exit(j.exitCode), s?.name ?? '-', s?.node || '-', formatDuration(now - j.submittedAtMs)]);
  }
  return table(rows);
}

export function nodesTable(nodes: NodeMsg[]): string {
  const rows = [['NAME', 'STATE', 'LABELS', 'RUNNING', 'LAST SEEN']];
  for (const n of nodes) {
    const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-';
    rows.push([n.name + (n.standby ? ' (standby)' : ''), n.state, labels, `${n.running}/${n.slots}`, `${formatDuration(n.lastSeenMs)} ago`]);
  }
  return table(rows);
}

export function jobDetail(j: JobMsg): string {
  const lines = [
    `job ${j.id}  ${j.name}`,
    `state: ${j.state}${exitText(j.exitCode)}${j.reason ? ` - ${j.reason}` : ''}`,
    `authoritative node: ${j.authoritativeNode || '-'}`,
    '',
  ];
  const rows = [['STAGE', 'STATE', 'NODE', 'ATTEMPT', 'EXIT', 'REASON']];
  for (const s of j.stages) {
    rows.push([s.name, s.state, s.node || '-', s.attempt ? String(s.attempt) : '-', exit(s.exitCode), s.reason || '']);
    for (const a of s.attempts.slice(0, -1)) {
      rows.push([`  #${a.attempt}`, a.state, a.node, String(a.attempt), exit(a.exitCode), [a.reason, a.staleResult ? `late result: ${a.staleResult}` : ''].filter(Boolean).join('; ')]);
    }
  }
  let out = lines.join('\n') + '\n' + table(rows);
  const failures = j.stages.flatMap((s) => (s.attempts[s.attempts.length - 1]?.failures ?? []).map((f) => ({ stage: s.name, ...f })));
  if (failures.length > 0) {
    out += '\nfailed hosts:\n';
    for (const f of failures) out += `  ${f.stage}: ${f.host} at task "${f.task}": ${oneLine(f.msg)}\n`;
  }
  if (j.handoffs.length > 0) {
    out += '\nhandoffs:\n';
    for (const h of j.handoffs) out += `  ${h.fromStage} on ${h.fromNode} -> ${h.toStage} on ${h.toNode} (attempt ${h.toAttempt})${h.toRunDir ? `, runner files in ${h.toRunDir}` : ''}${h.acked ? '' : ' [marker pending]'}\n`;
  }
  return out;
}
