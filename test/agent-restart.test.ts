// An agent process that ends is not a machine that vanished, on real processes: nats-server
// tells the coordinator the agent's connection closed, and its runs (which outlive it) are
// held for --restart-grace instead of failing over after the short silence. An agent back
// within the grace finishes the same attempt; one that stays away fails over after it.
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet, waitFor } from './harness/processes.js';

const GRACE_MS = 20_000; // well past --down-after (5 s) plus an agent's start on a loaded machine (4 s seen)
let fleet: Fleet | undefined;

afterEach(async () => {
  await fleet?.destroy();
  fleet = undefined;
});

async function start(): Promise<Fleet> {
  fleet = await Fleet.start({
    agents: [{ node: 'alpha', labels: 'role=w' }, { node: 'beta', labels: 'role=w' }],
    coordinatorArgs: ['--restart-grace', `${GRACE_MS / 1000}s`],
  });
  return fleet;
}

describe('agent restart', { timeout: 120_000 }, () => {
  it('kill -9 the agent mid-run and start it again after longer than --down-after: the same attempt finishes, nothing reassigned', async () => {
    const f = await start();
    const r = await f.cli(['submit', '--label', 'role=w', '--id', 'held', '--', 'sh', '-c', 'sleep 9; echo done']);
    expect(r.code, r.stderr).toBe(0);
    const running = await f.waitJob('held', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    const node = running.stages[0]!.node!;
    await f.agent(node).kill('SIGKILL');
    await new Promise((res) => setTimeout(res, 6500)); // past down-after (5 s), within the grace
    expect((await f.job('held')).stages[0]!.attempts).toHaveLength(1);
    await f.startAgent({ node, labels: 'role=w' });
    const done = await f.waitJob('held', (j) => j.state === 'succeeded', 'succeeded', 30_000);
    expect(done.stages[0]!.attempts, whyAttempts(f)).toHaveLength(1);
    expect(done.stages[0]!.node).toBe(node);
    expect(f.coordinator.log()).toMatch(/holding its runs for the restart grace/);
    expect(f.coordinator.log()).not.toMatch(/"msg":"node down"/);
  });

  it('a graceful stop and start (what `systemctl restart meshrun-agent` does with KillMode=process) keeps the run', async () => {
    const f = await start();
    const r = await f.cli(['submit', '--label', 'role=w', '--id', 'svc', '--', 'sh', '-c', 'sleep 5; echo done']);
    expect(r.code, r.stderr).toBe(0);
    const running = await f.waitJob('svc', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    const node = running.stages[0]!.node!;
    await f.agent(node).kill('SIGTERM'); // systemd's stop: SIGTERM to the main process only
    await waitFor('the coordinator to hold the node', () => /holding its runs for the restart grace/.test(f.coordinator.log()));
    await f.startAgent({ node, labels: 'role=w' });
    const done = await f.waitJob('svc', (j) => j.state === 'succeeded', 'succeeded', 30_000);
    expect(done.stages[0]!.attempts).toHaveLength(1);
    expect(done.stages[0]!.node).toBe(node);
  });

  it('an agent that stays away fails over once the grace is over, not before', async () => {
    const f = await start();
    const r = await f.cli(['submit', '--label', 'role=w', '--id', 'gone', '--', 'sh', '-c', 'sleep 30']);
    expect(r.code, r.stderr).toBe(0);
    const running = await f.waitJob('gone', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    const node = running.stages[0]!.node!;
    const killedAt = Date.now();
    await f.agent(node).kill('SIGKILL');
    const moved = await f.waitJob('gone', (j) => j.stages[0]!.attempts.length === 2, 'reassigned', 40_000);
    // a grace is a lower bound: never sooner, however fast or slow the machine
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(GRACE_MS);
    expect(moved.stages[0]!.attempts[1]!.node).not.toBe(node);
    await waitFor('the node down', () => /"msg":"node down"/.test(f.coordinator.log()));
    await f.cli(['cancel', 'gone']);
  });

  it('a quick nats-server restart (kill -9, back at once) with the default lease kills no run', async () => {
    const f = await start();
    const r = await f.cli(['submit', '--label', 'role=w', '--id', 'bus', '--', 'sh', '-c', 'sleep 6; echo done']);
    expect(r.code, r.stderr).toBe(0);
    await f.waitJob('bus', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    await f.nats.stop('SIGKILL');
    await f.startNats();
    const done = await f.waitJob('bus', (j) => j.state === 'succeeded', 'succeeded', 40_000);
    expect(done.stages[0]!.attempts).toHaveLength(1);
    for (const n of ['alpha', 'beta']) expect(f.agent(n).log()).not.toMatch(/fencing runs/);
  });

  it('nats-server away for longer than --down-after (refusing connections) kills no run either', async () => {
    const f = await start();
    const r = await f.cli(['submit', '--label', 'role=w', '--id', 'away', '--', 'sh', '-c', 'sleep 11; echo done']);
    expect(r.code, r.stderr).toBe(0);
    await f.waitJob('away', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    await f.nats.stop('SIGKILL');
    await new Promise((res) => setTimeout(res, 6500)); // past --lease (3 s) and --down-after (5 s)
    await f.startNats();
    const done = await f.waitJob('away', (j) => j.state === 'succeeded', 'succeeded', 40_000);
    expect(done.stages[0]!.attempts, whyAttempts(f)).toHaveLength(1);
    for (const n of ['alpha', 'beta']) expect(f.agent(n).log()).not.toMatch(/fencing runs/);
    expect(f.agent(done.stages[0]!.node!).log()).toMatch(/nats-server refuses connections/);
  });
});

/** What the daemons said about leases, liveness and runs: why a stage got another attempt. */
function whyAttempts(f: Fleet): string {
  const about = /lease|refuses|fenc|nats connection|node (down|suspect|back)|lead|stalled|connection (ended|closed)|holding|adopt|lost|run (started|ended)/;
  return [f.coordinator, f.agent('alpha'), f.agent('beta')].map((d) => `--- ${d.name}\n${d.log().split('\n').filter((l) => about.test(l)).join('\n')}`).join('\n');
}
