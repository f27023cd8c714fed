// Human-readable tables for the read commands, and the one rule that keeps text from the
// fleet (names, labels, reasons, log bytes) from driving the terminal it is printed on.
import { formatDuration } from '../proto/duration.js';
import type { JobMsg, NodeMsg } from '../proto/grpc.js';

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
  const line = (l: string): string => escapeControls(l) + '\n';
  let out = lines.map(line).join('') + table(rows);
  const failures = j.stages.flatMap((s) => (s.attempts[s.attempts.length - 1]?.failures ?? []).map((f) => ({ stage: s.name, ...f })));
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
