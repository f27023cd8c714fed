// `failover: {wait: 8s}` against real processes: a node frozen (SIGSTOP, a silent loss)
// for less than the wait keeps its attempt - it comes back and the same attempt finishes,
// no second attempt anywhere; frozen for longer than the wait, the stage gets a second
// attempt on another node and the first is superseded (stale) and stopped on return.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, runsRecorded } from './harness/invariants.js';
import { Fleet, pidAlive, sleep, waitFor } from './harness/processes.js';

let fleet: Fleet | undefined;
let frozen: string | undefined;
afterEach(async () => {
  if (frozen) fleet?.agent(frozen).signal('SIGCONT');
  frozen = undefined;
  await fleet?.destroy();
  fleet = undefined;
});



const WAIT_MS = 8000;

/** A job whose first attempt ticks for `firstLines` x 0.2 s, any later attempt for 5 lines. */
function waitJobFile(f: Fleet, marker: string, firstLines: number): string {
  const file = join(f.dir, 'wait.yaml');
  const script = [
    `echo "$MESHRUN_NODE $MESHRUN_ATTEMPT" >> ${marker}`,
    `if [ "$MESHRUN_ATTEMPT" = 1 ]; then n=${firstLines}; else n=5; fi`,
    'i=0; while [ $i -lt $n ]; do i=$((i+1)); echo "tick $i of $n on $MESHRUN_NODE attempt $MESHRUN_ATTEMPT"; sleep 0.2; done',
  ].join('; ');
  writeFileSync(
    file,
    ['name: wait-failover', 'stages:', '  - name: body', '    on: { labels: { pool: w } }', '    failover: { wait: 8s }', `    run: { command: [sh, -c, ${JSON.stringify(script)}] }`, ''].join('\n'),
  );
  return file;
}

const expectedLog = (node: string, attempt: number, n: number): string => Array.from({ length: n }, (_, i) => `tick ${i + 1} of ${n} on ${node} attempt ${attempt}\n`).join('');

