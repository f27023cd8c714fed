// The agent holds its runs: never more than its slots whatever the bus says, and a stopped run
// takes everything it started with it — setsid children too — through the run's own cgroup.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupPids, detectCgroupSupport, killCgroup, removeCgroup } from '../lib/cgroup.js';
import { Subjects } from '../proto/subjects.js';
import { Fleet, pidAlive, waitFor } from './harness/processes.js';

const support = detectCgroupSupport('meshrun');
// CI runs as root on a machine like this one: the cgroup suite must run there, never skip
if (!support.ok && process.env.CI) throw new Error(`CI is set but runs cannot get cgroups here: ${support.why}`);
let fleet: Fleet;
let nc: NatsConnection | undefined;

beforeAll(async () => {
  fleet = await Fleet.start({ agents: [{ node: 'alpha', slots: 2 }] });
});

afterAll(async () => {
  await nc?.close().catch(() => undefined);
  const made = support.ok && fleet ? ourCgroups() : [];
  // destroy kills and removes the runs' cgroups (lib/run-reaper.ts); these are a last resort
  await fleet?.destroy();
  for (const dir of made) {
    killCgroup(dir);
    await waitFor(`${dir} removed`, () => removeCgroup(dir), 5000).catch(() => undefined);
  }
});

interface Meta {
  pid: number | null;
  pgid: number | null;
  cgroup: string | null;
  stopReason: string | null;
}
const meta = (job: string, stem = 'run.1'): Meta => JSON.parse(readFileSync(join(fleet.agentDir('alpha'), 'runs', job, `${stem}.json`), 'utf8')) as Meta;

/** The cgroups alpha's agent made (named for its instance), left or not. */
function ourCgroups(): string[] {
  if (!support.ok) return [];
  let instance: string;
  try {
    instance = (JSON.parse(readFileSync(join(fleet.agentDir('alpha'), 'agent.json'), 'utf8')) as { instance: string }).instance;
  } catch {
    return [];
  }
  const root = support.root;
  return readdirSync(root)
    .filter((n) => n.startsWith(`${instance}.`))
    .map((n) => join(root, n));
}

/** The session id of a live process (field 6 of /proc/PID/stat). */
function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

const pidFile = (name: string): string => join(fleet.dir, name);
const readPid = (name: string): number | undefined => (existsSync(pidFile(name)) ? Number(readFileSync(pidFile(name), 'utf8')) || undefined : undefined);

/**
 * A run whose shell starts a normal child and a setsid-escaped one that ignores SIGTERM (an
 * ignored signal is inherited through exec); each writes its pid to a file named after `tag`.
 */
function escapingRun(tag: string): string[] {
  const esc = pidFile(`${tag}.escaped.pid`);
  const child = pidFile(`${tag}.child.pid`);
  const escaped = `trap "" TERM; echo $$ > ${esc}; sleep 300; :`;
  return ['sh', '-c', `sleep 300 & echo $! > ${child}; setsid sh -c '${escaped}' & echo started; wait`];
}

describe.skipIf(!support.ok)('each run in its own cgroup', () => {
  it('the agent says at start that runs get cgroups', () => {
    expect(fleet.agent('alpha').log()).toMatch(/runs get a cgroup each/);
  });

  it('cancel kills every process the run started, setsid children included, and removes the cgroup', async () => {
    const sub = await fleet.cli(['submit', '--on', 'alpha', '--id', 'esc-cancel', '--', ...escapingRun('cancel')]);
    expect(sub.code, sub.stderr).toBe(0);
    await fleet.waitJob('esc-cancel', (j) => j.stages[0]!.state === 'running');
    const escaped = await waitFor('escaped pid', () => readPid('cancel.escaped.pid'));
    const child = await waitFor('child pid', () => readPid('cancel.child.pid'));
    // the wrapper records the pid once the process started; the process may get ahead of it
    const m = await waitFor('the start recorded', () => (meta('esc-cancel').pid !== null ? meta('esc-cancel') : undefined));
    expect(m.cgroup).toMatch(/\/meshrun\/[0-9a-f]+\.esc-cancel\.run\.1$/);
    const cg = m.cgroup!;
    // the escaped shell has left the run's session and process group, but not its cgroup
    expect(sessionOf(escaped)).toBe(escaped);
    expect(sessionOf(escaped)).not.toBe(m.pgid);
    const inside = await waitFor('all four processes in the cgroup', () => {
      const pids = cgroupPids(cg);
      return pids.length >= 4 ? pids : undefined;
    });
    expect(inside).toEqual(expect.arrayContaining([m.pid, child, escaped]));
    // the wrapper went back out: a killed cgroup never takes the one process that writes the rc
    const wrapper = (JSON.parse(readFileSync(join(fleet.agentDir('alpha'), 'runs', 'esc-cancel', 'run.1.json'), 'utf8')) as { wrapperPid: number }).wrapperPid;
    expect(inside).not.toContain(wrapper);

    const c = await fleet.cli(['cancel', 'esc-cancel']);
    expect(c.code, c.stderr).toBe(0);
    const j = await fleet.waitJob('esc-cancel', (x) => x.state === 'cancelled');
    expect(j.exitCode).toBe(130);
    await waitFor('every process of the run to die', () => inside.every((p) => !pidAlive(p)), 10_000);
    await waitFor('the run cgroup to be removed', () => !existsSync(cg), 10_000);
    expect(meta('esc-cancel').stopReason).toBe('cancelled');
    expect(existsSync(join(fleet.agentDir('alpha'), 'runs', 'esc-cancel', 'run.1.rc'))).toBe(true);
  });

  it('a timeout kills a setsid child that ignores SIGTERM', async () => {
    const sub = await fleet.cli(['submit', '--on', 'alpha', '--timeout', '1s', '--id', 'esc-timeout', '--', ...escapingRun('timeout')]);
    expect(sub.code, sub.stderr).toBe(0);
    const escaped = await waitFor('escaped pid', () => readPid('timeout.escaped.pid'));
    const cg = meta('esc-timeout').cgroup!;
    expect(cg).toBeTruthy();
    const j = await fleet.waitJob('esc-timeout', (x) => x.state === 'timeout');
    expect(j.exitCode).toBe(124);
    await waitFor('the escaped child to die', () => !pidAlive(escaped), 10_000);
    await waitFor('the run cgroup to be removed', () => !existsSync(cg), 10_000);
    expect(meta('esc-timeout').stopReason).toBe('timeout');
  });

  it('after kill -9 of the agent, the restarted agent adopts the run and a cancel still kills its whole cgroup', async () => {
    const sub = await fleet.cli(['submit', '--on', 'alpha', '--id', 'esc-adopt', '--', ...escapingRun('adopt')]);
    expect(sub.code, sub.stderr).toBe(0);
    await fleet.waitJob('esc-adopt', (j) => j.stages[0]!.state === 'running');
    const escaped = await waitFor('escaped pid', () => readPid('adopt.escaped.pid'));
    const cg = meta('esc-adopt').cgroup!;
    const inside = await waitFor('all four processes in the cgroup', () => {
      const pids = cgroupPids(cg);
      return pids.length >= 4 ? pids : undefined;
    });
    await fleet.agent('alpha').kill('SIGKILL');
    fleet.agent('alpha').restart();
    await waitFor('the run adopted', () => fleet.agent('alpha').log().split('\n').some((l) => l.includes('run adopted') && l.includes('esc-adopt')), 10_000);
    expect(pidAlive(escaped)).toBe(true);
    const c = await fleet.cli(['cancel', 'esc-adopt']);
    expect(c.code, c.stderr).toBe(0);
    await fleet.waitJob('esc-adopt', (x) => x.state === 'cancelled');
    await waitFor('every process of the run to die', () => inside.every((p) => !pidAlive(p)), 10_000);
    await waitFor('the run cgroup to be removed', () => !existsSync(cg), 10_000);
  });

  it('a run that ends by itself leaves no cgroup behind', async () => {
    const r = await fleet.cli(['submit', '--on', 'alpha', '--id', 'plain', '--follow', '--', 'sh', '-c', 'echo hi']);
    expect(r.code, r.stderr).toBe(0);
    const cg = meta('plain').cgroup!;
    expect(cg).toBeTruthy();
    await waitFor('the run cgroup to be removed', () => !existsSync(cg), 10_000);
  });
});

