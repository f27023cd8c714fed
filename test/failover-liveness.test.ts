// Node liveness against real processes: a frozen agent (SIGSTOP: no TCP reset, a silent
// loss) goes ready -> suspect -> down, noticed within seconds with the defaults, and not
// before its configured silence; SIGCONT brings it back to ready. Timings are measured on
// the wall clock and printed; only generous bounds are asserted (2-core CI machines).
import { afterEach, describe, expect, it } from 'vitest';
import { MeshrunClient } from '../cli/client.js';
import { Fleet, waitFor } from './harness/processes.js';

let fleet: Fleet | undefined;
let client: MeshrunClient | undefined;
let frozen: string | undefined;
afterEach(async () => {
  if (frozen) fleet?.agent(frozen).signal('SIGCONT');
  frozen = undefined;
  client?.close();
  client = undefined;
  await fleet?.destroy();
  fleet = undefined;
});

interface Transition {
  state: string;
  atMs: number;
  lastSeenMs: number;
}

/** Polls ListNodes in-process (fast) and records each state change of `name` since `t0`. */
async function watchStates(c: MeshrunClient, name: string, t0: number, until: (s: string) => boolean, timeoutMs: number): Promise<Transition[]> {
  const out: Transition[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const n = (await c.listNodes()).find((x) => x.name === name);
    const now = Date.now();
    if (n && out[out.length - 1]?.state !== n.state) out.push({ state: n.state, atMs: now - t0, lastSeenMs: n.lastSeenMs });
    if (n && until(n.state)) return out;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not reach the state in ${timeoutMs}ms: ${JSON.stringify(out)}`);
}

describe('node liveness', () => {
  it('defaults: SIGSTOP an agent -> suspect -> down within a few seconds (< 8 s asserted); SIGCONT -> ready', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }, { node: 'beta' }] });
    client = fleet.client();
    await client.ready();
    const t0 = Date.now();
    fleet.agent('beta').signal('SIGSTOP');
    frozen = 'beta';
    const seen = await watchStates(client, 'beta', t0, (s) => s === 'down', 15_000);
    console.info(`liveness (defaults): ${seen.map((t) => `${t.state}@${t.atMs}ms`).join(' -> ')}`);
    expect(seen.map((t) => t.state)).toEqual(['ready', 'suspect', 'down']);
    const suspect = seen[1]!;
    const down = seen[2]!;
    expect(down.atMs, 'a silent loss is noticed quickly').toBeLessThan(8000);
    // the last heartbeat was at most one interval (0.5 s) before the freeze: not down before ~3 s of silence
    expect(down.atMs, 'not declared down before its silence').toBeGreaterThanOrEqual(2500);
    expect(suspect.atMs).toBeLessThan(down.atMs);
    expect(down.lastSeenMs).toBeGreaterThanOrEqual(3000);
    // the other node is untouched
    expect((await client.listNodes()).find((n) => n.name === 'alpha')!.state).toBe('ready');

    const cli = await fleet.cli(['nodes', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const beta = (JSON.parse(cli.stdout) as { name: string; state: string; lastSeenMs: number }[]).find((n) => n.name === 'beta')!;
    expect(beta.state).toBe('down');
    expect(beta.lastSeenMs).toBeGreaterThanOrEqual(down.lastSeenMs);
    const table = await fleet.cli(['nodes']);
    expect(table.stdout).toMatch(/^beta\s+down\s.*ago$/m);

    const back = Date.now();
    fleet.agent('beta').signal('SIGCONT');
    frozen = undefined;
    const recovered = await watchStates(client, 'beta', back, (s) => s === 'ready', 10_000);
    const readyAt = recovered[recovered.length - 1]!;
    console.info(`liveness: back to ready ${readyAt.atMs}ms after SIGCONT`);
    expect(readyAt.atMs).toBeLessThan(5000);
    expect(readyAt.lastSeenMs).toBeLessThan(1500);
  });

  it('--suspect-after 2s --down-after 5s: suspect, still not down after 4 s of silence, down before 10 s', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }], coordinatorArgs: ['--suspect-after', '2s', '--down-after', '5s'] });
    client = fleet.client();
    await client.ready();
    const t0 = Date.now();
    fleet.agent('alpha').signal('SIGSTOP');
    frozen = 'alpha';
    const toSuspect = await watchStates(client, 'alpha', t0, (s) => s === 'suspect', 10_000);
    expect(toSuspect.map((t) => t.state)).toEqual(['ready', 'suspect']);
    expect(toSuspect[1]!.atMs, 'not suspect before ~2 s of silence').toBeGreaterThanOrEqual(1400);
    await waitFor('4 s of silence', () => Date.now() - t0 >= 4000, 6000, 50);
    expect((await client.listNodes()).find((n) => n.name === 'alpha')!.state, 'still suspect at 4 s').toBe('suspect');
    const rest = await watchStates(client, 'alpha', t0, (s) => s === 'down', 10_000);
    const down = rest[rest.length - 1]!;
    console.info(`liveness (5s): suspect@${toSuspect[1]!.atMs}ms down@${down.atMs}ms`);
    expect(down.atMs).toBeGreaterThanOrEqual(4400);
    expect(down.atMs).toBeLessThan(10_000);
  });
});
