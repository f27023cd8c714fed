// `meshrun watch` against a real fleet: one plain-text frame (--once, and what a pipe
// gets), and the live dashboard in a real terminal (a tmux pane): it draws on the
// alternate screen, survives a coordinator restart and a resize, and gives the terminal
// back on Ctrl-C and SIGTERM. Plus the pure parts: line cleaning, the bounded tail.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMsg } from '../proto/grpc.js';
import { cleanLine, LogTail } from '../cli/watch/log-tail.js';
import { markerText, renderFrame } from '../cli/watch/frame.js';
import { requireTools } from './fleet/netns.js';
import { BIN, Fleet, freePort, runCli, waitFor } from './harness/processes.js';

let fleet: Fleet;
let flag: string;
const LAB = 'watch-lab';
const QUIET = 'watch-quiet';

const submitFile = async (name: string, body: string, id: string): Promise<void> => {
  const p = join(fleet.dir, name);
  writeFileSync(p, body);
  const r = await fleet.cli(['submit', '--id', id, p]);
  expect(r.code, r.stderr).toBe(0);
};

beforeAll(async () => {
  fleet = await Fleet.start({
    agents: [
      { node: 'alpha', labels: 'role=bastion' },
      { node: 'beta', labels: 'role=worker' },
    ],
  });
  flag = join(fleet.dir, 'lab-flag');
  // the site-lab shape: validate on alpha, then the body hands off to beta
  await submitFile(
    'lab.yaml',
    `name: site-lab
stages:
  - name: validate
    on: { node: alpha }
    run: { command: [sh, -c, 'echo validating on $MESHRUN_NODE; printf "\\033[1mstaged\\033[0m\\tok\\n"'] }
  - name: lab
    on: { labels: { role: worker } }
    run: { command: [sh, -c, 'echo lab started on $MESHRUN_NODE; while [ ! -f ${flag} ]; do sleep 0.1; done; echo after the flag on $MESHRUN_NODE; sleep 300'] }
`,
    LAB,
  );
  // the story's trap: after the handoff the bastion prints nothing at all
  await submitFile(
    'quiet.yaml',
    `name: quiet
stages:
  - name: validate
    on: { node: alpha }
    run: { command: [sh, -c, 'echo validated'] }
  - name: lab
    on: { node: beta }
    run: { command: [sleep, '300'] }
`,
    QUIET,
  );
  for (const id of [LAB, QUIET]) await fleet.waitJob(id, (j) => j.stages[1]?.state === 'running', 'lab running on beta');
  await waitFor('the lab log on beta', async () => (await fleet.cli(['logs', LAB])).stdout.includes('lab started on beta'));
});

afterAll(async () => {
  await fleet?.destroy();
});

/** Lines of the LOG section (after its title line). */
const logSection = (frame: string): string[] => {
  const lines = frame.trimEnd().split('\n');
  return lines.slice(lines.findIndex((l) => l.startsWith('LOG ')) + 1);
};

