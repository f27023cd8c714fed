// The coordinator's blob service against a real nats-server with JetStream, in-process with the
// agent's client: workspaces read in ranges that straddle the store's chunks, artifacts written
// in sequenced chunks, and every refusal (not the holder, ended run, wrong hash, out of order,
// over size, too many uploads, abandoned upload, garbage) answered without stopping the service.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobClient, BlobRefusedError } from '../agent/blob-client.js';
import { BlobService } from '../coordinator/blob-service.js';
import { BlobStore, workspaceObject } from '../coordinator/blob-store.js';
import { newAttempt, newJobRecord } from '../coordinator/job-machine.js';
import type { JobSpec } from '../proto/job-spec.js';
import type { RunToken } from '../proto/names.js';
import { nodeInboxPrefix } from '../proto/permissions.js';
import type { AttemptRecord, JobRecord } from '../proto/records.js';
import { Subjects } from '../proto/subjects.js';
import { createLogger } from '../lib/log.js';
import { NatsServer, natsServerAvailable } from '../lib/nats-server.js';
import { waitFor } from './harness/processes.js';

const available = natsServerAvailable();
if (!available && process.env.CI) throw new Error('CI is set but nats-server is not installed: the blob service suite cannot run');
let server: NatsServer;
let coord: NatsConnection;
const nodes = new Map<string, NatsConnection>();
let store: BlobStore;
let service: BlobService;
const logLines: string[] = [];
const jobs = new Map<string, JobRecord>();

const workspace = randomBytes(1_300_000);
const workspaceSha = createHash('sha256').update(workspace).digest('hex');

function job(id: string, node: string, opts: { workspace?: string | null; artifacts?: boolean; state?: AttemptRecord['state'] } = {}): RunToken {
  const spec = { name: id, stages: [{ name: 'build', on: { node }, run: { command: ['true'] }, ...(opts.artifacts === false ? {} : { artifacts: ['out/**'] }) }] } as unknown as JobSpec;
  const j = newJobRecord(id, spec, Date.now(), opts.workspace === undefined ? workspaceSha : opts.workspace);
  j.stages[0]!.attempts.push({ ...newAttempt(1, node, Date.now()), state: opts.state ?? 'running', startedAt: Date.now() });
  jobs.set(id, j);
  return { job: id, stage: 'build', attempt: 1 };
}

const client = (node: string, chunkBytes?: number): BlobClient => new BlobClient({ node, nc: () => nodes.get(node), timeoutMs: 5000, chunkBytes });

/** The coordinator's raw answer to one blob message from `node`. */
async function ask(node: string, subject: string, body: unknown): Promise<Record<string, unknown>> {
  const m = await nodes.get(node)!.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 5000 });
  return JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
}

