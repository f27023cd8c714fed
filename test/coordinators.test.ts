// Several coordinators on one bus, on real processes: one leads (a lease in JetStream KV), the
// others wait as standbys whose gRPC port only says where the leader is; when the leader dies a standby takes over after
// the lease, and the fleet does not notice - no node marked down, no run restarted. A leader
// paused past its lease acts on nothing when it resumes, finds its lease taken and exits.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { rawCall } from './harness/raw-grpc.js';
import { Fleet, waitFor, type Daemon } from './harness/processes.js';

const LEASE = '1.5s'; // the default, spelled out: agents' leases (3 s) outlast a takeover from it
let fleet: Fleet | undefined;

afterEach(async () => {
  await fleet?.destroy();
  fleet = undefined;
});

async function twoCoordinators(): Promise<{ f: Fleet; a: Daemon; standby: { daemon: Daemon; address: string } }> {
  fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'role=w' }, { node: 'beta', labels: 'role=w' }], coordinatorArgs: ['--leader-lease', LEASE] });
  const f = fleet;
  const a = f.coordinator;
  const standby = await f.spawnCoordinator('coordinator-b');
  await waitFor('the second coordinator to wait as a standby', () => /standby: another coordinator leads/.test(standby.daemon.log()));
  return { f, a, standby };
}

