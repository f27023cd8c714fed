// Terminal output is safe: the one escaping rule (cli/format.ts) in tables and one-line output,
// the log writer that keeps a pipe's bytes exact and escapes a terminal's, and oneLine in linear time.
import { describe, expect, it } from 'vitest';
import type { JobMsg, NodeMsg } from '../proto/grpc.js';
import { escapeControls, jobDetail, jobEndText, jobsTable, nodesTable, oneLine, table } from '../cli/format.js';
import { LogOutput } from '../cli/log-output.js';
import { renderFrame } from '../cli/watch/frame.js';
import { LogTail, MAX_LINE } from '../cli/watch/log-tail.js';

/** Any control a terminal could act on; `\n` allowed (line ends of the output itself). */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
const EVIL = 'evil\x1b[31mred\x1b]0;pwned\x07\x9b2J\x7f\x00nl\nend';
const EVIL_SHOWN = 'evil\\x1b[31mred\\x1b]0;pwned\\x07\\x9b2J\\x7f\\x00nl\\x0aend';

const attempt = (over: Record<string, unknown> = {}): JobMsg['stages'][number]['attempts'][number] =>
  ({ attempt: 1, node: 'alpha', state: 'failed', exitCode: 2, reason: EVIL, assignedAtMs: 1, startedAtMs: 1, endedAtMs: 2, staleResult: '', failures: [], artifacts: [], ...over }) as never;

const job = (over: Partial<JobMsg> = {}): JobMsg =>
  ({
    id: 'j1',
    name: EVIL,
    state: 'failed',
    exitCode: 2,
    reason: EVIL,
    stages: [
      {
        name: 'run',
        state: 'failed',
        node: 'alpha',
        attempt: 2,
        exitCode: 2,
        reason: EVIL,
        nodes: [],
        attempts: [attempt({ staleResult: EVIL }), attempt({ attempt: 2, failures: [{ host: EVIL, task: EVIL, msg: `${EVIL}\n\n  second line` }] })],
      },
    ],
    submittedAtMs: 1,
    startedAtMs: 2,
    endedAtMs: 3,
    authoritativeNode: 'alpha',
    handoffs: [{ fromStage: 'a', fromNode: 'alpha', toStage: 'run', toNode: 'beta', toAttempt: 1, toRunDir: `/runs/${EVIL}`, acked: true }],
    workspace: '',
    schedule: '',
    scheduleTickMs: 0,
    ...over,
  }) as JobMsg;

const node = (over: Partial<NodeMsg> = {}): NodeMsg =>
  ({ name: 'alpha', labels: { role: EVIL, [`k\x1b[1m`]: 'v' }, state: 'ready', lastSeenMs: 10, slots: 4, running: 0, standby: false, draining: false, ...over }) as NodeMsg;

describe('escapeControls: one visible form for every control character', () => {
  it('shows ESC sequences, C0, DEL and C1 as \\xHH and keeps everything else', () => {
    expect(escapeControls(EVIL)).toBe(EVIL_SHOWN);
    expect(escapeControls('\x1b[2J\x1bc\x1bP1$q\x1b\\')).toBe('\\x1b[2J\\x1bc\\x1bP1$q\\x1b\\');
    expect(escapeControls('\u0085\u009b\u009d\u009f\u00a0')).toBe('\\x85\\x9b\\x9d\\x9f\u00a0'); // NEL, CSI, OSC, APC; NBSP is printable
    expect(escapeControls('tab\there\r')).toBe('tab\\x09here\\x0d');
    expect(escapeControls('plain ascii, é ─ 日本 😀 \\x1b as text')).toBe('plain ascii, é ─ 日本 😀 \\x1b as text');
    expect(RAW_CONTROL.test(escapeControls(String.fromCharCode(...Array.from({ length: 0xa0 }, (_, i) => i))))).toBe(false);
  });

  it("log mode keeps newline, tab and CRLF line ends, and escapes the rest (a lone \\r included)", () => {
    expect(escapeControls('a\tb\nc\r\nd', 'log')).toBe('a\tb\nc\r\nd');
    expect(escapeControls('10%\r50%\r\n', 'log')).toBe('10%\\x0d50%\r\n');
    expect(escapeControls('\x1b]0;pwned\x07\x1b[2J done\n', 'log')).toBe('\\x1b]0;pwned\\x07\\x1b[2J done\n');
    expect(escapeControls('bs\b del\x7f c1\u009b é😀\n', 'log')).toBe('bs\\x08 del\\x7f c1\\x9b é😀\n');
  });
});

