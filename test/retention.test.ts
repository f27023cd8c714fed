// Retention against a real secured fleet: an ended job is removed everywhere once
// --retain-for has passed (its record, log bytes, artifacts, workspace, and the node's run
// directory); applied run events are purged down to --retain-events; an agent's own
// --retain-runs-for removes a directory nothing touched, but never one whose run is alive.
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from './fleet/netns.js';
import { Fleet, waitFor } from './harness/processes.js';

const cap = requireTools(['nats-server']);
const RETAIN_EVENTS = 5;

/** What the bus still holds of a job. */
async function traces(nc: NatsConnection, id: string, workspace: string): Promise<{ record: boolean; logMessages: number; artifacts: boolean; workspace: boolean }> {
  const jsm = await jetstreamManager(nc);
  const kv = await new Kvm(nc).open('mr_jobs');
  const e = await kv.get(id);
  const logs = await jsm.streams.info('MR_LOGS', { subjects_filter: `mr.out.${id}.>` });
  const counts = Object.values(logs.state.subjects ?? {}) as number[];
  const os = await new Objm(nc).open('mr_blobs');
  const live = async (name: string): Promise<boolean> => {
    const i = await os.info(name);
    return i !== null && !i.deleted;
  };
  return {
    record: e !== null && e.operation === 'PUT',
    logMessages: counts.reduce((a, b) => a + b, 0),
    artifacts: await live(`art.${id}.build.1`),
    workspace: await live(`ws-${workspace}`),
  };
}

describe.skipIf(!cap.ok)(`retention (${cap.reason})`, () => {
  let fleet: Fleet;
  let nc: NatsConnection;

  beforeAll(async () => {
    fleet = await Fleet.start({
      agents: [{ node: 'alpha' }, { node: 'beta', extra: ['--retain-runs-for', '3s'] }],
      coordinatorArgs: ['--retain-for', '8s', '--retain-events', String(RETAIN_EVENTS)],
    });
    nc = await fleet.natsConnect();
  });

  afterAll(async () => {
    await nc?.close();
    await fleet?.destroy();
  });

  it('removes an ended job everywhere once --retain-for has passed', async () => {
    const ws = join(fleet.dir, 'ws');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, 'input.txt'), 'kept until the job is removed\n');
    const file = join(fleet.dir, 'job.yaml');
    writeFileSync(
      file,
      ['name: retained', 'stages:', '  - name: build', '    on: { node: alpha }', "    run: { command: [sh, -c, 'cat input.txt; mkdir -p out; echo made > out/a.txt'] }", "    artifacts: ['out/**']", ''].join('\n'),
    );
    const r = await fleet.cli(['submit', '--workspace', ws, '--json', file]);
    expect(r.code, r.stderr).toBe(0);
    const id = JSON.parse(r.stdout).id as string;
    const done = await fleet.waitJob(id, (j) => j.state === 'succeeded');
    const sha = (done as unknown as { workspace: string }).workspace;
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    const runDir = join(fleet.agentDir('alpha'), 'runs', id);
    // right after the end (well within the 8 s), everything is there
    const before = await traces(nc, id, sha);
    expect(before).toMatchObject({ record: true, artifacts: true, workspace: true });
    expect(before.logMessages).toBeGreaterThan(0);
    expect(existsSync(join(runDir, 'work', 'input.txt'))).toBe(true);

    await waitFor('the job removed', () => fleet.job(id).then(() => false, (err: Error) => /no job/.test(err.message)), 40_000, 500);
    const gone = await fleet.cli(['job', id]);
    expect(gone.stderr).toMatch(/no job/);
    expect(await traces(nc, id, sha)).toEqual({ record: false, logMessages: 0, artifacts: false, workspace: false });
    // alpha keeps no run directory: the coordinator told it (alpha's own retention is 14 days)
    await waitFor('alpha forgot the run directory', () => !existsSync(runDir), 20_000);
    const listed = await fleet.cli(['jobs', '--json']);
    expect(JSON.parse(listed.stdout).some((j: { id: string }) => j.id === id)).toBe(false);
    // applied events beyond --retain-events are purged
    const jsm = await jetstreamManager(nc);
    await waitFor('applied events purged', async () => (await jsm.streams.info('MR_EVENTS')).state.messages <= RETAIN_EVENTS, 20_000, 500);
    expect(fleet.coordinator.log()).toMatch(/ended jobs removed by retention/);
  });

  it('an agent removes a directory nothing touched for --retain-runs-for, never one whose run is alive', async () => {
    const runs = join(fleet.agentDir('beta'), 'runs');
    const stale = join(runs, 'stale-job');
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'old.1.log'), 'from long ago\n');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(stale, 'old.1.log'), hourAgo, hourAgo);
    utimesSync(stale, hourAgo, hourAgo);
    await waitFor('the stale run directory removed', () => !existsSync(stale), 20_000);

    // a run quiet for longer than --retain-runs-for (3 s) keeps its directory until it has ended and relayed
    const file = join(fleet.dir, 'quiet.yaml');
    writeFileSync(file, ['name: quiet', 'stages:', '  - name: wait', '    on: { node: beta }', "    run: { command: [sh, -c, 'echo begin; sleep 7; echo end'] }", ''].join('\n'));
    const r = await fleet.cli(['submit', '--json', file]);
    expect(r.code, r.stderr).toBe(0);
    const id = JSON.parse(r.stdout).id as string;
    await fleet.waitJob(id, (j) => j.state === 'running');
    const dir = join(runs, id);
    await new Promise((res) => setTimeout(res, 5500));
    expect(existsSync(join(dir, 'wait.1.log'))).toBe(true);
    await fleet.waitJob(id, (j) => j.state === 'succeeded');
    const logs = await fleet.cli(['logs', id]);
    expect(logs.stdout).toBe('begin\nend\n');
  });
});
