// The agent's outbox against a real bus outage: nats-server is killed while several short
// jobs finish on an agent with a long lease (so it holds its runs instead of fencing).
// While the bus is down every exit waits in `<state dir>/outbox/outbox.jsonl` (and the log
// bytes in the runner files); when the bus is back everything is relayed in order and once:
// every job reaches its terminal state with its real exit code and end time, every log is
// byte-exact, the events stream holds each event once, and the outbox is drained.
// The second test also kill -9s the agent during the outage: the outbox file carries the
// events across the restart.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshrunClient } from '../cli/client.js';
import { checkInvariants, runsRecorded } from './harness/invariants.js';
import { Fleet, sleep, waitFor } from './harness/processes.js';

let fleet: Fleet | undefined;
let client: MeshrunClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await fleet?.destroy();
  fleet = undefined;
});

const OUTAGE_MS = 5000;
const JOBS = 4;

interface OutboxLine {
  id: string;
  seq: number;
  event: { kind: string; token: { job: string; stage: string; attempt: number }; exitCode?: number; logBytes?: number };
}

function outboxLines(agentDir: string): OutboxLine[] {
  const file = join(agentDir, 'outbox', 'outbox.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as OutboxLine);
}

/** Line i of job `id`: plain ASCII so a served chunk boundary never splits a character. */
const line = (id: string, i: number): string => `${id} line ${String(i).padStart(4, '0')} ${'x'.repeat(i % 37)}\n`;
const LINES = 300;
const expectedLog = (id: string): string => Array.from({ length: LINES }, (_, i) => line(id, i + 1)).join('');
const exitCodeOf = (i: number): number => (i === 2 ? 3 : 0);

/** Submits JOBS jobs on alpha that wait for `gate` to exist, then print LINES lines and exit. */
async function submitGated(f: Fleet, gate: string): Promise<string[]> {
  // an in-process client: a CLI process per call is slow on a busy 2-core machine
  client = f.client();
  const c = client;
  const ids = Array.from({ length: JOBS }, (_, i) => `ob-${i}`);
  for (const [i, id] of ids.entries()) {
    const script = [
      `echo "$MESHRUN_NODE $MESHRUN_ATTEMPT" >> ${join(f.dir, `${id}.ran`)}`,
      `while [ ! -e ${gate} ]; do sleep 0.1; done`,
      `awk -v id=${id} 'BEGIN { for (i = 1; i <= ${LINES}; i++) { s = ""; for (k = 0; k < i % 37; k++) s = s "x"; printf "%s line %04d %s\\n", id, i, s } }'`,
      `exit ${exitCodeOf(i)}`,
    ].join('; ');
    const spec = { name: 'outbox', stages: [{ name: 'run', on: { node: 'alpha' }, run: { command: ['sh', '-c', script] } }] };
    expect((await c.submit(id, JSON.stringify(spec))).created).toBe(true);
  }
  await waitFor('every job running', async () => (await Promise.all(ids.map((id) => c.getJob(id)))).every((j) => j.stages[0]!.attempts[0]?.state === 'running'), 20_000);
  return ids;
}

/** Every record in the MR_EVENTS stream, in stream order. */
async function eventStream(f: Fleet): Promise<OutboxLine[]> {
  const nc = await f.natsConnect();
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('MR_EVENTS');
    const out: OutboxLine[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage('MR_EVENTS', { seq }).catch(() => null);
      if (m) out.push(JSON.parse(new TextDecoder().decode(m.data)) as OutboxLine);
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Everything after the bus is back: terminal states, exact logs, once-only events, drained outbox. */
async function checkAfterOutage(f: Fleet, ids: string[], busBackAt: number): Promise<void> {
  const c = client!;
  const want = (i: number): string => (exitCodeOf(i) === 0 ? 'succeeded' : 'failed');
  await waitFor('every job terminal after the outage', async () => (await Promise.all(ids.map((id) => c.getJob(id)))).every((j, i) => j.state === want(i)), 40_000);
  for (const [i, id] of ids.entries()) {
    const j = await c.getJob(id);
    expect(j.exitCode).toBe(exitCodeOf(i));
    expect(j.stages[0]!.attempts).toHaveLength(1);
    // the recorded end is the process's, not the relay's
    expect(j.stages[0]!.attempts[0]!.endedAtMs, `${id} ended during the outage`).toBeLessThan(busBackAt);
    // what `meshrun logs` serves is byte-exact against the runner's log (checkInvariants), which is what the process wrote
    await checkInvariants(f, id);
    expect(readFileSync(join(f.agentDir('alpha'), 'runs', id, 'run.1.log'), 'utf8'), `log of ${id}`).toBe(expectedLog(id));
    expect(runsRecorded(join(f.dir, `${id}.ran`)), `${id} ran once`).toEqual(['alpha 1']);
  }
  await waitFor('the outbox drained', () => statSync(join(f.agentDir('alpha'), 'outbox', 'outbox.jsonl')).size === 0, 10_000);
  const events = await eventStream(f);
  const recIds = events.map((e) => e.id);
  expect(new Set(recIds).size, 'each outbox record is in the stream once').toBe(recIds.length);
  // one agent, one instance: the stream holds its records in outbox order
  const seqs = events.map((e) => e.seq);
  expect(seqs, 'relayed in outbox order').toEqual([...seqs].sort((a, b) => a - b));
  for (const id of ids) {
    const exits = events.filter((e) => e.event.token.job === id && e.event.kind === 'exited');
    expect(exits, `one exited event for ${id}`).toHaveLength(1);
    expect(events.filter((e) => e.event.token.job === id && e.event.kind === 'started')).toHaveLength(1);
  }
}

describe('outbox across a bus outage', () => {
  it('jobs that finish while nats-server is down: events wait in the outbox file, then relay in order, once, with byte-exact logs', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', slots: JOBS + 1, extra: ['--lease', '60s'] }] });
    const f = fleet;
    const gate = join(f.dir, 'gate');
    const ids = await submitGated(f, gate);
    // the starts are published; the outbox is empty before the outage
    await waitFor('outbox empty before the outage', () => outboxLines(f.agentDir('alpha')).length === 0, 10_000);

    const downAt = Date.now();
    await f.nats.stop('SIGKILL');
    writeFileSync(gate, '');
    for (const id of ids) await waitFor(`${id} ended`, () => existsSync(join(f.agentDir('alpha'), 'runs', id, 'run.1.rc')), 10_000);
    const held = await waitFor('every exit in the outbox file', () => {
      const lines = outboxLines(f.agentDir('alpha'));
      return ids.every((id) => lines.some((l) => l.event.kind === 'exited' && l.event.token.job === id)) ? lines : undefined;
    }, 10_000);
    expect(statSync(join(f.agentDir('alpha'), 'outbox', 'outbox.jsonl')).size).toBeGreaterThan(0);
    for (const [i, id] of ids.entries()) {
      const ex = held.filter((l) => l.event.kind === 'exited' && l.event.token.job === id);
      expect(ex).toHaveLength(1);
      expect(ex[0]!.event.exitCode).toBe(exitCodeOf(i));
      expect(ex[0]!.event.logBytes).toBe(Buffer.byteLength(expectedLog(id)));
    }
    // the coordinator cannot know yet
    for (const id of ids) expect((await client!.getJob(id)).state).toBe('running');
    await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
    // nothing was lost or relayed while the bus was away
    expect(outboxLines(f.agentDir('alpha')).length).toBeGreaterThanOrEqual(held.length);

    await f.startNats();
    const busBackAt = Date.now();
    await checkAfterOutage(f, ids, busBackAt);
    expect(f.agent('alpha').log()).not.toMatch(/lease expired/);
  });

  it('kill -9 the agent during the outage: the outbox file carries the events across its restart', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', slots: JOBS + 1, extra: ['--lease', '60s'] }] });
    const f = fleet;
    const gate = join(f.dir, 'gate');
    const ids = await submitGated(f, gate);
    await waitFor('outbox empty before the outage', () => outboxLines(f.agentDir('alpha')).length === 0, 10_000);

    const downAt = Date.now();
    await f.nats.stop('SIGKILL');
    writeFileSync(gate, '');
    await waitFor('every exit in the outbox file', () => {
      const lines = outboxLines(f.agentDir('alpha'));
      return ids.every((id) => lines.some((l) => l.event.kind === 'exited' && l.event.token.job === id));
    }, 10_000);
    await f.agent('alpha').kill('SIGKILL');
    // the file as the killed agent left it (it may still have been appending until the kill)
    const before = readFileSync(join(f.agentDir('alpha'), 'outbox', 'outbox.jsonl'), 'utf8');
    await sleep(500);
    f.agent('alpha').restart();
    // restarted, still without a bus: it re-reads the outbox and adds nothing (exits are not reported twice)
    await waitFor('the agent re-read its outbox', () => /outbox has events to relay/.test(f.agent('alpha').log()), 10_000);
    await sleep(1000);
    expect(readFileSync(join(f.agentDir('alpha'), 'outbox', 'outbox.jsonl'), 'utf8')).toBe(before);
    await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));

    await f.startNats();
    await checkAfterOutage(f, ids, Date.now());
  });
});
