// Masks a run's secret values in its output, as CI systems do: every occurrence of a value
// becomes `***`, also when it straddles two chunks. Pure and free of imports: the detached run
// wrapper loads it on every run start that has secrets.

export const MASK = '***';
/**
 * A value with fewer characters than this (not counting surrounding whitespace) is not masked:
 * masking `abc` would garble ordinary output without hiding anything (GitLab refuses short
 * masked variables too).
 */
export const MASK_MIN_CHARS = 4;

const MASK_BYTES = Buffer.from(MASK);

/**
 * What to mask for a run's secret values: each value; each line (trimmed) of a multi-line value,
 * since tools print those one at a time or re-indented; and the JSON-escaped form of each, which
 * is how Ansible prints a value holding `"`, `\` or a newline in a task result.
 */
export function maskValues(secrets: Iterable<string>): string[] {
  const out = new Set<string>();
  const add = (v: string): void => {
    if ([...v.trim()].length < MASK_MIN_CHARS) return;
    out.add(v);
    const escaped = JSON.stringify(v).slice(1, -1);
    if (escaped !== v) out.add(escaped);
  };
  for (const s of secrets) {
    add(s);
    if (/[\r\n]/.test(s)) for (const line of s.split(/\r\n|\r|\n/)) add(line.trim());
  }
  return [...out];
}

/**
 * Aho-Corasick over the values' UTF-8 bytes: every byte of the stream is looked at once, however
 * many values there are, and the state tells how long a value's prefix the stream ends with (what
 * must be held back until the next chunk shows whether the value follows).
 */
class Automaton {
  readonly depth: number[] = [0];
  readonly fail: number[] = [0];
  /** A value ends at this state. */
  readonly terminal: boolean[] = [false];
  /** The nearest state on the fail chain (self excluded) where a value ends; 0: none. */
  readonly dict: number[] = [0];
  /** Length of the longest suffix (self included) that may still grow into a value. */
  readonly open: number[] = [0];
  /** Bytes that begin a value: the stream is skimmed over all others. */
  readonly first = new Uint8Array(256);
  readonly maxLen: number;
  private readonly edges = new Map<number, number>();
  private readonly kids: number[][] = [[]];

  constructor(values: readonly Uint8Array[]) {
    let maxLen = 0;
    for (const v of values) {
      maxLen = Math.max(maxLen, v.length);
      let s = 0;
      for (const b of v) {
        let t = this.edges.get(s * 256 + b);
        if (t === undefined) {
          t = this.depth.length;
          this.depth.push(this.depth[s]! + 1);
          this.fail.push(0);
          this.terminal.push(false);
          this.dict.push(0);
          this.open.push(0);
          this.kids.push([]);
          this.edges.set(s * 256 + b, t);
          this.kids[s]!.push(b);
        }
        s = t;
      }
      this.terminal[s] = true;
      this.first[v[0]!] = 1;
    }
    this.maxLen = maxLen;
    // breadth first: a state's fail target is shallower, so it is complete before it is used
    const queue = [0];
    for (let qi = 0; qi < queue.length; qi++) {
      const u = queue[qi]!;
      this.open[u] = this.kids[u]!.length > 0 ? this.depth[u]! : this.open[this.fail[u]!]!;
      for (const b of this.kids[u]!) {
        const v = this.edges.get(u * 256 + b)!;
        if (u !== 0) {
          let f = this.fail[u]!;
          while (f !== 0 && !this.edges.has(f * 256 + b)) f = this.fail[f]!;
          this.fail[v] = this.edges.get(f * 256 + b) ?? 0;
        }
        const f = this.fail[v]!;
        this.dict[v] = this.terminal[f] ? f : this.dict[f]!;
        queue.push(v);
      }
    }
  }

  /** The state after byte b; calls `count` once per move (fail moves included). */
  step(s: number, b: number, count: () => void): number {
    for (;;) {
      count();
      const t = this.edges.get(s * 256 + b);
      if (t !== undefined) return t;
      if (s === 0) return 0;
      s = this.fail[s]!;
    }
  }
}

/** Occurrences found but not decided yet: the leftmost first, the longest of those first. */
class MatchHeap {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  get size(): number {
    return this.starts.length;
  }
  get topStart(): number {
    return this.starts[0]!;
  }
  get topEnd(): number {
    return this.ends[0]!;
  }

