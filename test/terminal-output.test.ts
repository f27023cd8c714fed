// Terminal escapes from a job against a real fleet: a job named with an escape sequence is
// shown escaped by `jobs`, `job` and `watch --once` (exact in --json); a job that prints
// title-setting and screen-clearing sequences gets its exact bytes through `logs` to a pipe,
// and escaped ones on a real terminal (a pty from util-linux `script`) unless --raw.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from './fleet/netns.js';
import { BIN, Fleet, type JobJson } from './harness/processes.js';

let fleet: Fleet;
const pty = requireTools(['script']);
const NAMED = 'evil-name';
const PRINTS = 'evil-log';
const NAME = 'evil\x1b[31mred\x1b]0;pwned\x07';
const NAME_SHOWN = 'evil\\x1b[31mred\\x1b]0;pwned\\x07';
/** What the job writes: an OSC title, a clear screen, a C1 CSI (as UTF-8), DEL, a tab, multi-byte text. */
const LOG = '\x1b]0;pwned\x07\x1b[2J done é 日本\t\u009b2J\x7f end\n';
const LOG_SHOWN = '\\x1b]0;pwned\\x07\\x1b[2J done é 日本\t\\x9b2J\\x7f end';

const env = (): Record<string, string> => ({ MESHRUN_COORDINATOR: fleet.coordinatorAddress, MESHRUN_CONFIG: fleet.trust.paths.adminConfig });

/** Runs argv with stdout a pipe, keeping the bytes exactly (runCli decodes chunk by chunk). */
function run(argv: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => out.push(b));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('close', (code) => {
      clearTimeout(t);
      res({ code: code ?? 128, stdout: Buffer.concat(out), stderr });
    });
  });
}

const cli = (...args: string[]): ReturnType<typeof run> => run([process.execPath, BIN, ...args]);
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** The CLI on a pseudo-terminal: stdout and stderr are a TTY, as in an interactive shell. */
const onTty = (...args: string[]): ReturnType<typeof run> => run(['script', '-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null']);

beforeAll(async () => {
  fleet = await Fleet.start({ agents: [{ node: 'alpha' }] });
  const named = await cli('submit', '--on', 'alpha', '--id', NAMED, '--name', NAME, '--', 'true');
  expect(named.code, named.stderr).toBe(0);
  const prints = await cli('submit', '--on', 'alpha', '--id', PRINTS, '--', 'printf', '%s', LOG);
  expect(prints.code, prints.stderr).toBe(0);
  for (const id of [NAMED, PRINTS]) await fleet.waitJob(id, (j) => j.state === 'succeeded', 'succeeded');
});

afterAll(async () => {
  await fleet?.destroy();
});

/** A control character a terminal would act on (newline and the pty's CR-LF aside). */
const RAW_CONTROL = /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]/;

describe('names with escapes', () => {
  it('jobs, job and watch --once show the name escaped; --json keeps it exact', async () => {
    for (const args of [['jobs'], ['job', NAMED], ['watch', '--once', '--job', NAMED]]) {
      const r = await cli(...args);
      expect(r.code, r.stderr).toBe(0);
      const text = r.stdout.toString('utf8');
      expect(text, args.join(' ')).toContain(NAME_SHOWN);
      expect(RAW_CONTROL.test(text.replace(/\t/g, ' ')), `${args.join(' ')}: ${JSON.stringify(text)}`).toBe(false);
    }
    const json = await cli('jobs', '--json');
    const jobs = JSON.parse(json.stdout.toString('utf8')) as JobJson[];
    expect(jobs.find((j) => j.id === NAMED)?.name).toBe(NAME);
  });

  it.skipIf(!pty.ok)('on a terminal too', async () => {
    const r = await onTty('jobs');
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout.toString('utf8');
    expect(text).toContain(NAME_SHOWN);
    expect(text).not.toContain('\x1b');
  });
});

describe('logs', () => {
  it('to a pipe: the exact bytes, with and without -f', async () => {
    for (const args of [['logs', PRINTS], ['logs', '-f', PRINTS], ['logs', '--raw', PRINTS]]) {
      const r = await cli(...args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.equals(Buffer.from(LOG, 'utf8')), `${args.join(' ')}: ${JSON.stringify(r.stdout.toString('utf8'))}`).toBe(true);
    }
  });

  it.skipIf(!pty.ok)('on a terminal: control characters shown, not obeyed; multi-byte text, tabs and newlines kept', async () => {
    for (const args of [['logs', PRINTS], ['logs', '-f', PRINTS]]) {
      const r = await onTty(...args);
      expect(r.code, r.stderr).toBe(0);
      const text = r.stdout.toString('utf8');
      expect(text, args.join(' ')).toContain(`${LOG_SHOWN}\r\n`); // the pty turns \n into \r\n
      expect(text).not.toContain('\x1b');
      expect(RAW_CONTROL.test(text.replace(/\t/g, ' ')), JSON.stringify(text)).toBe(false);
      expect(text).toContain(`==> stage run on alpha (attempt 1)`);
    }
  });

  it.skipIf(!pty.ok)('on a terminal with --raw: the bytes as the job wrote them', async () => {
    const r = await onTty('logs', '--raw', PRINTS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString('utf8')).toContain(LOG.replace('\n', '\r\n'));
  });

  it("watch's log tail never prints them, whatever the output", async () => {
    const r = await cli('watch', '--once', '--job', PRINTS);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout.toString('utf8');
    expect(text).toContain('done é 日本');
    expect(RAW_CONTROL.test(text.replace(/\t/g, ' ')), JSON.stringify(text)).toBe(false);
  });
});

