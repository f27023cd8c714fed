// The log tail of the watched job: bounded printable lines with a marker where each stage
// attempt begins or interleaved stages switch; log bytes never reach the terminal raw.
import { StringDecoder } from 'node:string_decoder';
import type { JobMsg } from '../../proto/grpc.js';

const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]?/g;
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f\u0080-\u009f]/g;
/** Characters of one line kept: far wider than a terminal, and a line without end costs no more. */
export const MAX_LINE = 4096;

/** A long line cut to what cleanLine could show: from its last redraw (`\r`), at most MAX_LINE. */
function bound(line: string): string {
  if (line.length <= MAX_LINE) return line;
  const cr = line.lastIndexOf('\r', line.length - 2);
  return (cr >= 0 ? line.slice(cr + 1) : line).slice(0, MAX_LINE);
}

/** One printable line: escape sequences and control characters removed, tabs expanded, a `\r` keeps what was drawn last. */
export function cleanLine(raw: string): string {
  let s = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const cr = s.lastIndexOf('\r');
  if (cr >= 0) s = s.slice(cr + 1);
  s = s.replace(ESCAPES, '').replace(CONTROLS, '');
  if (!s.includes('\t')) return s;
  let out = '';
  for (const ch of s) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}

export type TailEntry =
  | { kind: 'stage'; stage: string; attempt: number; node: string; prevNode: string; prevStage: string; failover: boolean }
  /** `ctx`: the marker the line belongs under (its stage's header, or the switch back to it). */
  | { kind: 'line'; key: string; text: string; ctx: TailEntry | undefined }
  | { kind: 'switch'; stage: string; attempt: number; node: string }
  | { kind: 'end'; job: JobMsg };

export class LogTail {
  readonly entries: TailEntry[] = [];
  private readonly decoders = new Map<string, StringDecoder>();
  private readonly partial = new Map<string, string>();
  private readonly nodeOf = new Map<string, string>();
  private readonly seen = new Set<string>();
  private readonly attemptNodes = new Map<string, string>();
  private lastNode = '';
  private lastStage = '';
  private lastKey = '';
  private ctx: TailEntry | undefined;

  constructor(readonly max: number) {}

  has(stage: string, attempt: number): boolean {
    return this.seen.has(`${stage}/${attempt}`);
  }

  header(stage: string, attempt: number, node: string): void {
    const key = `${stage}/${attempt}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.nodeOf.set(key, node);
    const earlier = this.attemptNodes.get(stage);
    this.ctx = { kind: 'stage', stage, attempt, node, prevNode: this.lastNode, prevStage: this.lastStage, failover: earlier !== undefined && earlier !== node };
    this.push(this.ctx);
    this.attemptNodes.set(stage, node);
    this.lastNode = node;
    this.lastStage = stage;
    this.lastKey = key;
  }

  data(stage: string, attempt: number, bytes: Buffer): void {
    const key = `${stage}/${attempt}`;
    if (!this.seen.has(key)) this.header(stage, attempt, '');
    let dec = this.decoders.get(key);
    if (!dec) this.decoders.set(key, (dec = new StringDecoder('utf8')));
    const text = (this.partial.get(key) ?? '') + dec.write(bytes);
    const lines = text.split('\n');
    // bounded, so a line that never ends is not copied again with every chunk
    this.partial.set(key, bound(lines.pop() ?? ''));
    if (lines.length > 0 && key !== this.lastKey) {
      // parallel stages interleave: say whose lines follow
      this.ctx = { kind: 'switch', stage, attempt, node: this.nodeOf.get(key) ?? '' };
      this.push(this.ctx);
      this.lastKey = key;
    }
    for (const l of lines) this.push({ kind: 'line', key, text: cleanLine(bound(l)), ctx: this.ctx });
  }

  end(job: JobMsg): void {
    this.push({ kind: 'end', job });
  }

  /**
   * The last `n` entries, with the line still being written (no newline yet) at the end.
   * When the marker of the first line shown has scrolled out, it stays pinned as the
   * first row: the tail always says which stage and node the lines below come from.
   */
  tail(n: number): TailEntry[] {
    if (n <= 0) return [];
    const all = [...this.entries];
    const open = this.partial.get(this.lastKey);
    if (open && all[all.length - 1]?.kind !== 'end') all.push({ kind: 'line', key: this.lastKey, text: cleanLine(open), ctx: this.ctx });
    const window = all.slice(-n);
    const first = window[0];
    if (n > 1 && first?.kind === 'line' && first.ctx && !window.includes(first.ctx)) return [first.ctx, ...window.slice(1)];
    return window;
  }

  private push(e: TailEntry): void {
    this.entries.push(e);
    if (this.entries.length > this.max) this.entries.splice(0, this.entries.length - this.max);
  }
}

