// An ended job whose log the bus no longer holds in full (the logs stream is bounded in bytes and
// age and drops its oldest chunks first): `logs` and `logs -f` print what is there, say which
// bytes are missing, and end - a follow never waits for bytes nobody holds. Against a real
// secured fleet; the chunks are dropped with a purge of the stream, as its limits would.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from './fleet/netns.js';
import { Fleet } from './harness/processes.js';

const cap = requireTools(['nats-server']);

describe.skipIf(!cap.ok)(`a log the bus holds only in part (${cap.reason})`, () => {
  let fleet: Fleet;
  let nc: NatsConnection;

  beforeAll(async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }] });
    nc = await fleet.natsConnect();
  });

  afterAll(async () => {
    await nc?.close();
    await fleet?.destroy();
  });

  /** A job that writes three lines a second apart (three chunks), ended; its log messages on the bus. */
  async function endedJob(id: string): Promise<number> {
    const r = await fleet.cli(['submit', '--on', 'alpha', '--id', id, '--', 'sh', '-c', 'echo first; sleep 1; echo second; sleep 1; echo third']);
    expect(r.code, r.stderr).toBe(0);
    await fleet.waitJob(id, (j) => j.state === 'succeeded');
    const full = await fleet.cli(['logs', id]);
    expect(full.stdout).toBe('first\nsecond\nthird\n');
    return messages(id);
  }

  async function messages(id: string): Promise<number> {
    const info = await (await jetstreamManager(nc)).streams.info('MR_LOGS', { subjects_filter: `mr.out.${id}.>` });
    return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  }

  it('its head gone: the rest is printed after a line naming the missing bytes, with and without -f', async () => {
    expect(await endedJob('head-gone')).toBeGreaterThanOrEqual(2);
    // what the stream's limits do to an old job: its oldest chunks go first
    await (await jetstreamManager(nc)).streams.purge('MR_LOGS', { filter: 'mr.out.head-gone.>', keep: 1 });
    expect(await messages('head-gone')).toBe(1);

    for (const args of [['logs', 'head-gone'], ['logs', '-f', 'head-gone']]) {
      const r = await fleet.cli(args, { timeoutMs: 30_000 });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe('third\n');
      // "first\nsecond\n" is 13 bytes
      expect(r.stderr).toMatch(/==> stage run \(attempt 1, alpha\): bytes 0-13 of its log are not on the bus/);
    }
    const json = await fleet.cli(['logs', '--json', 'head-gone']);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.type === 'gap')).toEqual({ type: 'gap', stage: 'run', attempt: 1, node: 'alpha', from: 0, to: 13 });
    expect(lines.filter((l) => l.type === 'log').map((l) => l.text)).toEqual(['third\n']);
  });

  it('all of it gone: a follow ends (with the job exit code) after saying so, instead of waiting for ever', async () => {
    await endedJob('all-gone');
    await (await jetstreamManager(nc)).streams.purge('MR_LOGS', { filter: 'mr.out.all-gone.>' });
    expect(await messages('all-gone')).toBe(0);
    // the coordinator waits for missing bytes 10 s after the last progress, then reports them
    const r = await fleet.cli(['logs', '-f', 'all-gone'], { timeoutMs: 45_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/==> stage run \(attempt 1, alpha\): bytes 0-19 of its log are not on the bus/);
    expect(r.stderr).toMatch(/==> job all-gone succeeded/);
  });
});
