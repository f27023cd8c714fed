// The agent's launcher shell and its wrapper (agent/runner/sh-launcher.ts, sh-wrapper.ts) as real
// processes: the words of a line reach the run unexpanded, whatever they hold; a run gets its own
// session and process group, its output in the log, its pid and start in .pid/.start, and its rc
// (127 for a command that cannot start, 128+n for a signal) renamed into place last; the files it
// was told to remove are gone. The start-facts parser is pure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShLauncher, type LaunchNotice } from '../agent/runner/sh-launcher.js';
import { launchLine, parseStartFacts, shWord } from '../agent/runner/sh-wrapper.js';
import { silentLogger } from '../lib/log.js';
import { waitFor } from './harness/processes.js';

const HOSTILE = ["it's", '$(touch /tmp/meshrun-pwned)', '`id`', 'a\nb', '"q"', '\\', '*', ' lead', 'trail ', '', '--', '-e', "'", '$HOME ${x:-y} $1'];

describe('launch lines', () => {
  it('every word reaches the shell as it was: nothing expanded, split or globbed', () => {
    const words = HOSTILE.map((w) => shWord(w)!);
    // the launcher's own evaluation: nl set, the line eval'd, each word printed NUL-terminated
    const script = `nl='\n'; p() { for a; do printf '%s\\0' "$a"; done; }; IFS= read -r line; eval "p $line"`;
    const r = spawnSync('/bin/sh', ['-c', script], { input: `${words.join(' ')}\n`, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(HOSTILE);
    expect(existsSync('/tmp/meshrun-pwned')).toBe(false);
  });

  it('a value that cannot be passed (NUL, a bad variable name) makes no line', () => {
    const base = { dir: '/d', stem: 's', cwd: '/w', cgroup: null, removeOnExit: [], argv: ['true'] };
    expect(launchLine({ ...base, env: { OK: 'x' } })).toMatch(/^w '\/d' 's' '\/w' '' 'OK=x' -- -- 'true' &\n$/);
    expect(launchLine({ ...base, env: { 'BAD-NAME': 'x' } })).toBeUndefined();
    expect(launchLine({ ...base, env: {}, argv: ['a\0b'] })).toBeUndefined();
  });

  it('start facts are read only whole', () => {
    expect(parseStartFacts('123 456 789 1011\n')).toEqual({ pid: 123, startTicks: 456, wrapperPid: 789, wrapperStartTicks: 1011 });
    expect(parseStartFacts('123 null 789 null\n')).toEqual({ pid: 123, startTicks: null, wrapperPid: 789, wrapperStartTicks: null });
    expect(parseStartFacts('123 456 789 1011')).toBeUndefined();
    expect(parseStartFacts('1 456 789 1011\n')).toBeUndefined();
    expect(parseStartFacts('')).toBeUndefined();
  });
});

// /bin/sh, setsid and rm: .ci/run installs util-linux; with CI set a missing one is a failure, not a skip
if (!ShLauncher.usable() && process.env.CI) throw new Error('CI is set but the launcher shell cannot run here: /bin/sh, setsid or rm is missing');

describe.skipIf(!ShLauncher.usable())('the launcher shell', () => {
  let dir: string;
  let launcher: ShLauncher;
  const notices: LaunchNotice[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-launcher-'));
    notices.length = 0;
    launcher = new ShLauncher({ env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: dir, log: silentLogger, onNotice: (n) => notices.push(n) });
  });
  afterEach(() => {
    launcher.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function run(stem: string, argv: string[], o: { env?: Record<string, string>; removeOnExit?: string[]; cwd?: string } = {}): void {
    expect(launcher.launch({ dir, stem, cwd: o.cwd ?? dir, cgroup: null, env: o.env ?? {}, removeOnExit: o.removeOnExit ?? [], argv })).toBe(true);
  }
  // whole only with its newline (one write of the line in place)
  const rcOf = (stem: string): Promise<string> => waitFor(`${stem}.rc`, () => {
    const p = join(dir, `${stem}.rc`);
    const line = existsSync(p) ? readFileSync(p, 'utf8') : '';
    return line.endsWith('\n') ? line : undefined;
  }, 10_000);

  it('runs the argv in its own session with its env, output in the log, pid and start recorded, rc last', async () => {
    const gone = join(dir, 'vars.json');
    writeFileSync(gone, '{}');
    // the process reports its own session, process group and pid
    run('a', ['sh', '-c', 'echo "$GREETING"; echo "$(cut -d" " -f6 /proc/$$/stat) $(cut -d" " -f5 /proc/$$/stat) $$"; echo err >&2; exit 3'], { env: { GREETING: "it's $HOME" }, removeOnExit: [gone] });
    expect(await rcOf('a')).toBe('3\n');
    const [greeting, ids, err] = readFileSync(join(dir, 'a.log'), 'utf8').split('\n');
    expect(greeting).toBe("it's $HOME");
    expect(err).toBe('err');
    const [sid, pgid, pid] = ids!.split(' ').map(Number);
    expect(sid).toBe(pid);
    expect(pgid).toBe(pid);
    expect(readFileSync(join(dir, 'a.pid'), 'utf8')).toBe(`${pid}\n`);
    const facts = parseStartFacts(readFileSync(join(dir, 'a.start'), 'utf8'))!;
    expect(facts.pid).toBe(pid);
    expect(facts.wrapperPid).not.toBe(pid);
    expect(facts.startTicks).toBeGreaterThan(0);
    expect(existsSync(gone)).toBe(false);
    await waitFor('the end notice', () => notices.some((n) => n.kind === 'ended' && n.stem === `${dir}/a`) || undefined, 5000);
    expect(notices.find((n) => n.stem === `${dir}/a`)?.kind).toBe('started');
  });

  it('127 for a command that cannot start, 128+n for a signal', async () => {
    run('missing', ['no-such-command-here']);
    run('nodir', ['true'], { cwd: join(dir, 'absent') });
    run('killed', ['sh', '-c', 'kill -TERM $$']);
    expect(await rcOf('missing')).toBe('127\n');
    expect(await rcOf('nodir')).toBe('127\n');
    expect(await rcOf('killed')).toBe('143\n');
    expect(readFileSync(join(dir, 'missing.log'), 'utf8')).toMatch(/cannot start "no-such-command-here": not found/);
  });

  it('the run outlives the launcher: closed mid-run, the wrapper still writes the rc', async () => {
    run('long', ['sh', '-c', 'sleep 0.5; exit 4']);
    await waitFor('the start', () => (existsSync(join(dir, 'long.start')) ? true : undefined), 10_000);
    launcher.close();
    expect(await rcOf('long')).toBe('4\n');
  });
});