async function refusal(p: Promise<unknown>): Promise<BlobRefusedError> {
  const err = await p.then(
    () => new Error('not refused'),
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(BlobRefusedError);
  return err as BlobRefusedError;
}

beforeAll(async () => {
  if (!available) return;
  server = await NatsServer.start();
  coord = await connect({ servers: server.url });
  for (const n of ['alpha', 'beta']) nodes.set(n, await connect({ servers: server.url, inboxPrefix: nodeInboxPrefix(n) }));
  const log = createLogger({}, 'info', (line) => void logLines.push(line));
  store = new BlobStore(() => coord, log);
  await store.putWorkspace(workspace, workspaceSha);
  service = new BlobService({ nc: coord, store, job: (id) => jobs.get(id), log, limits: { uploadsPerNode: 2, uploadIdleMs: 400 } });
  service.start();
  // the server has the service's subscription before a node asks (else: no responders)
  await coord.flush();
});

afterAll(async () => {
  service?.stop();
  for (const nc of [...nodes.values(), coord]) await nc?.close();
  await server?.stop();
});

describe.skipIf(!available)('blob service', () => {
  it('serves the workspace of a run to the node that holds it, in ranges across the store chunks; refuses everyone else', async () => {
    const t = job('ws-1', 'alpha');
    // 100 000-byte pulls never line up with the store's 128 KiB chunks
    for (const chunk of [100_000, undefined]) expect((await client('alpha', chunk).getWorkspace(t, workspaceSha, 2_000_000)).equals(workspace)).toBe(true);

    const other = await refusal(client('beta').getWorkspace(t, workspaceSha, 2_000_000));
    expect(other.retry).toBe(false);
    expect(other.message).toMatch(/run ws-1\/build\/1 is not held by node beta/);
    expect((await refusal(client('alpha').getWorkspace({ ...t, attempt: 2 }, workspaceSha, 2_000_000))).message).toMatch(/not a current attempt/);
    expect((await refusal(client('alpha').getWorkspace(t, 'f'.repeat(64), 2_000_000))).message).toMatch(/is not the workspace of job ws-1/);
    expect(await ask('alpha', Subjects.blobGet('alpha'), { token: t, workspace: workspaceSha, offset: workspace.length + 1, length: 10 })).toMatchObject({ ok: false, error: expect.stringMatching(/past the end/) });
    await expect(client('alpha').getWorkspace(t, workspaceSha, 1000)).rejects.toThrow(/over the limit/);
    const none = job('ws-none', 'alpha', { workspace: null });
    expect((await refusal(client('alpha').getWorkspace(none, workspaceSha, 2_000_000))).message).toMatch(/job ws-none has no workspace/);
    // a run that has ended reads nothing more
    jobs.get('ws-1')!.stages[0]!.attempts[0]!.state = 'succeeded';
    expect((await refusal(client('alpha').getWorkspace(t, workspaceSha, 2_000_000))).message).toMatch(/has ended \(succeeded\)/);
    expect(logLines.join('\n')).toMatch(/blob request refused/);
  });

  it('stores the artifacts of a run its node uploads, once; refuses another node, a damaged upload and a stage without artifacts', async () => {
    const t = job('art-1', 'alpha');
    const data = randomBytes(1_200_000);
    const sha = createHash('sha256').update(data).digest('hex');
    expect((await refusal(client('beta').putArtifacts(t, data, sha))).message).toMatch(/not held by node beta/);
    const { object } = await client('alpha').putArtifacts(t, data, sha);
    expect(object).toBe('art.art-1.build.1');
    expect((await store.get(object))!.equals(data)).toBe(true);
    // stored already: nothing is sent again
    expect(await client('alpha').putArtifacts(t, data, sha)).toEqual({ object });
    expect(service.openUploads).toBe(0);

    const t2 = job('art-2', 'alpha');
    const damaged = await refusal(client('alpha').putArtifacts(t2, data, 'a'.repeat(64)));
    expect(damaged.message).toMatch(/damaged in transit/);
    expect(damaged.retry).toBe(false);
    expect(await store.has('art.art-2.build.1')).toBe(false);
    const none = job('art-none', 'alpha', { artifacts: false });
    expect((await refusal(client('alpha').putArtifacts(none, data, sha))).message).toMatch(/keeps no artifacts/);
    expect(service.openUploads).toBe(0);
  });

  it('bounds uploads: out of order, over size, too many, abandoned midway; garbage is answered and the service goes on', async () => {
    const put = Subjects.blobPut('alpha');
    const begin = async (t: RunToken, size: number): Promise<string> => {
      const r = await ask('alpha', put, { op: 'begin', token: t, sha256: 'b'.repeat(64), size });
      expect(r).toMatchObject({ ok: true });
      return r.upload as string;
    };
    const chunk = (upload: string, seq: number, bytes: number): Promise<Record<string, unknown>> => ask('alpha', put, { op: 'chunk', upload, seq, data: Buffer.alloc(bytes, 1).toString('base64') });

    const a = await begin(job('up-1', 'alpha'), 10);
    expect(await chunk(a, 0, 4)).toEqual({ ok: true, received: 4 });
    expect(await chunk(a, 0, 4)).toEqual({ ok: true, received: 4 }); // a repeat is acknowledged again
    expect(await chunk(a, 2, 4)).toMatchObject({ ok: false, error: expect.stringMatching(/chunk 2 out of order, expected 1/) });
    expect(await chunk(a, 1, 4)).toMatchObject({ ok: false, error: expect.stringMatching(/no open upload/), retry: true });

    const b = await begin(job('up-2', 'alpha'), 10);
    expect(await chunk(b, 0, 11)).toMatchObject({ ok: false, error: expect.stringMatching(/past its declared size of 10 bytes/) });
    // another node cannot feed someone else's upload
    const c = await begin(job('up-3', 'alpha'), 10);
    expect(await ask('beta', Subjects.blobPut('beta'), { op: 'chunk', upload: c, seq: 0, data: 'AAAA' })).toMatchObject({ ok: false, error: expect.stringMatching(/no open upload .* of node beta/) });
    await begin(job('up-4', 'alpha'), 10);
    expect(await ask('alpha', put, { op: 'begin', token: job('up-5', 'alpha'), sha256: 'b'.repeat(64), size: 10 })).toMatchObject({ ok: false, retry: true, error: expect.stringMatching(/node alpha has 2 artifact uploads open \(limit 2\)/) });
    expect(await ask('alpha', put, { op: 'begin', token: job('up-6', 'alpha'), sha256: 'b'.repeat(64), size: 600 * 1024 * 1024 })).toMatchObject({ ok: false, error: expect.stringMatching(/over the limit/) });

    // garbage, oversized chunks and unknown operations are answered, and the service still serves
    expect(await ask('alpha', put, 'not json')).toMatchObject({ ok: false, error: expect.stringMatching(/invalid blob put: not JSON/) });
    expect(await ask('alpha', put, { op: 'chunk', upload: c, seq: 0, data: Buffer.alloc(600 * 1024).toString('base64') })).toMatchObject({ ok: false, error: expect.stringMatching(/invalid blob put: data: must be at most 524288 bytes/) });
    expect(await ask('alpha', put, { op: 'delete', upload: c })).toMatchObject({ ok: false, error: expect.stringMatching(/invalid blob put/) });
    expect(await ask('alpha', Subjects.blobGet('alpha'), { token: { job: '../x' } })).toMatchObject({ ok: false, error: expect.stringMatching(/invalid blob get/) });
    // a request whose replies would go to another node's inbox gets none
    await expect(nodes.get('alpha')!.request(Subjects.blobGet('beta'), '{}', { timeout: 500 })).rejects.toThrow();

    // the uploads left midway are dropped after the idle time, and their bytes with them
    await waitFor('abandoned uploads dropped', () => service.openUploads === 0, 10_000);
    expect(logLines.join('\n')).toMatch(/artifact upload abandoned midway/);
    expect(await chunk(c, 0, 4)).toMatchObject({ ok: false, error: expect.stringMatching(/no open upload/) });
    for (const id of ['up-1', 'up-2', 'up-3', 'up-4']) expect(await store.has(`art.${id}.build.1`)).toBe(false);
    expect((await client('alpha').getWorkspace(job('after', 'alpha'), workspaceSha, 2_000_000)).equals(workspace)).toBe(true);
    expect(await store.has(workspaceObject(workspaceSha))).toBe(true);
    // nothing of a refused or dropped upload stays in the store: only the two objects stored
    const chunks = (n: number): number => Math.ceil(n / (128 * 1024));
    const jsm = await jetstreamManager(coord);
    await waitFor('dropped uploads purged', async () => (await jsm.streams.info('OBJ_mr_blobs')).state.messages === chunks(workspace.length) + chunks(1_200_000) + 2, 10_000);
  });
});
