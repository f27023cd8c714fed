// The job store against a real fleet: a coordinator restarted over a store of thousands of
// finished jobs holds only the active ones in memory, lists the newest page (saying older ones
// exist), reads an old job and its logs on demand, and retention still removes the oldest; a
// store written before the job index is indexed on the first start (once), and an index that
// lost or kept an entry it should not is reconciled with the records.
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedJobs } from '../bench/store-seed.js';
import { requireTools } from './fleet/netns.js';
import { Fleet, waitFor } from './harness/processes.js';

const cap = requireTools(['nats-server']);
const SEEDED = 2000;
const RETAIN_JOBS = SEEDED - 8;

/** The numbers of the coordinator's last 'jobs loaded' line. */
function lastLoad(log: string): { jobs: number; held: number; recordsRead: number } {
  const lines = log.split('\n').filter((l) => l.includes('"msg":"jobs loaded"'));
  return JSON.parse(lines[lines.length - 1]!) as { jobs: number; held: number; recordsRead: number };
}

async function restartCoordinator(fleet: Fleet): Promise<void> {
  await fleet.coordinator.kill('SIGKILL');
  await fleet.startCoordinator();
}

async function indexKeys(nc: NatsConnection): Promise<Set<string>> {
  const kv = await new Kvm(nc).open('mr_job_index');
  const keys = new Set<string>();
  for await (const k of await kv.keys()) keys.add(k);
  return keys;
}

describe.skipIf(!cap.ok)(`job store over thousands of finished jobs (${cap.reason})`, () => {
  let fleet: Fleet;
  let nc: NatsConnection;

  beforeAll(async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }], coordinatorArgs: ['--retain-jobs', String(RETAIN_JOBS)] });
    nc = await fleet.natsConnect();
  });

  afterAll(async () => {
    await nc?.close();
    await fleet?.destroy();
  });

  it('restarts holding only active jobs, lists the newest page, reads old jobs and logs on demand, retention removes the oldest', async () => {
    const seeded = await seedJobs(nc, SEEDED, { prefix: 'old-' });
    const done = await fleet.cli(['submit', '--on', 'alpha', '--id', 'newest-done', '--follow', '--', 'sh', '-c', 'echo kept after the restart']);
    expect(done.code, done.stderr).toBe(0);
    // a job running across the restart: held in memory, not restarted
    const running = await fleet.cli(['submit', '--on', 'alpha', '--id', 'across', '--', 'sh', '-c', 'echo begin; sleep 4; echo end']);
    expect(running.code, running.stderr).toBe(0);
    await fleet.waitJob('across', (j) => j.state === 'running');

    await restartCoordinator(fleet);
    const load = lastLoad(fleet.coordinator.log());
    expect(load.jobs).toBe(SEEDED + 2);
    expect(load.held, 'only the running job is held whole').toBe(1);
    expect(load.recordsRead).toBe(1);

    const page = await fleet.cli(['jobs', '--json']);
    expect(page.code, page.stderr).toBe(0);
    const ids = (JSON.parse(page.stdout) as { id: string }[]).map((j) => j.id);
    expect(ids).toEqual([...seeded.slice(SEEDED - 98), 'newest-done', 'across']);
    expect(page.stderr).toMatch(/the newest 100 jobs; there are older ones/);
    const table = await fleet.cli(['jobs', '--limit', '3']);
    expect(table.stdout).toMatch(/newest-done/);

    // an old finished job, never read since the start: read from the store
    const old = await fleet.cli(['job', seeded[1000]!, '--json']);
    expect(old.code, old.stderr).toBe(0);
    expect(JSON.parse(old.stdout)).toMatchObject({ id: seeded[1000], state: 'succeeded', stages: [{ name: 'run', state: 'succeeded', node: 'seed-node' }] });
    const logs = await fleet.cli(['logs', 'newest-done']);
    expect(logs.stdout).toBe('kept after the restart\n');

    const across = await fleet.waitJob('across', (j) => j.state === 'succeeded', 'the running job ends', 30_000);
    expect(across.stages[0]!.attempt, 'not restarted').toBe(1);
    expect((await fleet.cli(['logs', 'across'])).stdout).toBe('begin\nend\n');

    // retention: the oldest beyond --retain-jobs go (in end order), read whole only as they go
    const over = SEEDED + 2 - RETAIN_JOBS;
    await waitFor('the oldest removed by retention', () => fleet.job(seeded[over - 1]!).then(() => false, (err: Error) => /no job/.test(err.message)), 30_000, 500);
    expect((await fleet.job(seeded[over]!)).state).toBe('succeeded');
    const kv = await new Kvm(nc).open('mr_jobs');
    expect(await kv.get(seeded[0]!)).toBeNull();
    await waitFor('index entries of removed jobs gone', async () => !(await indexKeys(nc)).has(seeded[over - 1]!), 10_000);
    // each bucket holds exactly one message per job: the next start needs no reconciliation
    const jsm = await jetstreamManager(nc);
    const [records, entries] = await Promise.all(['KV_mr_jobs', 'KV_mr_job_index'].map(async (s) => (await jsm.streams.info(s)).state.messages));
    expect(entries).toBe(records);
    expect(records).toBe(RETAIN_JOBS);
    await restartCoordinator(fleet);
    expect(fleet.coordinator.log()).not.toMatch(/job index reconciled/);
    expect(lastLoad(fleet.coordinator.log())).toMatchObject({ jobs: RETAIN_JOBS, held: 0, recordsRead: 0 });
  }, 180_000);
});