describe('slots hold on the agent', () => {
  it('10 start commands straight over the bus to a 2-slot agent: 2 run, 8 are refused naming the limit', async () => {
    const bus = await fleet.natsConnect();
    nc = bus;
    const token = (i: number) => ({ job: 'raw-slots', stage: `s${i}`, attempt: 1 });
    // The coordinator knows no such job and stops these runs as superseded after the next
    // heartbeat; ignoring SIGTERM, they hold their slots for the kill grace (1.5 s) after that.
    // The ten go out at once, in order on one connection: the agent decides each synchronously
    // as it reads it, all within one or two socket reads, far inside that grace. Sent one
    // after another, a loaded machine spread them over more than the grace and a third start
    // found a superseded run's slot free again (seen in CI).
    const argv = ['sh', '-c', 'trap "" TERM; sleep 300'];
    const replies = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const cmd = { type: 'start', token: token(i), jobName: 'raw', argv, env: {}, failover: 'reassign' };
      const r = await bus.request(Subjects.agentCommand('alpha'), JSON.stringify(cmd), { timeout: 5000 });
      return JSON.parse(r.string()) as { ok: boolean; error?: string };
    }));
    try {
      expect(replies.filter((r) => r.ok)).toHaveLength(2);
      const refused = replies.filter((r) => !r.ok);
      expect(refused).toHaveLength(8);
      for (const r of refused) expect(r.error).toMatch(/node alpha has no free slot \(2\/2 runs; --slots 2\)/);
      // a re-sent start of a run it holds is still answered as known, not refused
      const again = await nc.request(Subjects.agentCommand('alpha'), JSON.stringify({ type: 'start', token: token(0), jobName: 'raw', argv, env: {}, failover: 'reassign' }), { timeout: 5000 });
      expect(JSON.parse(again.string())).toMatchObject({ ok: true, known: true });
      // only the two accepted were ever launched (each launch writes its .json first)
      const dir = join(fleet.agentDir('alpha'), 'runs', 'raw-slots');
      await waitFor('two runs started', () => readdirSync(dir).filter((f) => f.endsWith('.pid')).length === 2);
      expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(['s0.1.json', 's1.1.json']);
    } finally {
      for (let i = 0; i < 10; i++) await nc.request(Subjects.agentCommand('alpha'), JSON.stringify({ type: 'stop', token: token(i), reason: 'cancelled' }), { timeout: 5000 }).catch(() => undefined);
    }
    const dir = join(fleet.agentDir('alpha'), 'runs', 'raw-slots');
    await waitFor('both runs ended', () => readdirSync(dir).filter((f) => f.endsWith('.rc')).length === 2, 15_000);
    if (support.ok) await waitFor('their cgroups removed', () => ourCgroups().length === 0, 10_000);
  });

  it('with its slots free again, the agent takes a start', async () => {
    const r = await fleet.cli(['submit', '--on', 'alpha', '--id', 'after-slots', '--follow', '--', 'true']);
    expect(r.code, r.stderr).toBe(0);
  });
});