describe('several coordinators', () => {
  it('the leader is killed mid-run: the standby takes over, the run finishes once, no node goes down', async () => {
    const { f, a, standby } = await twoCoordinators();
    expect(standby.daemon.log()).not.toMatch(/coordinator listening/);
    // a client given the standby's address alone is told where the leader is, and serves nothing
    const asked = await f.cli(['nodes'], { env: { MESHRUN_COORDINATOR: standby.address } });
    expect(asked.code).toBe(3);
    expect(asked.stderr).toContain(`this coordinator is a standby; the leader listens at ${f.coordinatorAddress}`);
    expect(asked.stdout).toBe('');
    // without a certificate of this fleet: refused, and told nothing about the leader
    const anon = await rawCall(standby.address, grpc.credentials.createSsl(readFileSync(f.trust.paths.caCert)), 'ListNodes', {});
    expect(anon.code).toBe(grpc.status.UNAVAILABLE);
    expect(anon.details).not.toContain(f.coordinatorAddress);
    // the client is given both addresses: it talks to whichever listens, the leader
    const both = { env: { MESHRUN_COORDINATOR: `${f.coordinatorAddress},${standby.address}` }, timeoutMs: 60_000 };
    const r = await f.cli(['submit', '--label', 'role=w', '--id', 'long', '--', 'sh', '-c', 'for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 1; done'], both);
    expect(r.code, r.stderr).toBe(0);
    await f.waitJob('long', (j) => j.stages[0]!.state === 'running');
    const following = f.cli(['logs', '-f', 'long'], both);
    await new Promise((res) => setTimeout(res, 1500));
    const killedAt = Date.now();
    await a.kill('SIGKILL');
    await waitFor('the standby to lead and listen', () => /coordinator listening/.test(standby.daemon.log()), 20_000);
    const tookOverMs = Date.now() - killedAt;
    f.useCoordinator(standby.daemon, standby.address);
    // a job submitted with both addresses reaches the new leader and runs
    const r2 = await f.cli(['submit', '--label', 'role=w', '--id', 'after', '--', 'true'], both);
    expect(r2.code, r2.stderr).toBe(0);
    const done = await f.waitJob('long', (j) => j.state === 'succeeded', 'succeeded', 30_000);
    expect(done.stages[0]!.attempts).toHaveLength(1);
    // the follow moved to the new leader: every byte once, and it ended with the job
    const followed = await following;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toBe([1, 2, 3, 4, 5, 6].map((i) => `tick ${i}\n`).join(''));
    await f.waitJob('after', (j) => j.state === 'succeeded', 'succeeded');
    expect(standby.daemon.log()).not.toMatch(/"msg":"node down"/);
    for (const n of ['alpha', 'beta']) expect(f.agent(n).log()).not.toMatch(/fencing runs/);
    console.info(`leader killed -> the standby listening after ${tookOverMs} ms (lease ${LEASE})`);
  });

  it('a leader paused past its lease writes nothing when it resumes, and exits as its lease is taken', async () => {
    const { f, a, standby } = await twoCoordinators();
    // a follow on the leader when it freezes: its port still accepts, nothing answers
    const both = { env: { MESHRUN_COORDINATOR: `${f.coordinatorAddress},${standby.address}` }, timeoutMs: 90_000 };
    expect((await f.cli(['submit', '--label', 'role=w', '--id', 'spanning', '--', 'sh', '-c', 'echo start; sleep 10; echo end'], both)).code).toBe(0);
    await f.waitJob('spanning', (j) => j.stages[0]!.state === 'running');
    const following = f.cli(['logs', '-f', '--json', 'spanning'], both);
    // long enough for the CLI to start and its stream to be established with the leader
    await new Promise((res) => setTimeout(res, 4000));
    a.signal('SIGSTOP');
    await waitFor('the standby to take over', () => /coordinator listening/.test(standby.daemon.log()), 20_000);
    f.useCoordinator(standby.daemon, standby.address);
    const r = await f.cli(['submit', '--label', 'role=w', '--id', 'placed-by-b', '--', 'sh', '-c', 'sleep 2; echo done']);
    expect(r.code, r.stderr).toBe(0);
    await f.waitJob('placed-by-b', (j) => j.stages[0]!.state === 'running');
    // the follow moved to the new leader by itself (keepalive), while the old one is still frozen
    await f.waitJob('spanning', (j) => j.state === 'succeeded', 'succeeded', 60_000);
    const followed = await following;
    expect(followed.code, followed.stderr).toBe(0);
    const last = (await f.job('spanning')).stages[0]!.attempts.at(-1)!.attempt;
    const text = followed.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; attempt: number; text: string }).filter((e) => e.type === 'log' && e.attempt === last).map((e) => e.text).join('');
    expect(text).toBe('start\nend\n');
    expect(a.alive, 'still frozen while the follow finished').toBe(true);
    const exited = new Promise<number | null>((res) => a.child.once('exit', (code) => res(code)));
    a.signal('SIGCONT');
    expect(await exited).toBe(75);
    const log = a.log();
    expect(log).toMatch(/lost the lead/);
    // it tried no write at all: the lease check stopped it before any (no refused write logged)
    expect(log).not.toMatch(/job write refused/);
    const done = await f.waitJob('placed-by-b', (j) => j.state === 'succeeded', 'succeeded', 30_000);
    expect(done.stages[0]!.attempts).toHaveLength(1);
    // a leader change is no failover of the fleet: the agent held the run through the takeover
    expect((await f.job('spanning')).stages[0]!.attempts, 'spanning ran once, never fenced').toHaveLength(1);
    for (const n of ['alpha', 'beta']) expect(f.agent(n).log()).not.toMatch(/fencing runs/);
  }, 120_000);

  it('a graceful stop hands the lead over at once, without waiting out the lease', async () => {
    const { f, a, standby } = await twoCoordinators();
    const stoppedAt = Date.now();
    await a.kill('SIGTERM');
    await waitFor('the standby to lead', () => /leading: this coordinator holds the lease/.test(standby.daemon.log()), 20_000);
    // took over on the released lease, not after it lapsed
    expect(standby.daemon.log()).not.toMatch(/stopped renewing its lease/);
    f.useCoordinator(standby.daemon, standby.address);
    await waitFor('the new leader to answer', async () => (await f.nodes()).length === 2);
    console.info(`graceful handover in ${Date.now() - stoppedAt} ms`);
  });
});
