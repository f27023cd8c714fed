// Human-readable tables for the read commands, and the one rule that keeps text from the
// fleet (names, labels, reasons, log bytes) from driving the terminal it is printed on.
import { formatDuration } from '../proto/duration.js';
import type { JobMsg, NodeMsg, ResourcesMsg } from '../proto/grpc.js';
import { formatCpu, formatMemory, formatResources } from '../proto/resources.js';

/** Every C0 control, DEL and every C1 control (U+0080-U+009F, which some terminals obey like ESC). */
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;
/** The same for log text: newline and tab kept, and a carriage return when it ends a CRLF line. */
const LOG_CONTROLS = /\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

const hexEscape = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/**
 * Text made safe for a terminal: each control character becomes its visible `\xHH` form
 * (ESC is `\x1b`, so `\x1b[2J` is shown, not obeyed); everything else, multi-byte
 * characters included, is kept. `log`: newlines, tabs and CRLF line ends stay as they are.
 */
export function escapeControls(s: string, mode: 'line' | 'log' = 'line'): string {
  return s.replace(mode === 'log' ? LOG_CONTROLS : CONTROLS, hexEscape);
}

/** How many characters of a message oneLine reads: more than enough to fill `max` in practice. */
const ONE_LINE_READ = 8;

/**
 * A multi-line message (a task's msg plus stderr) on one line, bounded (not escaped). Linear
 * in the input (a failure message can be 100 KB of whitespace): only a prefix is read at all.
 */
export function oneLine(msg: string, max = 400): string {
  const limit = max * ONE_LINE_READ;
  const cut = msg.length > limit;
  const joined = (cut ? msg.slice(0, limit) : msg)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' | ');
  return joined.length > max || cut ? `${joined.slice(0, max - 1)}…` : joined;
}

/** 512B, 1.5KiB, 3.2MiB, 1.1GiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)}MiB`;
  return `${(n / 1024 ** 3).toFixed(1)}GiB`;
}

/** Columns padded to their widest cell; every cell escaped, so a name cannot break the table. */
export function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map((c) => escapeControls(c)));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

const exit = (c: number | null | undefined): string => (c === null || c === undefined ? '-' : String(c));

/** ` (exit N)` when the exit code is known, else nothing. */
export function exitText(c: number | null | undefined): string {
  return c === null || c === undefined ? '' : ` (exit ${c})`;
}

/** How a job ended, e.g. `job build-1 failed (exit 2): stage test failed`; escaped. */
export function jobEndText(j: JobMsg): string {
  return escapeControls(`job ${j.id} ${j.state}${exitText(j.exitCode)}${j.reason ? `: ${j.reason}` : ''}`);
}

export function currentStage(j: JobMsg): JobMsg['stages'][number] | undefined {
  return j.stages.find((s) => s.state === 'running') ?? j.stages.find((s) => s.state === 'queued') ?? j.stages[j.stages.length - 1];
}

export function jobsTable(jobs: JobMsg[], now = Date.now()): string {
  // a column for the schedule that fired a job, when any listed job was fired by one
  const scheduled = jobs.some((j) => j.schedule);
  const rows = [['ID', 'NAME', 'STATE', 'EXIT', 'STAGE', 'NODE', 'AGE', ...(scheduled ? ['SCHEDULE'] : [])]];
  for (const j of jobs) {
    const s = currentStage(j);
    rows.push([j.id, j.name, j.state, exit(j.exitCode), s?.name ?? '-', s?.nodes.length ? `${s.nodes.length} nodes` : s?.node || '-', formatDuration(now - j.submittedAtMs), ...(scheduled ? [j.schedule || '-'] : [])]);
  }
  return table(rows);
}

/** `allocated/allocatable` of one dimension, `(over)` when a node shrank below what it holds, `-` when it reports none. */
function allocation(n: NodeMsg, dim: 'cpuMilli' | 'memoryBytes'): string {
  if (!n.allocatable) return '-';
  const fmt = dim === 'cpuMilli' ? formatCpu : (b: number): string => (b === 0 ? '0' : formatMemory(b));
  const used = n.allocated?.[dim] ?? 0;
  return `${fmt(used)}/${fmt(n.allocatable[dim])}${used > n.allocatable[dim] ? ' (over)' : ''}`;
}

export function nodesTable(nodes: NodeMsg[]): string {
  const rows = [['NAME', 'STATE', 'LABELS', 'RUNNING', 'CPU', 'MEMORY', 'LAST SEEN']];
  for (const n of nodes) {
    const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-';
    rows.push([n.name + (n.standby ? ' (standby)' : ''), n.state, labels, `${n.running}/${n.slots}`, allocation(n, 'cpuMilli'), allocation(n, 'memoryBytes'), `${formatDuration(n.lastSeenMs)} ago`]);
  }
  return table(rows);
}

/** A stage's request as `16 cpu / 64 GiB` (only what it asks for). */
export function requestText(r: ResourcesMsg | null): string {
  if (!r) return '';
  const amount = { cpu: r.cpuMilli, memory: r.memoryBytes };
  return formatResources(amount, amount);
}