describe('tables and one-line output are escaped', () => {
  it('table: a cell with ESC or a newline stays one cell of one row, widths on the escaped text', () => {
    const out = table([
      ['NAME', 'X'],
      ['a\nb\x1b[1m', 'y'],
    ]);
    const cell = 'a\\x0ab\\x1b[1m';
    expect(out).toBe(`${'NAME'.padEnd(cell.length)}  X\n${cell}  y\n`);
  });

  it('jobs, job, nodes, the end line and a watch frame carry no raw control character', () => {
    const j = job();
    const outputs = {
      jobs: jobsTable([j], 10),
      job: jobDetail(j),
      nodes: nodesTable([node()]),
      end: jobEndText(j),
      watch: renderFrame(
        { address: 'x:1', now: 10, nodes: [node()], jobs: [j], selectedId: 'j1', selectedAuto: false, selectedJob: j, progress: () => undefined },
        { tailLines: 5, tty: false },
      ).join('\n'),
    };
    for (const [what, text] of Object.entries(outputs)) {
      expect(RAW_CONTROL.test(text), `${what}: ${JSON.stringify(text)}`).toBe(false);
    }
    expect(outputs.jobs).toContain(EVIL_SHOWN);
    expect(outputs.job.split('\n')[0]).toBe(`job j1  ${EVIL_SHOWN}`);
    expect(outputs.job).toContain(`runner files in /runs/${EVIL_SHOWN}`);
    expect(outputs.job).toContain(`at task "${EVIL_SHOWN}": evil\\x1b[31mred\\x1b]0;pwned\\x07\\x9b2J\\x7f\\x00nl | end | second line`);
    expect(outputs.nodes).toContain(`role=${EVIL_SHOWN},k\\x1b[1m=v`);
    expect(outputs.end).toBe(`job j1 failed (exit 2): ${EVIL_SHOWN}`);
    expect(outputs.watch).toContain(`LOG job j1 (${EVIL_SHOWN})`);
  });
});

describe('oneLine', () => {
  /** The former implementation, for ordinary input. */
  const before = (msg: string, max = 400): string => {
    const s = msg.trim().replace(/\s*\n\s*/g, ' | ');
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  };

  it('gives what it gave before for ordinary messages', () => {
    const samples = [
      '',
      '   ',
      'one line',
      '  padded  ',
      'first\nsecond',
      'a \n  \n b\r\n\tc\n\n',
      '\n\nleading blank lines\n  trailing  \n',
      'fatal: [web1]: FAILED! => {"msg": "x"}\nSTDERR:\n\n  line 1\n  line 2\n',
      `${'long '.repeat(200)}\nmore`,
    ];
    for (const s of samples) expect(oneLine(s), JSON.stringify(s)).toBe(before(s));
    for (const s of samples) expect(oneLine(s, 20), JSON.stringify(s)).toBe(before(s, 20));
    // a deterministic mix of words, spaces, tabs and newlines
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 48271) % 2147483647), seed % n);
    for (let i = 0; i < 300; i++) {
      const s = Array.from({ length: rnd(60) }, () => ['w', 'ord', ' ', '\t', '\n', '\r\n', '  \n  '][rnd(7)]).join('');
      expect(oneLine(s, 50), JSON.stringify(s)).toBe(before(s, 50));
    }
  });

  it('is bounded and marks a cut (escaping is the caller\'s)', () => {
    expect(oneLine(`${'x'.repeat(10)}${' '.repeat(100_000)}`, 20)).toBe(`${'x'.repeat(10)}…`);
    expect(oneLine('x'.repeat(1000), 20)).toBe(`${'x'.repeat(19)}…`);
    expect(escapeControls(oneLine('red \x1b[31m\nnext'))).toBe('red \\x1b[31m | next');
  });

  it('takes time linear in the input (N and 8N, a generous ratio)', () => {
    // runs of whitespace, what made /\s*\n\s*/ quadratic (each start rescanned the run)
    const runs = (n: number): string[] => [`a${' \t'.repeat(n)}b`, `a${' '.repeat(n)}\n${' '.repeat(n)}b`, `a${'\t'.repeat(n)}\r\n${' '.repeat(n)}\n`];
    const many = (n: number): string[] => [...runs(n), '\n \n'.repeat(n), 'x \n'.repeat(n)];
    const once = (xs: string[], max: number): number => {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < 10; k++) for (const s of xs) oneLine(s, max);
      return Number(process.hrtime.bigint() - t0);
    };
    const ratio = (gen: (n: number) => string[], max: number): { small: number; large: number } => {
      once(gen(1000), max); // warm up the JIT
      const n = 20_000;
      const [xs, xl] = [gen(n), gen(8 * n)];
      let small = Infinity;
      let large = Infinity;
      // interleaved, best of several: a busy machine slows both alike
      for (let round = 0; round < 9; round++) {
        small = Math.min(small, once(xs, max));
        large = Math.min(large, once(xl, max));
      }
      return { small, large };
    };
    // unbounded (max Infinity) measures the splitting itself; the default also bounds what is read
    for (const [what, gen, max] of [
      ['unbounded', runs, Infinity],
      ['default max', many, 400],
    ] as const) {
      const { small, large } = ratio(gen, max);
      // linear: about 8 (1 when bounded); quadratic: 64
      expect(large / Math.max(small, 1), `${what}: ${small} ns at N, ${large} ns at 8N`).toBeLessThan(32);
    }
  });
});