describe('watch --once: one plain frame', () => {
  it('shows both nodes, the job on its current stage and node, and the log tail with a handoff marker naming beta', async () => {
    const r = await fleet.cli(['watch', '--once', '--job', LAB]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    expect(out).not.toMatch(/\x1b/); // plain text, no escape codes (the log's own are stripped too)
    expect(out.split('\n')[0]).toContain(`meshrun watch · coordinator ${fleet.coordinatorAddress}`);
    expect(out).toMatch(/^NODES \(2 ready\)$/m);
    // RUNNING, then CPU and MEMORY allocated/allocatable (the machine's), then LAST SEEN
    expect(out).toMatch(/^alpha\s+ready\s+role=bastion\s+\d+\/4\s+0\/[\d.]+\s+0\/[\d.]+ [KMGT]iB\s+\S+ ago$/m);
    expect(out).toMatch(/^beta\s+ready\s+role=worker\s+2\/4\s+0\/[\d.]+\s+0\/[\d.]+ [KMGT]iB\s+\S+ ago$/m);
    expect(out).toMatch(new RegExp(`^▸\\s+${LAB}\\s+site-lab\\s+running\\s+lab\\s+beta\\s+running \\S+$`, 'm'));
    expect(out).toMatch(new RegExp(`^\\s+${QUIET}\\s+quiet\\s+running\\s+lab\\s+beta\\s`, 'm'));
    expect(out).toMatch(new RegExp(`^LOG job ${LAB} \\(site-lab\\) · running · authoritative node now: beta$`, 'm'));
    const log = logSection(out);
    expect(log.slice(0, 5)).toEqual([
      '── stage validate on alpha (attempt 1) · authoritative node: alpha ──',
      'validating on alpha',
      'staged  ok',
      expect.stringMatching(/^── handoff: stage lab now on beta \(attempt 1\), after validate on alpha · authoritative node: beta · runner files on beta: \S+ ──$/),
      'lab started on beta',
    ]);
  });

  it('a bastion that printed nothing still shows the handoff marker as the last line', async () => {
    const r = await fleet.cli(['watch', '--once', '--job', QUIET]);
    expect(r.code, r.stderr).toBe(0);
    const log = logSection(r.stdout);
    expect(log[log.length - 1]).toMatch(/^── handoff: stage lab now on beta \(attempt 1\), after validate on alpha · authoritative node: beta/);
  });

  it('without --job it picks the most recently started running job; --lines bounds the tail and keeps the marker pinned', async () => {
    const auto = await fleet.cli(['watch']); // no TTY: one frame, as with --once
    expect(auto.code, auto.stderr).toBe(0);
    const newest = [LAB, QUIET].map((id) => auto.stdout.includes(`LOG job ${id} `));
    expect(newest.filter(Boolean)).toHaveLength(1);
    expect(auto.stdout).toMatch(/^LOG job \S+ \(\S+\) · most recently started · running/m);

    const r = await fleet.cli(['watch', '--once', '--job', LAB, '--lines', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(logSection(r.stdout)).toEqual([expect.stringMatching(/^── handoff: stage lab now on beta/), 'lab started on beta']);
  });

  it('shows a drained node as drained', async () => {
    expect((await fleet.cli(['drain', 'alpha'])).code).toBe(0);
    try {
      const r = await fleet.cli(['watch', '--once']);
      expect(r.stdout).toMatch(/^alpha\s+drained\s/m);
      expect(r.stdout).toMatch(/^NODES \(1 drained, 1 ready\)$/m);
    } finally {
      expect((await fleet.cli(['undrain', 'alpha'])).code).toBe(0);
    }
  });

  it('an unreachable coordinator exits 3 with one line; a bad flag exits 2; an unknown job exits 4', async () => {
    const r = await runCli(['watch', '--once', '--coordinator', `127.0.0.1:${await freePort()}`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^meshrun: cannot reach the coordinator at 127\.0\.0\.1:\d+/)]);
    expect((await fleet.cli(['watch', '--once', '--interval', 'soon'])).code).toBe(2);
    expect((await fleet.cli(['watch', '--once', '--lines', '0'])).code).toBe(2);
    const nf = await fleet.cli(['watch', '--once', '--job', 'no-such-job']);
    expect(nf.code).toBe(4);
  });
});

// ---------------------------------------------------------------------------------
// The live dashboard in a real terminal.

const tmuxTools = requireTools(['tmux']);

describe.skipIf(!tmuxTools.ok)('watch on a terminal (tmux)', () => {
  const sock = `meshrun-watch-test-${process.pid}`;
  const session = 'watch';
  const tmux = (...args: string[]): string =>
    execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...args], { encoding: 'utf8', env: { ...process.env, TMUX: '' } });
  const capture = (): string => tmux('capture-pane', '-p', '-t', session);
  const pane = (): { alternate: boolean; cursor: boolean; command: string; width: number } => {
    const [alt, cur, cmd, w] = tmux('display-message', '-p', '-t', session, '#{alternate_on} #{cursor_flag} #{pane_current_command} #{pane_width}').trim().split(' ');
    return { alternate: alt === '1', cursor: cur === '1', command: cmd ?? '', width: Number(w) };
  };
  const type = (line: string): void => {
    tmux('send-keys', '-t', session, '-l', line);
    tmux('send-keys', '-t', session, 'Enter');
  };
  let command = '';
  let runs = 0;

  /** Starts `meshrun watch` in the pane and waits for the dashboard with the handoff marker. */
  const startWatch = async (): Promise<string> => {
    runs++;
    type(command);
    return waitFor('the dashboard on the alternate screen', () => {
      const text = capture();
      return pane().alternate && !pane().cursor && text.includes('── handoff: stage lab now on beta') ? text : undefined;
    }, 20_000, 100);
  };
  const waitExit = async (code: number): Promise<string> =>
    waitFor(`watch to exit ${code} and give the terminal back`, () => {
      const text = capture();
      return !pane().alternate && text.includes(`watch-exit=${code}`) ? text : undefined;
    }, 10_000, 100);

  beforeAll(() => {
    command = `MESHRUN_CONFIG='${fleet.trust.paths.adminConfig}' MESHRUN_COORDINATOR='${fleet.coordinatorAddress}' '${process.execPath}' '${BIN}' watch --job ${LAB} --interval 300ms; echo "watch-exit=$?"`;
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', 'bash --norc --noprofile');
    type(`PS1='watch-test$ '; clear; echo shell-before-watch`);
  });
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    rmSync(`/tmp/tmux-${process.getuid?.() ?? 0}/${sock}`, { force: true });
  });

  it('draws the dashboard, follows the log across a coordinator restart, redraws on resize, and restores the terminal on Ctrl-C', async () => {
    await waitFor('the shell prompt', () => capture().includes('shell-before-watch'));
    let screen = await startWatch();
    const lines = screen.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^meshrun watch · coordinator ${fleet.coordinatorAddress.replace(/\./g, '\\.')} · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d · every 300ms · q or Ctrl-C quits`));
    expect(screen).toMatch(/^alpha\s+ready\s+role=bastion\s/m);
    expect(screen).toMatch(/^beta\s+ready\s+role=worker\s+2\/4\s/m);
    expect(screen).toMatch(new RegExp(`^▸\\s+${LAB}\\s+site-lab\\s+running\\s+lab\\s+beta\\s`, 'm'));
    // markers are drawn as full-width rules; nothing is wider than the terminal
    expect(screen).toMatch(/^── stage validate on alpha \(attempt 1\) · authoritative node: alpha ─+$/m);
    for (const l of lines) expect([...l].length).toBeLessThan(120);
    expect(screen).not.toContain('shell-before-watch'); // the shell's screen is hidden, not overwritten

    // the coordinator goes away: the dashboard says so and keeps trying; when it is back,
    // the log stream resumes where it was (new lines, nothing repeated)
    await fleet.coordinator.kill('SIGKILL');
    await waitFor('the dashboard to report the lost coordinator', () => capture().includes('! cannot reach the coordinator'), 10_000);
    fleet.coordinator.restart();
    writeFileSync(flag, '');
    screen = await waitFor('the log to resume after the restart', () => {
      const text = capture();
      return text.includes('after the flag on beta') && !text.includes('! cannot reach') ? text : undefined;
    }, 30_000);
    expect(screen.match(/lab started on beta/g)).toHaveLength(1);
    expect(screen.match(/── handoff: stage lab now on beta/g)).toHaveLength(1);

    tmux('resize-window', '-t', session, '-x', '72', '-y', '22');
    screen = await waitFor('a redraw at the new size', () => {
      const text = capture();
      return pane().width === 72 && text.includes('after the flag on beta') && text.split('\n').every((l) => [...l].length < 72) ? text : undefined;
    });
    expect(screen).toMatch(/^── handoff: stage lab now on beta/m);
    tmux('resize-window', '-t', session, '-x', '120', '-y', '40');

    tmux('send-keys', '-t', session, 'C-c');
    screen = await waitExit(0);
    const p = pane();
    expect(p).toMatchObject({ alternate: false, cursor: true, command: 'bash' });
    expect(screen).toContain('shell-before-watch'); // the shell's own screen is back
    expect(screen).not.toContain('NODES');
    expect(screen.trimEnd().split('\n').pop()).toBe('watch-test$');
  });

  it('SIGTERM also restores the terminal (and exits 143)', async () => {
    tmux('send-keys', '-t', session, 'clear', 'Enter');
    await startWatch();
    const shell = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
    const child = Number(execFileSync('ps', ['-o', 'pid=', '--ppid', String(shell)], { encoding: 'utf8' }).trim().split('\n')[0]);
    expect(child).toBeGreaterThan(1);
    process.kill(child, 'SIGTERM');
    await waitExit(143);
    expect(pane()).toMatchObject({ alternate: false, cursor: true, command: 'bash' });
    expect(runs).toBe(2);
  });
});

// ---------------------------------------------------------------------------------
// Pure parts.

const job = (over: Partial<JobMsg> = {}): JobMsg => ({
  id: 'j1',
  name: 'n',
  state: 'running',
  reason: '',
  stages: [],
  submittedAtMs: 1,
  startedAtMs: 2,
  endedAtMs: 0,
  authoritativeNode: '',
  handoffs: [],
  workspace: '',
  schedule: '',
  scheduleTickMs: 0,
  run: 1,
  runs: [],
  ...over,
});

describe('watch: pure parts', () => {
  it('cleanLine strips escape sequences and control characters, expands tabs, keeps what a carriage return drew last', () => {
    expect(cleanLine('\x1b[31mred\x1b[0m and \x1b]0;title\x07plain')).toBe('red and plain');
    expect(cleanLine('a\tb')).toBe('a       b');
    expect(cleanLine('10%\r50%\r100%\r')).toBe('100%');
    expect(cleanLine('bell\x07 and nul\x00 and \x9bcsi')).toBe('bell and nul and csi');
  });

  it('LogTail joins split lines and multibyte characters, marks interleaved stages, and is bounded', () => {
    const t = new LogTail(4);
    t.header('a', 1, 'alpha');
    t.data('a', 1, Buffer.from('one\ntw'));
    t.data('a', 1, Buffer.from([0x6f, 0xe2, 0x94]));
    t.data('a', 1, Buffer.from([0x80, 0x0a]));
    expect(t.tail(10).map((e) => (e.kind === 'line' ? e.text : e.kind))).toEqual(['stage', 'one', 'two─']);
    t.header('b', 1, 'beta');
    t.data('b', 1, Buffer.from('from b\n'));
    t.data('a', 1, Buffer.from('more a\npartial'));
    const shown = (n: number): string[] => t.tail(n).map((e) => (e.kind === 'line' ? e.text : e.kind === 'switch' ? `switch to ${e.stage}` : e.kind));
    expect(t.entries).toHaveLength(4); // stage a, one and two─ went out of the bounded buffer
    expect(shown(10)).toEqual(['stage', 'from b', 'switch to a', 'more a', 'partial']);
    expect(shown(3)).toEqual(['switch to a', 'more a', 'partial']);
    // the first line's marker scrolled out of view: it stays pinned as the first row
    expect(shown(2)).toEqual(['switch to a', 'partial']);
    expect(shown(4).slice(0, 2)).toEqual(['stage', 'switch to a']);
  });

  it('markers: first stage, handoff, same node, failover', () => {
    const t = new LogTail(100);
    t.header('validate', 1, 'alpha');
    t.header('lab', 1, 'beta');
    t.header('more', 1, 'beta');
    t.header('lab', 2, 'gamma');
    const marks = t.entries.map((e) => (e.kind === 'stage' ? markerText(e, job()) : ''));
    expect(marks).toEqual([
      '── stage validate on alpha (attempt 1) · authoritative node: alpha ──',
      '── handoff: stage lab now on beta (attempt 1), after validate on alpha · authoritative node: beta ──',
      '── stage more on beta (attempt 1) · authoritative node: beta ──',
      '── failover: stage lab now on gamma (attempt 2) · authoritative node: gamma ──',
    ]);
  });

  it('renderFrame fits a small terminal: tables give way, the log keeps rows, no line is wider than the screen', () => {
    const tail = new LogTail(100);
    tail.header('lab', 1, 'beta');
    for (let i = 0; i < 50; i++) tail.data('lab', 1, Buffer.from(`line ${i} ${'x'.repeat(100)}\n`));
    const nodes = Array.from({ length: 30 }, (_, i) => ({ name: `n${i}`, labels: {}, state: 'ready', lastSeenMs: 10, slots: 4, running: 0, standby: false, draining: false, capacity: null, allocatable: null, allocated: null }));
    const frame = renderFrame(
      { address: 'x:1', now: 10_000, nodes, jobs: [job()], selectedId: 'j1', selectedAuto: false, selectedJob: job(), tail, progress: () => undefined },
      { width: 60, height: 20, tailLines: 20, tty: true },
    );
    expect(frame).toHaveLength(20);
    for (const l of frame) expect([...l].length).toBeLessThan(60);
    expect(frame.some((l) => l.includes('more lines (enlarge the terminal)'))).toBe(true);
    const title = frame.findIndex((l) => l.startsWith('LOG job j1'));
    expect(frame[title + 1]).toMatch(/^── stage lab on beta \(attempt 1\)/); // pinned
    expect(frame[frame.length - 1]).toMatch(/^line 49 x+…$/);
  });
});
