// One stage on many nodes against real processes: three agents with role=web (and one with
// role=db that must never be picked). The outcome follows failTolerance, maxParallel runs
// nodes one at a time (from the records' start and end times), too many failures stop the
// rest, cancel stops every node, `job` shows a per-node table, `logs` prefixes lines with
// the node and --node filters, `submit --label --all` builds the job, and an agent killed
// mid-run loses its share (never rerun elsewhere) while the stage follows its tolerance.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, waitFor } from './harness/processes.js';

const WEB = ['web1', 'web2', 'web3'];
let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.start({
    // a killed agent's runs fail over once it is down (5 s), not after the default 30 s grace
    coordinatorArgs: ['--restart-grace', '1s'],
    agents: [...WEB.map((node) => ({ node, labels: 'role=web', slots: 4 })), { node: 'db1', labels: 'role=db', slots: 4 }],
  });
});
afterAll(async () => {
  await fleet?.destroy();
});

interface NodeRow {
  node: string;
  state: string;
  attempt: number | null;
  exitCode: number | null;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  reason: string;
}
interface StageJson {
  name: string;
  state: string;
  reason: string;
  exitCode: number | null;
  nodes: NodeRow[] | null;
  attempts: { attempt: number; node: string; state: string; run: number }[];
}
interface Job {
  id: string;
  state: string;
  exitCode: number | null;
  reason: string;
  stages: StageJson[];
}

const job = async (id: string): Promise<Job> => (await fleet.job(id)) as unknown as Job;
const ended = (id: string, timeoutMs = 60_000): Promise<Job> => fleet.waitJob(id, (j) => !['queued', 'running'].includes(j.state), 'ended', timeoutMs) as unknown as Promise<Job>;

function jobFile(name: string, yaml: string): string {
  const p = join(fleet.dir, `${name}.yaml`);
  writeFileSync(p, yaml);
  return p;
}

async function submit(id: string, file: string): Promise<void> {
  const r = await fleet.cli(['submit', '--id', id, file]);
  expect(r.code, r.stderr).toBe(0);
}

/** A job whose fan-out stage echoes on every role=web node and exits `code` on `failing`; then a stage that needs it. */
function failingOn(name: string, failing: string, code: number, on: string): string {
  return jobFile(
    name,
    `name: ${name}
stages:
  - name: fan
    on: ${on}
    run: { command: [sh, -c, 'echo "hello from $MESHRUN_NODE"; echo "second line"; if [ "$MESHRUN_NODE" = ${failing} ]; then exit ${code}; fi'] }
  - name: after
    on: { labels: { role: db } }
    run: { command: [echo, after] }
`,
  );
}

const byNode = (s: StageJson): Record<string, NodeRow> => Object.fromEntries((s.nodes ?? []).map((n) => [n.node, n]));

