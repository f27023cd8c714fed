// How soon the outbox relay resumes once the bus is back. A short outage: a run ends
// while nats-server is down, its `exited` event goes into the outbox and the relay tries
// to publish it; the server comes back about a second later. The relay should pick up
// within a moment of the reconnect, not wait out a publish that can no longer succeed.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants } from './harness/invariants.js';
import { Fleet, sleep, waitFor } from './harness/processes.js';

let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.destroy();
  fleet = undefined;
});


describe('outbox relay after a short outage', () => {
  // A JetStream publish issued while the connection is down is buffered by the client and never
  // answered after the reconnect: the relay used to sit out its whole publish timeout (5 s, log
  // chunks 2 s) before the backlog moved. It now abandons publishes when the bus goes away and
  // wakes on the reconnect. How soon is a speed, measured by `npm run bench` (outbox section:
  // "bus back -> first event relayed"); this test asserts the behaviour: the exit that happened
  // while the bus was down reaches the coordinator once, and the job ends with its one attempt.
  it('an exit during the outage is relayed after the bus comes back, once', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', extra: ['--lease', '60s'] }] });
    const f = fleet;
    const gate = join(f.dir, 'gate');
    const outbox = join(f.agentDir('alpha'), 'outbox', 'outbox.jsonl');
    await f.cli(['submit', '--on', 'alpha', '--id', 'resume-1', '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.1; done; echo finished`]);
    await f.waitJob('resume-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    await waitFor('outbox empty', () => existsSync(outbox) && statSync(outbox).size === 0, 30_000);

    await f.nats.stop('SIGKILL');
    writeFileSync(gate, '');
    // the exit lands in the outbox and the relay starts publishing it
    const queuedAt = await waitFor('the exit in the outbox', () => (statSync(outbox).size > 0 ? Date.now() : undefined), 30_000, 20);
    await sleep(Math.max(0, queuedAt + 800 - Date.now()));
    await f.startNats();
    const backAt = Date.now();
    const emptyAt = await waitFor('outbox empty again', () => (statSync(outbox).size === 0 ? Date.now() : undefined), 60_000, 20);
    const terminal = await f.waitJob('resume-1', (j) => j.state === 'succeeded', 'succeeded', 60_000);
    const seenAt = Date.now();
    await checkInvariants(f, 'resume-1');
    expect(terminal.stages[0]!.attempts).toHaveLength(1);
    expect(terminal.stages[0]!.attempts[0]!.exitCode).toBe(0);
    expect((await f.cli(['logs', 'resume-1'])).stdout).toBe('finished\n');
    console.info(`outbox resume: bus back -> outbox empty ${emptyAt - backAt} ms, job seen terminal ${seenAt - backAt} ms`);
  }, 240_000);
});
