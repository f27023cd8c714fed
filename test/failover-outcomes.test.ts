// Typed outcomes against real processes: a stage that runs past its timeout ends as
// `timeout` (job and stage, exit code 124 for `logs -f`) and its whole process group is
// gone - also when the process ignores SIGTERM and has to be killed after the grace; a
// non-zero exit is `failed` with that code; a cancel is `cancelled` (130).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from './harness/invariants.js';
import { Fleet, waitFor } from './harness/processes.js';

function groupAlive(pgid: number): boolean {
  // kill(-0) would ask about this test's own group, kill(-1) about every process
  if (!Number.isInteger(pgid) || pgid <= 1) throw new Error(`not a run's process group: ${pgid}`);
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

interface RunMeta {
  pid: number;
  pgid: number;
  startedAt: number;
  endedAt: number | null;
  stopReason: string | null;
}

describe('typed outcomes', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', slots: 4 }] });
  });
  afterAll(async () => {
    await fleet?.destroy();
  });

  const meta = (id: string): RunMeta => JSON.parse(readFileSync(join(fleet.agentDir('alpha'), 'runs', id, 'run.1.json'), 'utf8')) as RunMeta;
  const rawJob = async (id: string): Promise<{ state: string; exitCode: number | null; stages: { state: string; reason: string; attempts: { node: string; state: string; outcome: string; exitCode: number | null }[] }[] }> => {
    const r = await fleet.cli(['job', id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  it('timeout: 1s on `sleep 30` -> stage and job timeout, logs -f exits 124, the process group is gone', async () => {
    const sub = await fleet.cli(['submit', '--on', 'alpha', '--timeout', '1s', '--id', 'to-1', '--', 'sleep', '30']);
    expect(sub.code, sub.stderr).toBe(0);
    const t0 = Date.now();
    const f = await fleet.cli(['logs', '-f', 'to-1'], { timeoutMs: 30_000 });
    const followedMs = Date.now() - t0;
    expect(f.code, f.stderr).toBe(124);
    expect(f.stderr).toMatch(/job to-1 timeout/);
    expect(followedMs, 'ended by the timeout, not by sleep 30').toBeLessThan(20_000);
    const j = await rawJob('to-1');
    expect(j.state).toBe('timeout');
    expect(j.exitCode).toBe(124);
    expect(j.stages[0]!.state).toBe('timeout');
    expect(j.stages[0]!.reason).toMatch(/timed out after 1000ms/);
    expect(j.stages[0]!.attempts).toMatchObject([{ node: 'alpha', state: 'timeout', outcome: 'timeout' }]);
    const m = meta('to-1');
    expect(m.stopReason).toBe('timeout');
    expect(m.endedAt! - m.startedAt).toBeGreaterThanOrEqual(900);
    expect(m.endedAt! - m.startedAt, 'ended by the timeout, not by sleep 30').toBeLessThan(20_000);
    expect(groupAlive(m.pgid), `process group ${m.pgid} still alive`).toBe(false);
    expect(existsSync(join(fleet.agentDir('alpha'), 'runs', 'to-1', 'run.1.rc'))).toBe(true);
    await checkInvariants(fleet, 'to-1');
  });

  it('timeout of a process that ignores SIGTERM and has a child: SIGKILL after the grace takes the whole group', async () => {
    // sh and its background sleep both ignore SIGTERM (an ignored signal is inherited)
    const sub = await fleet.cli(['submit', '--on', 'alpha', '--timeout', '1s', '--id', 'to-2', '--', 'sh', '-c', 'trap "" TERM; echo begin; sleep 30 & wait; echo never']);
    expect(sub.code, sub.stderr).toBe(0);
    const f = await fleet.cli(['logs', '-f', 'to-2'], { timeoutMs: 30_000 });
    expect(f.code, f.stderr).toBe(124);
    expect(f.stdout).toBe('begin\n');
    const j = await rawJob('to-2');
    expect(j.state).toBe('timeout');
    expect(j.stages[0]!.state).toBe('timeout');
    const m = meta('to-2');
    expect(m.stopReason).toBe('timeout');
    // 1 s timeout + 1.5 s default kill grace: the SIGTERM alone did not end it
    expect(m.endedAt! - m.startedAt).toBeGreaterThanOrEqual(2200);
    expect(m.endedAt! - m.startedAt, 'ended by the timeout, not by sleep 30').toBeLessThan(20_000);
    await waitFor(`process group ${m.pgid} gone`, () => !groupAlive(m.pgid), 3000);
    await checkInvariants(fleet, 'to-2');
  });

  it('the timeout still holds when the agent is killed and restarted during the run (re-adopted with its deadline)', async () => {
    await fleet.cli(['submit', '--on', 'alpha', '--timeout', '3s', '--id', 'to-3', '--', 'sleep', '30']);
    await fleet.waitJob('to-3', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    await fleet.agent('alpha').kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    fleet.agent('alpha').restart();
    const f = await fleet.cli(['logs', '-f', 'to-3'], { timeoutMs: 30_000 });
    expect(f.code, f.stderr).toBe(124);
    const j = await rawJob('to-3');
    expect(j.state).toBe('timeout');
    expect(j.stages[0]!.attempts).toHaveLength(1);
    const m = meta('to-3');
    expect(m.stopReason).toBe('timeout');
    expect(m.endedAt! - m.startedAt).toBeGreaterThanOrEqual(2900);
    expect(m.endedAt! - m.startedAt, 'ended by the timeout, not by sleep 30').toBeLessThan(20_000);
    expect(groupAlive(m.pgid)).toBe(false);
    await checkInvariants(fleet, 'to-3');
  });

  it('a non-zero exit is failed with its code; logs -f exits with it', async () => {
    await fleet.cli(['submit', '--on', 'alpha', '--id', 'fail-1', '--', 'sh', '-c', 'echo oops; exit 7']);
    const f = await fleet.cli(['logs', '-f', 'fail-1']);
    expect(f.code).toBe(7);
    expect(f.stdout).toBe('oops\n');
    const j = await rawJob('fail-1');
    expect(j.state).toBe('failed');
    expect(j.exitCode).toBe(7);
    expect(j.stages[0]!.state).toBe('failed');
    expect(j.stages[0]!.attempts).toMatchObject([{ state: 'failed', outcome: 'failed', exitCode: 7 }]);
    await checkInvariants(fleet, 'fail-1');
  });

  it('cancel of a running job is cancelled (130) and its process group is gone', async () => {
    await fleet.cli(['submit', '--on', 'alpha', '--id', 'cancel-1', '--', 'sleep', '30']);
    await fleet.waitJob('cancel-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    const follower = fleet.cli(['logs', '-f', 'cancel-1'], { timeoutMs: 30_000 });
    const c = await fleet.cli(['cancel', 'cancel-1']);
    expect(c.code, c.stderr).toBe(0);
    const f = await follower;
    expect(f.code).toBe(130);
    const j = await rawJob('cancel-1');
    expect(j.state).toBe('cancelled');
    expect(j.stages[0]!.state).toBe('cancelled');
    expect(j.stages[0]!.attempts).toMatchObject([{ state: 'cancelled', outcome: 'cancelled' }]);
    const m = meta('cancel-1');
    expect(m.stopReason).toBe('cancelled');
    await waitFor(`process group ${m.pgid} gone`, () => !groupAlive(m.pgid), 3000);
    await checkInvariants(fleet, 'cancel-1');
  });
});
