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
  // PRODUCT BUG (agent/index.ts, Agent.publishLoop; also Agent.publishLog): the relay awaits
  // `js.publish(..., { timeout: 5000 })` (log chunks: 2000). A JetStream publish issued while
  // the connection is down is buffered by the client and never answered after the reconnect
  // (verified with a bare client: it rejects with "timeout" after the full 5 s even though the
  // server was back after 1 s, and the next publish succeeds in ~1 ms). So after any outage the
  // backlog waits up to 5 s (logs 2 s) past the reconnect before it moves: here ~4 s, in the
  // bench ~5 s. Expected: the relay resumes promptly on reconnect (e.g. abandon or do not
  // start a publish while disconnected, and wake the loop on the 'reconnect' status).
  it('the backlog is relayed within 2.5 s of the bus coming back', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', extra: ['--lease', '60s'] }] });
    const f = fleet;
    const gate = join(f.dir, 'gate');
    const outbox = join(f.agentDir('alpha'), 'outbox', 'outbox.jsonl');
    await f.cli(['submit', '--on', 'alpha', '--id', 'resume-1', '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.1; done; echo finished`]);
    await f.waitJob('resume-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    await waitFor('outbox empty', () => existsSync(outbox) && statSync(outbox).size === 0, 10_000);

    await f.nats.stop('SIGKILL');
    writeFileSync(gate, '');
    // the exit lands in the outbox and the relay starts publishing it
    const queuedAt = await waitFor('the exit in the outbox', () => (statSync(outbox).size > 0 ? Date.now() : undefined), 10_000, 20);
    await sleep(Math.max(0, queuedAt + 800 - Date.now()));
    await f.startNats();
    const backAt = Date.now();
    const emptyAt = await waitFor('outbox empty again', () => (statSync(outbox).size === 0 ? Date.now() : undefined), 20_000, 20);
    const terminal = await f.waitJob('resume-1', (j) => j.state === 'succeeded', 'succeeded', 20_000);
    const seenAt = Date.now();
    await checkInvariants(f, 'resume-1');
    expect(terminal.stages[0]!.attempts).toHaveLength(1);
    console.info(`outbox resume: bus back -> outbox empty ${emptyAt - backAt} ms, job seen terminal ${seenAt - backAt} ms`);
    expect(emptyAt - backAt, 'bus back -> outbox relayed').toBeLessThan(2500);
  });
});
