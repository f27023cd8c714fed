// The lease gates starts, on real processes: a start that reaches an agent after its lease ran
// out (frozen with SIGSTOP while the command waited in its socket) is refused, not run - the
// coordinator may already have given the stage to another node.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './harness/processes.js';

describe('lease gates starts', () => {
  let fleet: Fleet;
  let nc: NatsConnection;
  let frozen = false;

  beforeAll(async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }] });
    nc = await fleet.natsConnect();
  });

  afterAll(async () => {
    if (frozen) fleet?.agent('alpha').signal('SIGCONT');
    await nc?.close();
    await fleet?.destroy();
  });

  it('a start delivered while the agent was frozen past its lease is refused on resume, and nothing runs', async () => {
    const start = { type: 'start', token: { job: 'ghost', stage: 's', attempt: 1 }, jobName: 'ghost', argv: ['sh', '-c', 'echo ran'], env: {}, failover: 'reassign' };
    fleet.agent('alpha').signal('SIGSTOP');
    frozen = true;
    const reply = nc.request('mr.agent.alpha.cmd', JSON.stringify(start), { timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 3800)); // past the 3 s lease, before down-after (5 s)
    fleet.agent('alpha').signal('SIGCONT');
    frozen = false;
    const r = JSON.parse((await reply).string()) as { ok: boolean; error?: string };
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/no live lease/);
    expect(existsSync(join(fleet.agentDir('alpha'), 'runs', 'ghost', 's.1.json'))).toBe(false);
    expect(fleet.agent('alpha').log()).toMatch(/start refused: lease not live/);
    // once renewed, the node takes work again
    await fleet.waitNodesReady(['alpha']);
    const ok = await fleet.cli(['submit', '--on', 'alpha', '--follow', '--', 'echo', 'after']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('after\n');
  });
});
