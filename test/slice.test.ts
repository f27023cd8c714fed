// The first vertical slice against real processes: nats-server, a coordinator, two
// agents and the CLI, all as child processes.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, pidAlive, runCli, waitFor } from './harness/processes.js';

let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.start({
    agents: [
      { node: 'alpha', labels: 'role=bastion,zone=a' },
      { node: 'beta', labels: 'role=worker,zone=a' },
    ],
  });
});

afterAll(async () => {
  await fleet?.destroy();
});

function jobFile(name: string, body: string): string {
  const p = join(fleet.dir, name);
  writeFileSync(p, body);
  return p;
}

describe('submit, run, logs, exit code', () => {
  it('runs a command, follows it and exits 0; logs replays the same bytes', async () => {
    const r = await fleet.cli(['submit', '--on', 'alpha', '--follow', '--', 'sh', '-c', 'echo out; echo err >&2; printf "no newline"']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('out\n');
    expect(r.stdout).toContain('err\n');
    expect(r.stdout.endsWith('no newline')).toBe(true);
    expect(r.stderr).toMatch(/==> stage run on alpha \(attempt 1\)/);
    const id = /job (\S+) submitted/.exec(r.stderr)![1]!;
    const logs = await fleet.cli(['logs', id]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe(r.stdout);
    const j = await fleet.job(id);
    expect(j).toMatchObject({ id, state: 'succeeded', exitCode: 0, stages: [{ name: 'run', state: 'succeeded', node: 'alpha', attempt: 1, exitCode: 0 }] });
  });

  it('a failing command gives its exit code to --follow and logs -f; the job records it', async () => {
    const r = await fleet.cli(['submit', '--on', 'beta', '--name', 'fails', '--follow', '--', 'sh', '-c', 'echo about to fail; exit 7']);
    expect(r.code).toBe(7);
    const id = /job (\S+) submitted/.exec(r.stderr)![1]!;
    const f = await fleet.cli(['logs', '-f', id]);
    expect(f.code).toBe(7);
    expect(f.stdout).toBe('about to fail\n');
    const j = await fleet.job(id);
    expect(j.state).toBe('failed');
    expect(j.exitCode).toBe(7);
    expect(j.stages[0]).toMatchObject({ state: 'failed', exitCode: 7, node: 'beta' });
  });

  it('submit without --follow prints the id at once; jobs --json lists it', async () => {
    const r = await fleet.cli(['submit', '--on', 'alpha', '--id', 'quick-1', '--', 'true']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('quick-1');
    await fleet.waitJob('quick-1', (j) => j.state === 'succeeded');
    const jobs = JSON.parse((await fleet.cli(['jobs', '--json'])).stdout) as { id: string; stages: unknown[] }[];
    const mine = jobs.find((j) => j.id === 'quick-1');
    expect(mine).toMatchObject({ id: 'quick-1', state: 'succeeded', exitCode: 0, stages: [{ name: 'run', state: 'succeeded', node: 'alpha', attempt: 1, exitCode: 0 }] });
  });

  it('jobs lists the newest by default and says when older ones exist; --limit 0 lists all; a bad --limit is refused', async () => {
    for (const id of ['page-1', 'page-2', 'page-3']) expect((await fleet.cli(['submit', '--on', 'alpha', '--id', id, '--', 'true'])).code).toBe(0);
    const two = await fleet.cli(['jobs', '--json', '--limit', '2']);
    expect(two.code, two.stderr).toBe(0);
    expect((JSON.parse(two.stdout) as { id: string }[]).map((j) => j.id)).toEqual(['page-2', 'page-3']);
    expect(two.stderr).toMatch(/the newest 2 jobs; there are older ones/);
    const all = await fleet.cli(['jobs', '--json', '--limit', '0']);
    const ids = (JSON.parse(all.stdout) as { id: string }[]).map((j) => j.id);
    expect(ids.slice(-3)).toEqual(['page-1', 'page-2', 'page-3']);
    expect(ids.length).toBeGreaterThan(3);
    expect(all.stderr).toBe('');
    const enough = await fleet.cli(['jobs', '--json', '--limit', String(ids.length)]);
    expect(enough.stderr, 'nothing older to mention').toBe('');
    const bad = await fleet.cli(['jobs', '--limit', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit -1: expected a whole number from 0/);
  });

  it('a missing program fails with 127 and says so in the log', async () => {
    const r = await fleet.cli(['submit', '--on', 'alpha', '--follow', '--', 'no-such-program-xyz']);
    expect(r.code).toBe(127);
    expect(r.stdout).toMatch(/cannot start "no-such-program-xyz"/);
  });

  it('a two-stage job file hands off between nodes and stops at the first failed stage', async () => {
    const p = jobFile(
      'two.yaml',
      `name: two
stages:
  - name: first
    on: { node: alpha }
    run: { command: [sh, -c, 'echo one on $MESHRUN_NODE'] }
  - name: second
    on: { labels: { role: worker } }
    env: { GREETING: hello }
    run: { command: [sh, -c, 'echo "$GREETING from $MESHRUN_NODE"; exit 3'] }
  - name: third
    on: { node: alpha }
    run: { command: ['true'] }
`,
    );
    const r = await fleet.cli(['submit', '--follow', p]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('one on alpha\nhello from beta\n');
    expect(r.stderr).toMatch(/stage first on alpha[\s\S]*stage second on beta/);
    const id = /job (\S+) submitted/.exec(r.stderr)![1]!;
    const j = await fleet.job(id);
    expect(j.stages.map((s) => [s.name, s.state, s.node])).toEqual([
      ['first', 'succeeded', 'alpha'],
      ['second', 'failed', 'beta'],
      ['third', 'skipped', null],
    ]);
  });

  it('resubmitting the same id returns the existing job and runs nothing twice', async () => {
    const marker = join(fleet.dir, 'idem-count');
    const args = ['submit', '--on', 'alpha', '--id', 'idem-1', '--', 'sh', '-c', `echo x >> ${marker}`];
    expect((await fleet.cli(args)).code).toBe(0);
    const again = await fleet.cli(args);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already exists/);
    await fleet.waitJob('idem-1', (j) => j.state === 'succeeded');
    await new Promise((r) => setTimeout(r, 500));
    expect(readFileSync(marker, 'utf8')).toBe('x\n');
  });
});

describe('placement', () => {
  it('places by labels (all must match) and by node name', async () => {
    const r = await fleet.cli(['submit', '--label', 'role=bastion', '--label', 'zone=a', '--follow', '--', 'sh', '-c', 'echo $MESHRUN_NODE']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('alpha\n');
    const r2 = await fleet.cli(['submit', '--label', 'role=worker', '--follow', '--', 'sh', '-c', 'echo $MESHRUN_NODE']);
    expect(r2.stdout).toBe('beta\n');
  });

  it('a stage that fits no node stays queued with a reason, then runs when a fitting agent joins', async () => {
    const r = await fleet.cli(['submit', '--label', 'role=gpu', '--id', 'gpu-1', '--', 'sh', '-c', 'echo on $MESHRUN_NODE']);
    expect(r.code).toBe(0);
    await new Promise((res) => setTimeout(res, 1000));
    const q = await fleet.job('gpu-1');
    expect(q.state).toBe('queued');
    expect(q.stages[0]!.state).toBe('queued');
    expect(q.stages[0]!.reason).toMatch(/no ready node with labels role=gpu/);
    const human = await fleet.cli(['job', 'gpu-1']);
    expect(human.stdout).toMatch(/no ready node with labels role=gpu/);
    await fleet.startAgent({ node: 'gamma', labels: 'role=gpu' });
    const done = await fleet.waitJob('gpu-1', (j) => j.state === 'succeeded');
    expect(done.stages[0]!.node).toBe('gamma');
    const out = await fleet.cli(['logs', 'gpu-1']);
    expect(out.stdout).toBe('on gamma\n');
  });

  it('nodes --json has the contract fields', async () => {
    const nodes = await fleet.nodes();
    const alpha = nodes.find((n) => n.name === 'alpha')!;
    expect(alpha).toMatchObject({ name: 'alpha', labels: { role: 'bastion', zone: 'a' }, state: 'ready' });
    expect(typeof alpha.lastSeenMs).toBe('number');
    expect(alpha.lastSeenMs).toBeLessThan(5000);
  });
});

describe('cancel', () => {
  it('kills the whole process group of a long run', async () => {
    const pidFile = join(fleet.dir, 'grandchild.pid');
    // the shell starts a background grandchild in the same process group, then waits
    const r = await fleet.cli(['submit', '--on', 'beta', '--id', 'long-1', '--', 'sh', '-c', `sleep 300 & echo $! > ${pidFile}; echo started; wait`]);
    expect(r.code).toBe(0);
    await fleet.waitJob('long-1', (j) => j.stages[0]!.state === 'running');
    const grandchild = await waitFor('grandchild pid', () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined));
    expect(pidAlive(grandchild)).toBe(true);
    const c = await fleet.cli(['cancel', 'long-1']);
    expect(c.code).toBe(0);
    const j = await fleet.waitJob('long-1', (x) => x.state === 'cancelled');
    expect(j.stages[0]!.state).toBe('cancelled');
    expect(j.exitCode).toBe(130);
    await waitFor('grandchild to die', () => !pidAlive(grandchild), 10_000);
    const f = await fleet.cli(['logs', '-f', 'long-1']);
    expect(f.code).toBe(130);
  });
});

describe('runner files', () => {
  it('pid, log, rc and json with the right contents and modes', async () => {
    const r = await fleet.cli(['submit', '--on', 'alpha', '--id', 'files-1', '--follow', '--', 'sh', '-c', 'echo hello files; exit 4']);
    expect(r.code).toBe(4);
    const dir = join(fleet.agentDir('alpha'), 'runs', 'files-1');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(fleet.agentDir('alpha'), 'runs')).mode & 0o777).toBe(0o700);
    const stem = join(dir, 'run.1');
    expect(readFileSync(`${stem}.log`, 'utf8')).toBe('hello files\n');
    expect(readFileSync(`${stem}.rc`, 'utf8').trim()).toBe('4');
    const pid = Number(readFileSync(`${stem}.pid`, 'utf8').trim());
    expect(pid).toBeGreaterThan(1);
    const meta = JSON.parse(readFileSync(`${stem}.json`, 'utf8'));
    expect(meta).toMatchObject({
      token: { job: 'files-1', stage: 'run', attempt: 1 },
      node: 'alpha',
      argv: ['sh', '-c', 'echo hello files; exit 4'],
      pid,
      exitCode: 4,
    });
    expect(meta.startedAt).toBeGreaterThan(0);
    expect(meta.endedAt).toBeGreaterThanOrEqual(meta.startedAt);
    expect(statSync(`${stem}.log`).mode & 0o077).toBe(0);
    expect(statSync(`${stem}.json`).mode & 0o077).toBe(0);
  });
});

describe('invalid input', () => {
  it('names the field of an invalid job file and exits 2', async () => {
    const p = jobFile('bad.yaml', `name: bad\nstages:\n  - name: a\n    on: { node: alpha }\n    run: { command: [ok] }\n  - name: b\n    on: { node: alpha }\n    run: { command: "echo not an array" }\n`);
    const r = await fleet.cli(['submit', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stages[1].run.command: expected an array of strings');
  });

  it('names unknown fields, both placements, and YAML syntax errors', async () => {
    const p = jobFile('bad2.yaml', `name: bad\nstages:\n  - name: a\n    on: { node: alpha, labels: { a: b } }\n    run: { command: [ok] }\n    colour: blue\n`);
    const r = await fleet.cli(['submit', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stages[0].on: give exactly one of "node" or "labels"');
    expect(r.stderr).toContain('stages[0]: unknown field "colour"');
    const y = await fleet.cli(['submit', jobFile('bad3.yaml', 'name: [unclosed\n')]);
    expect(y.code).toBe(2);
    expect(y.stderr).toMatch(/bad3\.yaml: not valid YAML/);
  });

  it('usage errors exit 2, unknown jobs 4, an unreachable coordinator 3 with one line', async () => {
    expect((await fleet.cli(['submit'])).code).toBe(2);
    expect((await fleet.cli(['frobnicate'])).code).toBe(2);
    const nf = await fleet.cli(['job', 'no-such-job']);
    expect(nf.code).toBe(4);
    expect(nf.stderr).toMatch(/no job no-such-job/);
    const un = await runCli(['jobs'], { env: { MESHRUN_COORDINATOR: '127.0.0.1:1' } });
    expect(un.code).toBe(3);
    expect(un.stderr.trim().split('\n')).toHaveLength(1);
    expect(un.stderr).toMatch(/cannot reach the coordinator at 127\.0\.0\.1:1/);
  });
});