describe.skipIf(!cap.ok)(`job index migration and repair (${cap.reason})`, () => {
  let fleet: Fleet;
  let nc: NatsConnection;

  beforeAll(async () => {
    fleet = await Fleet.start();
    nc = await fleet.natsConnect();
  });

  afterAll(async () => {
    await nc?.close();
    await fleet?.destroy();
  });

  it('indexes a store written before the index once, then reconciles lost and stray entries', async () => {
    const seeded = await seedJobs(nc, 300, { prefix: 'pre-', index: false });
    await restartCoordinator(fleet);
    await waitFor('the migration done', () => /job index built: one-time migration done/.test(fleet.coordinator.log()), 20_000);
    expect(fleet.coordinator.log()).toMatch(/a one-time migration from an older meshrun/);
    expect(lastLoad(fleet.coordinator.log()).jobs).toBe(300);
    expect((await indexKeys(nc)).size).toBe(300);
    expect((await fleet.job(seeded[7]!)).state).toBe('succeeded');

    // an entry lost (a crash between a record's write and its entry's): the counts differ, the keys are read
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge('KV_mr_job_index', { filter: `$KV.mr_job_index.${seeded[5]}` });
    await restartCoordinator(fleet);
    expect(fleet.coordinator.log().match(/one-time migration from an older meshrun/g)).toHaveLength(1);
    expect(fleet.coordinator.log()).toMatch(/"unindexed":1,"orphans":0,"msg":"job index reconciled with the job records"/);
    await waitFor('the lost entry written again', async () => (await indexKeys(nc)).has(seeded[5]!), 10_000);
    expect((await fleet.job(seeded[5]!)).state).toBe('succeeded');

    // an entry left over from a job that is gone (a removal cut short): removed
    await (await new Kvm(nc).open('mr_job_index')).put('gone-long-ago', JSON.stringify({ name: 'x', state: 'succeeded', submittedAt: 1, endedAt: 2, workspace: null }));
    await restartCoordinator(fleet);
    expect(fleet.coordinator.log()).toMatch(/"unindexed":0,"orphans":1,"msg":"job index reconciled with the job records"/);
    await waitFor('the stray entry removed', async () => !(await indexKeys(nc)).has('gone-long-ago'), 10_000);
    expect((await indexKeys(nc)).size).toBe(300);
    expect(lastLoad(fleet.coordinator.log()).jobs).toBe(300);
    await expect(fleet.job('gone-long-ago')).rejects.toThrow(/no job/);
  });
});