describe('a stage on all nodes with the labels', () => {
  it('failTolerance 1: one node failing, the stage and the job succeed; every web node ran once, the db node never', async () => {
    await submit('fan-tol1', failingOn('fan-tol1', 'web2', 3, '{ labels: { role: web }, all: true, failTolerance: 1 }'));
    const j = await ended('fan-tol1');
    expect(j.state, j.reason).toBe('succeeded');
    expect(j.exitCode).toBe(0);
    const fan = j.stages[0]!;
    expect(fan.state).toBe('succeeded');
    expect(fan.reason).toBe('1 of 3 nodes did not succeed (web2 failed 3), within failTolerance 1');
    expect(fan.nodes!.map((n) => n.node)).toEqual(WEB);
    expect(byNode(fan)).toMatchObject({ web1: { state: 'succeeded', exitCode: 0 }, web2: { state: 'failed', exitCode: 3 }, web3: { state: 'succeeded', exitCode: 0 } });
    // one attempt per node, each placed on that node
    expect(fan.attempts.map((a) => a.node).sort()).toEqual(WEB);
    expect(j.stages[1]!.state).toBe('succeeded');
  });

  it('failTolerance 0: the same failure fails the stage and the job with the node\'s exit code; the next stage is skipped', async () => {
    await submit('fan-tol0', failingOn('fan-tol0', 'web2', 3, '{ labels: { role: web }, all: true }'));
    const j = await ended('fan-tol0');
    expect(j.state).toBe('failed');
    expect(j.exitCode).toBe(3);
    expect(j.reason).toBe('stage fan failed: 1 of 3 nodes did not succeed (web2 failed 3), over failTolerance 0');
    expect(j.stages[0]!.nodes!.map((n) => n.state)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(j.stages[1]!.state).toBe('skipped');
  });

  it('meshrun retry of a job whose fan-out failed runs the stage on all its nodes again (a new run), then what needs it', async () => {
    const fixed = join(fleet.dir, 'fan-retry.fixed');
    const id = 'fan-retry';
    await submit(
      id,
      jobFile(
        id,
        `name: ${id}
stages:
  - name: fan
    on: { labels: { role: web }, all: true }
    run: { command: [sh, -c, 'echo "run on $MESHRUN_NODE"; if [ "$MESHRUN_NODE" = web2 ] && [ ! -e ${fixed} ]; then exit 3; fi'] }
  - name: after
    on: { labels: { role: db } }
    run: { command: [echo, after] }
`,
      ),
    );
    const first = await ended(id);
    expect(first.state).toBe('failed');
    expect(first.stages[0]!.nodes!.map((n) => n.state)).toEqual(['succeeded', 'failed', 'succeeded']);
    writeFileSync(fixed, '');
    const r = await fleet.cli(['retry', id]);
    expect(r.code, r.stderr).toBe(0);
    const j = (await fleet.waitJob(id, (x) => x.state === 'succeeded', 'the new run succeeded', 60_000)) as unknown as Job;
    const fan = j.stages[0]!;
    // every node ran again in run 2 (not only web2), each once, attempts numbered on
    expect(fan.attempts.filter((a) => a.run === 2).map((a) => a.node).sort()).toEqual(WEB);
    expect(fan.attempts.filter((a) => a.run === 2).every((a) => a.attempt > 3)).toBe(true);
    expect(fan.nodes!.map((n) => [n.node, n.state])).toEqual(WEB.map((n) => [n, 'succeeded']));
    expect(fan.nodes!.every((n) => (n.attempt ?? 0) > 3)).toBe(true);
    expect(j.stages[1]!.state).toBe('succeeded');
    // a retry policy on a stage on all nodes is refused at submit, saying what to use instead
    const bad = await fleet.cli(['submit', jobFile('fan-retry-bad', 'name: fan-retry-bad\nstages:\n  - name: s\n    on: { labels: { role: web }, all: true }\n    run: { command: [\'true\'] }\n    retry: { attempts: 2 }\n')]);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('stages[0].retry: retry does not apply to a stage on all nodes (its nodes are not retried one by one): use failTolerance');
  });

  it('job shows a per-node table (node, state, rc, duration); --json carries the rows', async () => {
    const text = await fleet.cli(['job', 'fan-tol1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^fan\s+succeeded\s+3 nodes\s/m);
    expect(text.stdout).toContain('stage fan on 3 nodes:');
    expect(text.stdout).toMatch(/^ {2}NODE\s+STATE\s+EXIT\s+DURATION\s+REASON$/m);
    expect(text.stdout).toMatch(/^ {2}web1\s+succeeded\s+0\s+\d/m);
    expect(text.stdout).toMatch(/^ {2}web2\s+failed\s+3\s+\d\S*\s+exit code 3$/m);
    const json = await fleet.cli(['job', 'fan-tol1', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const j = JSON.parse(json.stdout) as Job;
    const rows = j.stages[0]!.nodes!;
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.startedAt).toBeGreaterThan(0);
      expect(r.durationMs).toBe(r.endedAt! - r.startedAt!);
    }
    // a stage on one node has no node rows
    expect(j.stages[1]!.nodes).toBeNull();
  });

  it('logs prefixes each line of the fan-out with its node; --node keeps one node', async () => {
    const all = await fleet.cli(['logs', 'fan-tol1']);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.split('\n').filter(Boolean);
    for (const n of WEB) {
      expect(lines).toContain(`[${n}] hello from ${n}`);
      expect(lines).toContain(`[${n}] second line`);
    }
    // the stage on one node is not prefixed
    expect(lines).toContain('after');
    expect(lines).toHaveLength(7);
    const one = await fleet.cli(['logs', 'fan-tol1', '--node', 'web2']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe('[web2] hello from web2\n[web2] second line\n');
    expect(one.stderr).toContain('==> stage fan on web2');
    expect(one.stderr).not.toContain('on web1');
    const json = await fleet.cli(['logs', 'fan-tol1', '--json', '--node', 'web3']);
    const events = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; node?: string; text?: string });
    expect(events.filter((e) => e.type === 'log').map((e) => [e.node, e.text])).toEqual([['web3', 'hello from web3\nsecond line\n']]);
    const bad = await fleet.cli(['logs', 'fan-tol1', '--node', '../x']);
    expect(bad.code).toBe(2);
  });

  it('maxParallel 1 runs the nodes one at a time (no overlap in the recorded start and end times)', async () => {
    await submit('fan-serial', jobFile('fan-serial', `name: fan-serial
stages:
  - name: fan
    on: { labels: { role: web }, all: true, maxParallel: 1 }
    run: { command: [sleep, '0.5'] }
`));
    const j = await ended('fan-serial');
    expect(j.state, j.reason).toBe('succeeded');
    const rows = [...j.stages[0]!.nodes!].sort((a, b) => a.startedAt! - b.startedAt!);
    expect(rows).toHaveLength(3);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.startedAt!, `${rows[i]!.node} started before ${rows[i - 1]!.node} ended`).toBeGreaterThanOrEqual(rows[i - 1]!.endedAt!);
  });

  it('once failures exceed the tolerance no further node starts: the rest are skipped', async () => {
    // target order is by name: web1 runs first and fails
    await submit('fan-stop', failingOn('fan-stop', 'web1', 5, '{ labels: { role: web }, all: true, maxParallel: 1 }'));
    const j = await ended('fan-stop');
    expect(j.state).toBe('failed');
    expect(j.exitCode).toBe(5);
    const fan = j.stages[0]!;
    expect(fan.nodes!.map((n) => [n.node, n.state, n.attempt])).toEqual([
      ['web1', 'failed', 1],
      ['web2', 'skipped', null],
      ['web3', 'skipped', null],
    ]);
    expect(fan.attempts).toHaveLength(1);
    expect(fan.reason).toBe('1 of 3 nodes did not succeed (web1 failed 5), over failTolerance 0; 2 not started (skipped)');
  });

  it('cancel stops every running node; the nodes not started yet are cancelled', async () => {
    await submit('fan-cancel', jobFile('fan-cancel', `name: fan-cancel
stages:
  - name: fan
    on: { labels: { role: web }, all: true, maxParallel: 2 }
    run: { command: [sleep, '60'] }
`));
    await fleet.waitJob('fan-cancel', (j) => j.stages[0]!.attempts.filter((a) => a.state === 'running').length === 2);
    const c = await fleet.cli(['cancel', 'fan-cancel']);
    expect(c.code, c.stderr).toBe(0);
    const j = await ended('fan-cancel');
    expect(j.state).toBe('cancelled');
    expect(j.exitCode).toBe(130);
    expect(j.stages[0]!.state).toBe('cancelled');
    expect(j.stages[0]!.nodes!.map((n) => n.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(j.stages[0]!.attempts.map((a) => a.state)).toEqual(['cancelled', 'cancelled']);
  });

  it('submit --label role=web --all -- CMD builds a one-stage job on every web node', async () => {
    const r = await fleet.cli(['submit', '--label', 'role=web', '--all', '--max-parallel', '2', '--fail-tolerance', '34%', '--id', 'fan-cli', '--', 'sh', '-c', 'test "$MESHRUN_NODE" != web3']);
    expect(r.code, r.stderr).toBe(0);
    const j = await ended('fan-cli');
    // 34% of 3 nodes is 1 (rounded down): web3's failure is tolerated
    expect(j.state, j.reason).toBe('succeeded');
    expect(j.stages).toHaveLength(1);
    expect(j.stages[0]!.nodes!.map((n) => [n.node, n.state])).toEqual([
      ['web1', 'succeeded'],
      ['web2', 'succeeded'],
      ['web3', 'failed'],
    ]);
    const f = await fleet.cli(['submit', '--label', 'role=web', '--all', '--id', 'fan-cli-f', '-f', '--', 'echo', 'hi']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout.split('\n').filter(Boolean).sort()).toEqual(['[web1] hi', '[web2] hi', '[web3] hi']);
  });

  it('no node with the labels: the stage fails at once, naming them', async () => {
    const r = await fleet.cli(['submit', '--label', 'role=nothing', '--all', '--id', 'fan-none', '--', 'true']);
    expect(r.code, r.stderr).toBe(0);
    const j = await ended('fan-none');
    expect(j.state).toBe('failed');
    expect(j.reason).toBe('stage run failed: no ready node with labels role=nothing to run on (all: true)');
  });

  it('bad fan-out options are refused with what is wrong', async () => {
    const usage = async (args: string[], message: string): Promise<void> => {
      const r = await fleet.cli(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
    };
    await usage(['submit', '--on', 'web1', '--all', '--', 'true'], '--all runs on every node with the labels: give --label k=v, not --on');
    await usage(['submit', '--label', 'role=web', '--max-parallel', '2', '--', 'true'], '--max-parallel goes with --all');
    await usage(['submit', '--label', 'role=web', '--all', '--max-parallel', '0', '--', 'true'], '--max-parallel 0: expected a whole number of nodes, 1 or more');
    await usage(['submit', '--label', 'role=web', '--all', '--fail-tolerance', 'some', '--', 'true'], '--fail-tolerance some: expected a whole number of nodes or a percentage');
    await usage(['submit', '--label', 'role=web', '--all', '--fail-tolerance', '150%', '--', 'true'], 'stages[0].on.failTolerance: a percentage is 0% to 100%');
    const file = (name: string, on: string, extra = ''): string => jobFile(name, `name: ${name}\nstages:\n  - name: s\n    on: ${on}\n    run: { command: ['true'] }\n${extra}`);
    await usage(['submit', file('bad-node', '{ node: web1, all: true }')], 'stages[0].on.all: all: true runs on every node with the labels: give "labels", not "node"');
    await usage(['submit', file('bad-tol', '{ labels: { role: web }, failTolerance: 1 }')], 'stages[0].on.failTolerance: failTolerance belongs to a stage on all nodes: add "all: true"');
    await usage(['submit', file('bad-par', '{ labels: { role: web }, all: true, maxParallel: 1.5 }')], 'stages[0].on.maxParallel: expected a whole number of nodes, 1 or more');
    await usage(['submit', file('bad-wait', '{ labels: { role: web }, all: true }', '    failover: { wait: 30s }\n')], 'stages[0].failover: failover: {wait} does not apply to a stage on all nodes');
  });

  it('an agent killed mid-run loses its node\'s share (not rerun elsewhere); the stage follows its tolerance', async () => {
    const gate = join(fleet.dir, 'kill-gate');
    // web3 holds until the gate opens; the others finish at once
    const cmd = `[sh, -c, 'if [ "$MESHRUN_NODE" = web3 ]; then while [ ! -e ${gate} ]; do sleep 0.1; done; fi; echo done']`;
    for (const [id, tol] of [['fan-kill-1', 1], ['fan-kill-0', 0]] as const) {
      await submit(id, jobFile(id, `name: ${id}\nstages:\n  - name: fan\n    on: { labels: { role: web }, all: true, failTolerance: ${tol} }\n    run: { command: ${cmd} }\n`));
    }
    for (const id of ['fan-kill-1', 'fan-kill-0']) {
      await fleet.waitJob(id, (j) => {
        const s = j.stages[0]! as unknown as StageJson;
        return byNode(s).web3?.state === 'running' && byNode(s).web1?.state === 'succeeded' && byNode(s).web2?.state === 'succeeded';
      });
    }
    await fleet.agent('web3').kill('SIGKILL');
    const tolerant = await ended('fan-kill-1');
    const strict = await ended('fan-kill-0');
    expect(tolerant.state, tolerant.reason).toBe('succeeded');
    expect(strict.state).toBe('failed');
    expect(strict.reason).toMatch(/^stage fan failed: 1 of 3 nodes did not succeed \(web3 lost\), over failTolerance 0$/);
    for (const j of [tolerant, strict]) {
      const fan = j.stages[0]!;
      expect(byNode(fan).web3).toMatchObject({ state: 'lost', exitCode: null });
      // one attempt per node: the lost share was not placed anywhere else
      expect(fan.attempts.map((a) => `${a.node}:${a.state}`).sort()).toEqual(['web1:succeeded', 'web2:succeeded', 'web3:lost']);
    }
    // the agent comes back and its runs end (the gate opens): a late exit 0 does not turn a lost share into a success
    fleet.agent('web3').restart();
    await fleet.waitNodesReady(['web3'], 30_000);
    writeFileSync(gate, '');
    const runDir = join(fleet.agentDir('web3'), 'runs', 'fan-kill-1');
    await waitFor('the superseded run on web3 to end', () => !existsSync(runDir) || readdirSync(runDir).some((f) => f.endsWith('.rc')), 30_000);
    const after = await job('fan-kill-1');
    expect(byNode(after.stages[0]!).web3!.state).toBe('lost');
    expect(after.state).toBe('succeeded');
  });
});