/** `run: 2 of 2` and one line per run once the job was retried: who started it, what it re-ran, how it ended. */
function runLines(j: JobMsg): string[] {
  const runs = j.runs ?? [];
  if (runs.length === 0) return [];
  const out = [`run: ${j.run} of ${runs.length}`];
  for (const r of runs) {
    const began = r.run === 1 ? 'submitted' : `retried${r.by ? ` by ${r.by}` : ''}${r.from ? ` from ${r.from}` : ''}, re-ran ${r.rerun.join(', ')}`;
    const ended = r.state ? `${r.state}${exitText(r.exitCode)}${r.reason ? ` - ${r.reason}` : ''}` : 'current';
    out.push(`  run ${r.run}: ${new Date(r.atMs).toISOString()} ${began}; ${ended}`);
  }
  return out;
}

/** How long a run took (or has run so far), `-` before it started. */
function runDuration(startedAtMs: number, endedAtMs: number, now: number): string {
  if (startedAtMs <= 0) return '-';
  return formatDuration(Math.max(0, (endedAtMs > 0 ? endedAtMs : now) - startedAtMs)) + (endedAtMs > 0 ? '' : ' so far');
}

/** A stage on all nodes: one row per target node. */
export function nodeSharesTable(s: JobMsg['stages'][number], now = Date.now()): string {
  const rows = [['NODE', 'STATE', 'EXIT', 'DURATION', 'REASON']];
  for (const n of s.nodes) rows.push([n.node, n.state, exit(n.exitCode), runDuration(n.startedAtMs, n.endedAtMs, now), n.reason || '']);
  return table(rows).replace(/^/gm, '  ');
}

export function jobDetail(j: JobMsg, now = Date.now()): string {
  const lines = [
    `job ${j.id}  ${j.name}`,
    `state: ${j.state}${exitText(j.exitCode)}${j.reason ? ` - ${j.reason}` : ''}`,
    `authoritative node: ${j.authoritativeNode || '-'}`,
    ...(j.schedule ? [`schedule: ${j.schedule} (${j.scheduleTickMs > 0 ? `tick ${new Date(j.scheduleTickMs).toISOString()}` : 'run-now'})`] : []),
    ...runLines(j),
    '',
  ];
  // the columns only for a job that requests resources, retries or was retried: other tables stay as they were
  const requests = j.stages.some((s) => s.request);
  const runs = (j.run ?? 1) > 1;
  const tries = j.stages.some((s) => (s.retryAttempts ?? 1) > 1 || s.attempts.some((a) => (a.tryNumber ?? 1) > 1));
  const extra = (a: JobMsg['stages'][number]['attempts'][number] | undefined, s: JobMsg['stages'][number]): string[] => [
    ...(runs ? [a ? String(a.run || 1) : '-'] : []),
    ...(tries ? [a ? `${a.tryNumber || 1}/${Math.max(s.retryAttempts || 1, a.tryNumber || 1)}` : '-'] : []),
  ];
  const rows = [['STAGE', 'STATE', 'NODE', 'ATTEMPT', ...(runs ? ['RUN'] : []), ...(tries ? ['TRY'] : []), 'EXIT', ...(requests ? ['REQUEST'] : []), 'REASON']];
  for (const s of j.stages) {
    const fanout = s.nodes.length > 0;
    const cur = s.attempts[s.attempts.length - 1];
    rows.push([s.name, s.state, fanout ? `${s.nodes.length} nodes` : s.node || '-', s.attempt ? String(s.attempt) : '-', ...extra(cur, s), exit(s.exitCode), ...(requests ? [requestText(s.request) || '-'] : []), s.reason || '']);
    // a fan-out's attempts are its nodes, in their own table below
    for (const a of fanout ? [] : s.attempts.slice(0, -1)) {
      rows.push([`  #${a.attempt}`, a.state, a.node, String(a.attempt), ...extra(a, s), exit(a.exitCode), ...(requests ? [''] : []), [a.reason, a.staleResult ? `late result: ${a.staleResult}` : ''].filter(Boolean).join('; ')]);
    }
  }
  const line = (l: string): string => escapeControls(l) + '\n';
  let out = lines.map(line).join('') + table(rows);
  for (const s of j.stages) if (s.nodes.length > 0) out += `\n${escapeControls(`stage ${s.name} on ${s.nodes.length} nodes:`)}\n${nodeSharesTable(s, now)}`;
  const failures = j.stages.flatMap((s) =>
    // a fan-out's nodes of the current run (an earlier run's are history)
    (s.nodes.length > 0 ? s.attempts.filter((a) => (a.run || 1) === (j.run || 1)) : s.attempts.slice(-1)).flatMap((a) => a.failures.map((f) => ({ stage: s.nodes.length > 0 ? `${s.name} [${a.node}]` : s.name, ...f }))),
  );
  if (failures.length > 0) {
    out += '\nfailed hosts:\n';
    for (const f of failures) out += `${escapeControls(`  ${f.stage}: ${f.host} at task "${f.task}": `)}${escapeControls(oneLine(f.msg))}\n`;
  }
  if (j.handoffs.length > 0) {
    out += '\nhandoffs:\n';
    for (const h of j.handoffs) out += line(`  ${h.fromStage} on ${h.fromNode} -> ${h.toStage} on ${h.toNode} (attempt ${h.toAttempt})${h.toRunDir ? `, runner files in ${h.toRunDir}` : ''}${h.acked ? '' : ' [marker pending]'}`);
  }
  return out;
}
