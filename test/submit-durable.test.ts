// A job exists only once it is durable, on real processes: a submit while JetStream stalls
// (nats-server frozen with SIGSTOP) fails, and leaves nothing behind - no job held, listed or
// placed; the client's retry of the same id then gets the job (whether or not the first
// write landed late) and it runs once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, waitFor } from './harness/processes.js';

describe('submit is durable or nothing', () => {
  let fleet: Fleet;
  let frozen = false;

  beforeAll(async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }] });
  });

  afterAll(async () => {
    if (frozen && fleet?.nats.pid) process.kill(fleet.nats.pid, 'SIGCONT');
    await fleet?.destroy();
  });

  it('a submit during a JetStream stall fails whole; the retry of the same id creates the job, which runs once', async () => {
    const submit = ['submit', '--id', 'stalled', '--on', 'alpha', '--', 'sh', '-c', 'echo "ran at $(date +%s%N)" >> "$MESHRUN_RUN_DIR/../ran.txt"; echo ran'];
    process.kill(fleet.nats.pid!, 'SIGSTOP');
    frozen = true;
    const first = fleet.cli(submit, { timeoutMs: 60_000 });
    // while its write waits on the frozen server the job does not exist for anyone
    await new Promise((r) => setTimeout(r, 2500));
    await expect(fleet.job('stalled')).rejects.toThrow(/no job stalled/);
    // the write waits until its timeout; then the server is back
    await new Promise((r) => setTimeout(r, 5500));
    process.kill(fleet.nats.pid!, 'SIGCONT');
    frozen = false;
    const r1 = await first;
    expect(r1.code, r1.stdout).not.toBe(0);
    // nothing half-made: the coordinator holds no such job
    const seen = await fleet.cli(['job', 'stalled']);
    expect(seen.stderr).toMatch(/no job stalled/);
    await fleet.waitNodesReady(['alpha']);
    const r2 = await fleet.cli(submit);
    expect(r2.code, r2.stderr).toBe(0);
    const j = await fleet.waitJob('stalled', (x) => x.state === 'succeeded');
    expect(j.stages[0]!.attempts).toHaveLength(1);
    const again = await fleet.cli(submit);
    expect(again.code).toBe(0);
    await waitFor('one run', async () => (await fleet.cli(['logs', 'stalled'])).stdout === 'ran\n');
  });
});
