// The bench's common vocabulary and its output: a section is a named async function that
// returns rows; the report prints one table at the end and one `BENCH_JSON {...}` line
// for machines. Figures are compared to a baseline measured in the same run (ratios),
// never to fixed thresholds: this is a benchmark, not a test.

export interface Row {
  name: string;
  value: number;
  unit: string;
  /** The same-run reference this figure is compared with (same unit). */
  baseline?: number;
  /** value / baseline. */
  ratio?: number;
  note?: string;
}

/** Reference figures measured first; later sections read them to compute ratios. */
export interface Baseline {
  spawnP50Ms?: number;
  spawnP99Ms?: number;
  spawnPerSec?: number;
  /** `node -e ''` spawn -> exit: the floor of any Node process, the CLI included. */
  nodeP50Ms?: number;
}

export interface BenchContext {
  /** The repository root (the directory holding meshrun's package.json). */
  root: string;
  baseline: Baseline;
  /** Epoch ms by which the whole bench should be done; long sections cut themselves short. */
  deadlineAt: number;
  /** Progress line on stderr (the table and JSON go to stdout). */
  progress(msg: string): void;
}

export interface Section {
  name: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

/** Thrown by a section that cannot run here (missing tool, not root): reported, not an error. */
export class SkipSection extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipSection';
  }
}

export type SectionResult =
  | { section: string; status: 'ok'; ms: number; rows: Row[] }
  | { section: string; status: 'skipped'; ms: number; reason: string; rows: Row[] }
  | { section: string; status: 'error'; ms: number; error: string; rows: Row[] };

/** A row compared with a baseline; the ratio is left out when the baseline is missing. */
export function row(name: string, value: number, unit: string, baseline?: number, note?: string): Row {
  const r: Row = { name, value: round(value), unit };
  if (baseline !== undefined && Number.isFinite(baseline) && baseline > 0) {
    r.baseline = round(baseline);
    r.ratio = Math.round((value / baseline) * 1000) / 1000;
  }
  if (note !== undefined) r.note = note;
  return r;
}

export function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  const a = Math.abs(v);
  const digits = a >= 100 ? 1 : a >= 1 ? 2 : 3;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

function fmt(v: number | undefined): string {
  if (v === undefined) return '';
  if (!Number.isFinite(v)) return String(v);
  return String(round(v));
}

function fmtRatio(r: number | undefined): string {
  return r === undefined ? '' : `x${r >= 10 ? r.toFixed(1) : r.toFixed(3)}`;
}

/** The final table (stdout), then the machine line. */
export function printReport(results: readonly SectionResult[], meta: Record<string, unknown>): void {
  const header = ['section', 'figure', 'value', 'unit', 'baseline', 'ratio', 'note'];
  const lines: string[][] = [];
  for (const r of results) {
    for (const x of r.rows) lines.push([r.section, x.name, fmt(x.value), x.unit, fmt(x.baseline), fmtRatio(x.ratio), x.note ?? '']);
    if (r.status === 'skipped') lines.push([r.section, `(skipped: ${r.reason})`, '', '', '', '', '']);
    if (r.status === 'error') lines.push([r.section, `(FAILED: ${oneLine(r.error)})`, '', '', '', '', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (i === 1 || i === 6 ? Math.min(l[i]!.length, 90) : l[i]!.length))));
  const pad = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 2 || i === 4 || i === 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  out.push('');
  out.push('meshrun bench — ratios are value / baseline measured in this run (latency: x times slower; throughput: fraction of raw spawn rate)');
  out.push(pad(header));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) out.push(pad(l));
  out.push('');
  process.stdout.write(out.join('\n') + '\n');
  const json = {
    ...meta,
    sections: results.map((r) => ({
      section: r.section,
      status: r.status,
      ms: Math.round(r.ms),
      ...(r.status === 'error' ? { error: r.error } : {}),
      ...(r.status === 'skipped' ? { reason: r.reason } : {}),
      rows: r.rows,
    })),
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`);
}

function oneLine(s: string): string {
  const l = s.split('\n')[0] ?? '';
  return l.length > 160 ? `${l.slice(0, 157)}...` : l;
}
