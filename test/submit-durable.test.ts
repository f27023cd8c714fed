// A job exists only once it is durable, on real processes: a submit while JetStream stalls
// (nats-server frozen with SIGSTOP) fails at the coordinator and leaves nothing behind - no job
// held, listed or placed; the CLI asks again with the same id until the bus answers, and gets
// the job (whether or not the first write landed late), which runs once.
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

  it('a submit during a JetStream stall creates nothing until the bus answers; the CLI asks again with the same id and the job runs once', async () => {
    const submit = ['submit', '--id', 'stalled', '--on', 'alpha', '--', 'sh', '-c', 'echo "ran at $(date +%s%N)" >> "$MESHRUN_RUN_DIR/../ran.txt"; echo ran'];
    process.kill(fleet.nats.pid!, 'SIGSTOP');
    frozen = true;
    const first = fleet.cli(submit, { timeoutMs: 90_000 });
    // while its write waits on the frozen server the job does not exist for anyone
    await new Promise((r) => setTimeout(r, 2500));
    await expect(fleet.job('stalled')).rejects.toThrow(/no job stalled/);
    // the write waits until its timeout, the coordinator answers "the bus does not answer", and
    // the CLI asks again (the same id) until it does; then the server is back
    await new Promise((r) => setTimeout(r, 5500));
    await expect(fleet.job('stalled')).rejects.toThrow(/no job stalled/);
    process.kill(fleet.nats.pid!, 'SIGCONT');
    frozen = false;
    const r1 = await first;
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stderr).toMatch(/bus \(JetStream\) does not answer right now.*waiting up to 45 s/);
    expect(r1.stdout.trim()).toBe('stalled');
    const j = await fleet.waitJob('stalled', (x) => x.state === 'succeeded');
    expect(j.stages[0]!.attempts).toHaveLength(1);
    // the same id again: the same job, not a second one
    const again = await fleet.cli(submit);
    expect(again.code).toBe(0);
    await waitFor('one run', async () => (await fleet.cli(['logs', 'stalled'])).stdout === 'ran\n');
    const listed = JSON.parse((await fleet.cli(['jobs', '--json'])).stdout) as { id: string }[];
    expect(listed.filter((x) => x.id === 'stalled')).toHaveLength(1);
  }, 120_000);

  it('one id submitted ten times at once (its record written outside the coordinator\'s queue): one job, created once, run once', async () => {
    const c = fleet.client();
    try {
      const spec = { name: 'twice', stages: [{ name: 'run', on: { node: 'alpha' }, run: { command: ['sh', '-c', 'echo "$MESHRUN_ATTEMPT" >> "$MESHRUN_RUN_DIR/../ran.txt"; echo once'] } }] };
      const replies = await Promise.all(Array.from({ length: 10 }, () => c.submit('burst-same', JSON.stringify(spec))));
      expect(replies.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(replies.map((r) => r.job?.id))).toEqual(new Set(['burst-same']));
      const j = await fleet.waitJob('burst-same', (x) => x.state === 'succeeded');
      expect(j.stages[0]!.attempts).toHaveLength(1);
      expect((await fleet.cli(['logs', 'burst-same'])).stdout).toBe('once\n');
    } finally {
      c.close();
    }
  });
});