describe('LogOutput: exact to a pipe, escaped on a terminal', () => {
  const HOSTILE = Buffer.from('\x1b]0;pwned\x07\x1b[2J é 日本\t😀\r\nnext\n', 'utf8');

  const collect = (tty: boolean, raw: boolean): { out: LogOutput; text: () => string; bytes: () => Buffer } => {
    const chunks: Buffer[] = [];
    const out = new LogOutput({ tty, raw, write: (c) => void chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c, 'utf8')) });
    return { out, text: () => Buffer.concat(chunks).toString('utf8'), bytes: () => Buffer.concat(chunks) };
  };

  it('a pipe or file, and --raw on a terminal, get the bytes unchanged (invalid UTF-8 included)', () => {
    const bytes = Buffer.concat([HOSTILE, Buffer.from([0xff, 0x9b, 0xe2, 0x94])]);
    for (const [tty, raw] of [
      [false, false],
      [false, true],
      [true, true],
    ] as const) {
      const c = collect(tty, raw);
      c.out.write('s/1', bytes.subarray(0, 5));
      c.out.write('s/1', bytes.subarray(5));
      c.out.flush();
      expect(c.out.escaping).toBe(false);
      expect(c.bytes().equals(bytes)).toBe(true);
    }
  });

  it('a terminal gets controls made visible, newline, tab and CRLF kept, characters split across chunks whole', () => {
    const c = collect(true, false);
    expect(c.out.escaping).toBe(true);
    // every split point, byte by byte: no character is torn and no escape is missed
    for (let i = 0; i < HOSTILE.length; i++) c.out.write('s/1', HOSTILE.subarray(i, i + 1));
    c.out.flush();
    expect(c.text()).toBe('\\x1b]0;pwned\\x07\\x1b[2J é 日本\t😀\r\nnext\n');
    expect(RAW_CONTROL.test(c.text().replace(/\r\n/g, '\n').replace(/\t/g, ' '))).toBe(false);
  });

  it('keeps each stream\'s partial character apart when stages interleave; a lone \\r and a torn character at the end are shown', () => {
    const c = collect(true, false);
    const e = Buffer.from('é', 'utf8');
    c.out.write('a/1', Buffer.concat([Buffer.from('A'), e.subarray(0, 1)]));
    c.out.write('b/1', Buffer.concat([Buffer.from('B'), e.subarray(0, 1)]));
    c.out.write('a/1', Buffer.concat([e.subarray(1), Buffer.from('\r')]));
    c.out.write('b/1', Buffer.concat([e.subarray(1), Buffer.from('\n')]));
    c.out.write('a/1', Buffer.from('over'));
    c.out.write('b/1', Buffer.from([0xf0, 0x9f]));
    c.out.flush();
    expect(c.text()).toBe('ABéé\n\\x0dover\ufffd');
  });
});

describe("watch's log tail: never raw, and bounded", () => {
  const texts = (t: LogTail): string[] => t.tail(100).flatMap((e) => (e.kind === 'line' ? [e.text] : []));

  it('drops sequences split across chunks and keeps the text around them', () => {
    const t = new LogTail(10);
    t.header('s', 1, 'alpha');
    const e = Buffer.from('é', 'utf8');
    for (const c of [Buffer.from('\x1b'), Buffer.from(']0;pwned\x07\x1b'), Buffer.concat([Buffer.from('[2Jdone '), e.subarray(0, 1)]), Buffer.concat([e.subarray(1), Buffer.from('\u009b\x7f\n')])]) {
      t.data('s', 1, c);
    }
    expect(texts(t)).toEqual(['done é']);
  });

  it('a line without end is held to MAX_LINE characters, a later redraw (\\r) still shows', () => {
    const t = new LogTail(10);
    t.header('s', 1, 'alpha');
    for (let i = 0; i < 1000; i++) t.data('s', 1, Buffer.from('y'.repeat(1000)));
    expect(texts(t)).toEqual(['y'.repeat(MAX_LINE)]);
    t.data('s', 1, Buffer.from('\rredrawn'));
    expect(texts(t)).toEqual(['redrawn']);
    t.data('s', 1, Buffer.from(`${'z'.repeat(2 * MAX_LINE)}\nnext`));
    expect(texts(t)).toEqual(['redrawn' + 'z'.repeat(MAX_LINE - 'redrawn'.length), 'next']);
  });
});