describe('failover: {wait: 8s}', () => {
  it('frozen for less than the wait: the node comes back and the same attempt finishes, no second attempt', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'pool=w' }, { node: 'beta', labels: 'pool=w' }] });
    const marker = join(fleet.dir, 'ran');
    const sub = await fleet.cli(['submit', '--id', 'wait-short', waitJobFile(fleet, marker, 60)]);
    expect(sub.code, sub.stderr).toBe(0);
    const first = await fleet.waitJob('wait-short', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    const node = first.stages[0]!.node!;
    const stoppedAt = Date.now();
    fleet.agent(node).signal('SIGSTOP');
    frozen = node;

    // the node goes down; the stage waits for it instead of moving
    const waiting = await fleet.waitJob('wait-short', (j) => /waiting up to 8000ms/.test(j.stages[0]!.reason), 'waiting for the node', 10_000);
    expect((await fleet.nodes()).find((n) => n.name === node)!.state).toBe('down');
    expect(waiting.stages[0]!.attempts).toHaveLength(1);
    expect(waiting.stages[0]!.attempts[0]!.state).toBe('running');
    // stay frozen well past down-after but well inside the wait
    await sleep(Math.max(0, stoppedAt + 6500 - Date.now()));
    const held = await fleet.job('wait-short');
    expect(held.stages[0]!.attempts, 'no second attempt while waiting').toHaveLength(1);
    fleet.agent(node).signal('SIGCONT');
    frozen = undefined;
    const frozenForMs = Date.now() - stoppedAt;
    await fleet.waitNodesReady([node]);
    const back = await fleet.waitJob('wait-short', (j) => !/waiting up to/.test(j.stages[0]!.reason), 'the wait cleared', 10_000);
    expect(back.stages[0]!.attempts).toHaveLength(1);

    const done = await fleet.waitJob('wait-short', (j) => j.state === 'succeeded', 'succeeded', 30_000);
    expect(done.stages[0]!.attempts.map((a) => [a.attempt, a.node, a.state])).toEqual([[1, node, 'succeeded']]);
    await checkInvariants(fleet, 'wait-short');
    expect(runsRecorded(marker), 'the stage ran exactly once').toEqual([`${node} 1`]);
    const logs = await fleet.cli(['logs', 'wait-short']);
    expect(logs.stdout).toBe(expectedLog(node, 1, 60));
    const meta = JSON.parse(readFileSync(join(fleet.agentDir(node), 'runs', 'wait-short', 'body.1.json'), 'utf8'));
    expect(meta.stopReason, 'not fenced: the agent was away for less than lease + wait').toBeNull();
    expect(meta.exitCode).toBe(0);
    expect(frozenForMs).toBeLessThan(WAIT_MS);
  });

  it('frozen for longer than the wait: a second attempt starts on the other node, the first is stale and stopped', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'pool=w' }, { node: 'beta', labels: 'pool=w' }] });
    const marker = join(fleet.dir, 'ran');
    const sub = await fleet.cli(['submit', '--id', 'wait-long', waitJobFile(fleet, marker, 150)]);
    expect(sub.code, sub.stderr).toBe(0);
    const first = await fleet.waitJob('wait-long', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    const node = first.stages[0]!.node!;
    const other = node === 'alpha' ? 'beta' : 'alpha';
    const pid1 = JSON.parse(readFileSync(join(fleet.agentDir(node), 'runs', 'wait-long', 'body.1.json'), 'utf8')).pid as number;
    const stoppedAt = Date.now();
    fleet.agent(node).signal('SIGSTOP');
    frozen = node;

    await fleet.waitJob('wait-long', (j) => /waiting up to 8000ms/.test(j.stages[0]!.reason), 'waiting for the node', 10_000);
    const moved = await fleet.waitJob('wait-long', (j) => j.stages[0]!.attempts.length === 2, 'second attempt', 25_000);
    const movedAfterMs = Date.now() - stoppedAt;
    // down-after (5 s, from the last heartbeat up to 0.5 s before the freeze) + the 8 s wait
    expect(movedAfterMs, 'not before the wait was over').toBeGreaterThanOrEqual(WAIT_MS + 4000);
    expect(movedAfterMs).toBeLessThan(WAIT_MS + 10_000);
    expect(moved.stages[0]!.attempts[0]!.state).toBe('stale');
    expect(moved.stages[0]!.attempts[0]!.reason).toMatch(/did not come back within 8000ms/);
    expect(moved.stages[0]!.attempts[1]!.node).toBe(other);

    fleet.agent(node).signal('SIGCONT');
    frozen = undefined;
    await waitFor('the superseded first attempt is stopped on its node', () => !pidAlive(pid1), 15_000);
    const done = await fleet.waitJob('wait-long', (j) => j.state === 'succeeded', 'succeeded', 30_000);
    expect(done.stages[0]!.node).toBe(other);
    expect(done.stages[0]!.attempt).toBe(2);
    await waitFor('the late result of attempt 1 in the history', async () => (await fleet!.job('wait-long')).stages[0]!.attempts[0]!.staleResult !== null, 15_000);
    const final = await checkInvariants(fleet, 'wait-long');
    expect(final.stages[0]!.attempts.map((a) => [a.node, a.state])).toEqual([
      [node, 'stale'],
      [other, 'succeeded'],
    ]);
    expect(runsRecorded(marker)).toEqual([`${node} 1`, `${other} 2`]);
    const meta1 = JSON.parse(readFileSync(join(fleet.agentDir(node), 'runs', 'wait-long', 'body.1.json'), 'utf8'));
    expect(['fenced', 'superseded']).toContain(meta1.stopReason);
    const logs = await fleet.cli(['logs', 'wait-long', '--json']);
    const attempt2 = logs.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'log' && e.attempt === 2).map((e) => e.text).join('');
    expect(attempt2).toBe(expectedLog(other, 2, 5));
  });
});
