// Hostile and careless input against real daemons: every limit answers with an error that
// names it, the daemons stay up, and other jobs run on unaffected.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { Objm } from '@nats-io/obj';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Buckets } from '../proto/subjects.js';
import { Limits } from '../lib/limits.js';
import { logTruncatedLine } from '../agent/log-cap.js';
import { Fleet } from './harness/processes.js';

let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.start({ agents: [{ node: 'alpha', slots: 4 }] });
});
afterAll(async () => {
  await fleet?.destroy();
});

const stage = (name: string, over: Record<string, unknown> = {}) => ({ name, on: { node: 'alpha' }, run: { command: ['true'] }, ...over });

async function submitError(id: string, spec: unknown): Promise<string> {
  const client = fleet.client();
  try {
    await client.submit(id, typeof spec === 'string' ? spec : JSON.stringify(spec));
    return '';
  } catch (err) {
    return (err as Error).message;
  } finally {
    client.close();
  }
}

async function stillWorks(id: string): Promise<void> {
  expect(fleet.coordinator.alive).toBe(true);
  expect(fleet.agent('alpha').alive).toBe(true);
  const r = await fleet.cli(['submit', '--id', id, '--on', 'alpha', '--follow', '--', 'echo', 'still works']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('still works\n');
}

describe('job size limits', () => {
  it('refuses too many stages, too big a spec, env or record, naming the limit; nothing is half-accepted', async () => {
    const many = { name: 'many', stages: Array.from({ length: Limits.stagesMax + 1 }, (_, i) => stage(`s${i}`)) };
    expect(await submitError('too-many', many)).toMatch(/limit stagesMax/);
    const big = { name: 'big', stages: [stage('a', { env: { PAD: 'x'.repeat(Limits.jobSpecMaxBytes) } })] };
    expect(await submitError('too-big', big)).toMatch(/limit jobSpecMaxBytes/);
    const env = { name: 'env', stages: [stage('a', { env: { PAD: 'x'.repeat(Limits.stageEnvMaxBytes) } })] };
    expect(await submitError('too-much-env', env)).toMatch(/limit stageEnvMaxBytes/);
    // a spec under its limit whose record is over its own: numbers in env grow as strings
    // (1e20 -> "100000000000000000000"), so the record is refused before it is held anywhere
    const vars = Array.from({ length: 190 }, (_, i) => `"V${i}":1e20`).join(',');
    const stages = Array.from({ length: 100 }, (_, i) => `{"name":"s${i}","on":{"node":"alpha"},"run":{"command":["true"]},"env":{${vars}}}`).join(',');
    const grown = `{"name":"grown","stages":[${stages}]}`;
    expect(Buffer.byteLength(grown)).toBeLessThan(Limits.jobSpecMaxBytes);
    expect(await submitError('too-big-record', grown)).toMatch(/limit jobRecordMaxBytes/);
    for (const id of ['too-many', 'too-big', 'too-much-env', 'too-big-record']) {
      const r = await fleet.cli(['job', id, '--json']);
      expect(r.code, `${id} must not exist`).toBe(4);
    }
    // the refused record is not in memory blocking placement: new jobs run at once
    await stillWorks('after-sizes');
  });
});

describe('stage outputs', () => {
  it('a stage cannot set PATH, LD_* or MESHRUN_* for the next one; good outputs pass', async () => {
    const file = join(fleet.dir, 'outputs.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'outputs',
        stages: [
          stage('set', { run: { command: ['sh', '-c', 'printf "PATH=/tmp/evil\\nLD_PRELOAD=/tmp/evil.so\\nMESHRUN_NODE=mallory\\nGOOD=yes\\n" >> "$MESHRUN_OUTPUT"'] } }),
          stage('use', { run: { command: ['sh', '-c', 'echo "path=$PATH good=$GOOD preload=${LD_PRELOAD-unset} node=$MESHRUN_NODE"'] } }),
        ],
      }),
    );
    const r = await fleet.cli(['submit', '--id', 'outputs', '--follow', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('good=yes preload=unset node=alpha');
    expect(r.stdout).not.toContain('path=/tmp/evil');
    expect(fleet.agent('alpha').log()).toMatch(/run outputs dropped/);
  });
});

describe('failure messages on the bus', () => {
  it('a huge, whitespace-heavy failure message is cut; the coordinator stays responsive and another run is not disturbed', async () => {
    const client = fleet.client();
    try {
      await client.submit('victim', JSON.stringify({ name: 'victim', stages: [stage('a', { run: { command: ['sleep', '30'] } })] }));
      await client.submit('bystander', JSON.stringify({ name: 'bystander', stages: [stage('b', { run: { command: ['sh', '-c', 'sleep 8; echo done'] } })] }));
    } finally {
      client.close();
    }
    await fleet.waitJob('victim', (j) => j.stages[0]!.state === 'running');
    await fleet.waitJob('bystander', (j) => j.stages[0]!.state === 'running');
    // what a playbook's failure (or a hostile agent) can put on the bus: ~900 KB, mostly one run of spaces
    const msg = `${' '.repeat(900_000)}\nboom`;
    const nc = await fleet.natsConnect();
    const event = { kind: 'exited', node: 'alpha', token: { job: 'victim', stage: 'a', attempt: 1 }, exitCode: 2, signal: null, endedAt: Date.now(), logBytes: 0, stopReason: null, failures: [{ host: 'h1', task: 't', msg }] };
    await jetstream(nc).publish('mr.evt.alpha', JSON.stringify({ id: 'hostile-1', seq: 1, event }));
    await nc.drain();
    const t0 = Date.now();
    const v = await fleet.waitJob('victim', (j) => j.state === 'failed', 'failed by the report', 10_000);
    expect(v.stages[0]!.reason).toMatch(/^exit code 2; h1 failed at "t": /);
    expect(v.stages[0]!.reason.length).toBeLessThan(400);
    console.info(`limits: a 900 KB failure message applied and seen within ${Date.now() - t0} ms`);
    const b = await fleet.waitJob('bystander', (j) => j.state === 'succeeded');
    expect(b.stages[0]!.attempts).toHaveLength(1);
    expect(fleet.coordinator.alive).toBe(true);
  });
});

describe('workspace uploads', () => {
  type RawPut = (cb: (err: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<object>;

  it('a wrong hash stores nothing; concurrent uploads are capped per caller, naming the limit; slots come back', async () => {
    const client = fleet.client();
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const wrong = 'e'.repeat(64);
    await expect(client.putBlob(data, wrong)).rejects.toThrow(/damaged/);
    const nc = await fleet.natsConnect();
    const store = await new Objm(nc).open(Buckets.blobs);
    const info = await store.info(`ws-${wrong}`);
    expect(info === null || info.deleted).toBe(true);

    // uploads held open (first chunk sent, never ended): the third of one caller is refused
    const raw = (client as unknown as { raw: Record<string, RawPut> }).raw;
    const results: (grpc.ServiceError | null)[] = [];
    const open = (): grpc.ClientWritableStream<object> => {
      const call = raw.PutBlob!.call(raw, (err) => results.push(err));
      call.write({ sha256: 'c'.repeat(64), data: Buffer.alloc(1024) });
      return call;
    };
    const held = [open(), open()];
    await new Promise((r) => setTimeout(r, 500));
    const third = open();
    await new Promise<void>((res) => {
      const t = setInterval(() => results.length > 0 && (clearInterval(t), res()), 50);
    });
    expect(results[0]?.details).toMatch(/limit workspaceUploadsPerCaller/);
    expect(results[0]?.code).toBe(8); // RESOURCE_EXHAUSTED
    third.end();
    for (const c of held) c.cancel();
    await new Promise((r) => setTimeout(r, 500));
    // the slots are free again and nothing of the abandoned uploads stayed
    const good = Buffer.from('a real workspace');
    const sha = createHash('sha256').update(good).digest('hex');
    expect(await client.putBlob(good, sha)).toMatchObject({ sha256: sha, existed: false });
    const abandoned = await store.info(`ws-${'c'.repeat(64)}`);
    expect(abandoned === null || abandoned.deleted).toBe(true);
    client.close();
    await nc.drain();
    await stillWorks('after-uploads');
  });
});

describe('artifacts', () => {
  const job = (id: string, stageName: string): string => {
    const file = join(fleet.dir, `${id}.json`);
    writeFileSync(file, JSON.stringify({ name: id, stages: [stage(stageName, { run: { command: ['sh', '-c', `mkdir -p out && echo ${id} > out/who.txt`] }, artifacts: ['out/**'] })] }));
    return file;
  };

  it('names do not collide across jobs, and a damaged archive is refused on download', async () => {
    for (const [id, s] of [
      ['coll', 'x-build'],
      ['coll-x', 'build'],
    ] as const) {
      const r = await fleet.cli(['submit', '--id', id, '--follow', job(id, s)]);
      expect(r.code, r.stderr).toBe(0);
    }
    const out = join(fleet.dir, 'arts');
    mkdirSync(out, { recursive: true });
    const a = await fleet.cli(['artifacts', 'coll-x', '-o', join(out, 'coll-x')]);
    expect(a.code, a.stderr).toBe(0);
    expect(readFileSync(join(out, 'coll-x', 'build', 'out', 'who.txt'), 'utf8')).toBe('coll-x\n');
    const b = await fleet.cli(['artifacts', 'coll', '-o', join(out, 'coll')]);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(join(out, 'coll', 'x-build', 'out', 'who.txt'), 'utf8')).toBe('coll\n');

    // someone replaces coll's archive in the object store: the download says so, unpacks nothing
    const nc = await fleet.natsConnect();
    const store = await new Objm(nc).open(Buckets.blobs);
    const names: string[] = [];
    for (const e of await store.list()) names.push(e.name);
    const object = names.find((n) => n.includes('coll.x-build'));
    expect(object).toBeDefined();
    await store.putBlob({ name: object! }, Buffer.from('not the archive'));
    await nc.drain();
    const c = await fleet.cli(['artifacts', 'coll', '-o', join(out, 'coll-again')]);
    expect(c.code).not.toBe(0);
    expect(c.stderr).toMatch(/damaged/);
    expect(fleet.coordinator.alive).toBe(true);
  });
});

describe('log bytes per run', () => {
  it('a run logging past logMaxBytesPerRun is relayed up to it, then a line says so; follow ends; daemons stay up', async () => {
    const over = Limits.logMaxBytesPerRun + 2 * 1024 * 1024;
    const t0 = Date.now();
    const r = await fleet.cli(['submit', '--id', 'loud', '--on', 'alpha', '--follow', '--', 'sh', '-c', `head -c ${over} /dev/zero | tr '\\0' a; echo; echo the end`], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    console.info(`limits: a ${over}-byte log relayed and followed in ${Date.now() - t0} ms`);
    const marker = logTruncatedLine(Limits.logMaxBytesPerRun);
    expect(r.stdout.length).toBe(Limits.logMaxBytesPerRun + marker.length);
    expect(r.stdout.endsWith(marker)).toBe(true);
    expect(r.stdout).not.toContain('the end');
    // the node keeps the whole log
    const log = join(fleet.agentDir('alpha'), 'runs', 'loud', 'run.1.log');
    expect(readFileSync(log, 'utf8').endsWith('the end\n')).toBe(true);
    await stillWorks('after-log');
  }, 300_000);
});