  push(start: number, end: number): void {
    let i = this.starts.length;
    this.starts.push(start);
    this.ends.push(end);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): void {
    const last = this.starts.length - 1;
    this.swap(0, last);
    this.starts.pop();
    this.ends.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.before(l, m)) m = l;
      if (r < last && this.before(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private before(a: number, b: number): boolean {
    return this.starts[a]! < this.starts[b]! || (this.starts[a] === this.starts[b] && this.ends[a]! > this.ends[b]!);
  }

  private swap(a: number, b: number): void {
    [this.starts[a], this.starts[b]] = [this.starts[b]!, this.starts[a]!];
    [this.ends[a], this.ends[b]] = [this.ends[b]!, this.ends[a]!];
  }
}

/**
 * Masks one byte stream fed in chunks. Replaces like a left-to-right search: the occurrence that
 * starts first wins, the longest of those starting at the same byte, and the search goes on after
 * it. Bytes that may begin a value (at most the longest value's length less one) are held back
 * until the next chunk or `end()` decides them; everything else is returned at once.
 */
export class StreamMasker {
  /** Steps taken (automaton moves, bytes skimmed, occurrences seen): linear in the stream. */
  work = 0;
  private readonly ac: Automaton | null;
  private state = 0;
  private readonly found = new MatchHeap();
  /** Bytes not yet returned are pend[head, tail); pend[i] is byte i + shift of the stream. */
  private pend = Buffer.alloc(0);
  private head = 0;
  private tail = 0;
  private shift = 0;
  /** Stream offset up to which the output is decided (returned, or replaced by the mask). */
  private done = 0;
  private readonly count = (): void => {
    this.work++;
  };

  constructor(values: readonly string[]) {
    const bytes = [...new Set(values)].filter((v) => v !== '').map((v) => Buffer.from(v, 'utf8'));
    this.ac = bytes.length > 0 ? new Automaton(bytes) : null;
  }

  /** Bytes taken in and not returned yet: never more than the longest value's length less one. */
  get heldBytes(): number {
    return this.tail - this.head;
  }

  /** The masked bytes that can be written now. Does not keep `chunk`: the caller may reuse it. */
  push(chunk: Uint8Array): Buffer {
    if (!this.ac) return Buffer.from(chunk);
    if (chunk.length === 0) return Buffer.alloc(0);
    const ac = this.ac;
    this.append(chunk);
    const out: Buffer[] = [];
    let s = this.state;
    for (let i = this.tail - chunk.length; i < this.tail; i++) {
      if (s === 0 && this.found.size === 0) {
        // nothing pending: skim to the next byte that can begin a value
        const from = i;
        while (i < this.tail && ac.first[this.pend[i]!] === 0) i++;
        this.work += i - from;
        if (i === this.tail) break;
      }
      s = ac.step(s, this.pend[i]!, this.count);
      const end = i + this.shift + 1;
      for (let t = ac.terminal[s] ? s : ac.dict[s]!; t !== 0; t = ac.dict[t]!) {
        this.work++;
        const start = end - ac.depth[t]!;
        if (start >= this.done) this.found.push(start, end);
      }
      if (this.found.size > 0) this.decide(out, end - ac.open[s]!);
    }
    this.state = s;
    // no occurrence still to come starts before the longest prefix the stream now ends with
    this.emitUpTo(out, this.tail + this.shift - ac.open[s]!);
    return Buffer.concat(out);
  }

  /** The rest: what was held back, masked. The masker then starts a new stream. */
  end(): Buffer {
    if (!this.ac) return Buffer.alloc(0);
    const out: Buffer[] = [];
    this.decide(out, Infinity);
    this.emitUpTo(out, this.tail + this.shift);
    this.state = 0;
    this.head = this.tail = 0;
    this.shift = this.done;
    return Buffer.concat(out);
  }

  /** Replaces every occurrence starting before `settled` (no later one can start there). */
  private decide(out: Buffer[], settled: number): void {
    while (this.found.size > 0) {
      const start = this.found.topStart;
      if (start >= settled) return;
      this.work++;
      if (start >= this.done) {
        this.emitUpTo(out, start);
        out.push(MASK_BYTES);
        this.done = this.found.topEnd;
        this.head = this.done - this.shift;
      }
      this.found.pop();
    }
  }

  private emitUpTo(out: Buffer[], to: number): void {
    if (to <= this.done) return;
    out.push(this.pend.subarray(this.head, to - this.shift));
    this.done = to;
    this.head = to - this.shift;
  }

  /** Copies the chunk after the bytes still held; each byte is copied in once (amortised). */
  private append(chunk: Uint8Array): void {
    const held = this.tail - this.head;
    if (this.tail + chunk.length > this.pend.length) {
      const need = held + chunk.length;
      if (need * 2 <= this.pend.length) {
        this.pend.copyWithin(0, this.head, this.tail);
      } else {
        const bigger = Buffer.allocUnsafe(Math.max(need * 2, 16 * 1024));
        this.pend.copy(bigger, 0, this.head, this.tail);
        this.pend = bigger;
      }
      this.shift += this.head;
      this.head = 0;
      this.tail = held;
    }
    this.pend.set(chunk, this.tail);
    this.tail += chunk.length;
  }
}

/** Masks a whole buffer (a file read at once). */
export function maskBuffer(values: readonly string[], data: Uint8Array): Buffer {
  const m = new StreamMasker(values);
  return Buffer.concat([m.push(data), m.end()]);
}
