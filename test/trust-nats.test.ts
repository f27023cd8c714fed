// The NATS half of the trust root against a real nats-server started with the generated
// configuration: no anonymous connection, the coordinator's credential may do everything,
// a node's credential only what its own work needs (the server refuses the rest: another
// node's name on a log chunk or blob request, anyone's output, the JetStream API), and a
// revoked credential is disconnected and cannot come back.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountUpdateSubject, createNatsTrust, issueSystemUser, issueUser, natsServerConfig, revokeUser, type NatsTrust } from '../lib/trust/nats-jwt.js';
import { freePort } from '../lib/free-port.js';
import { nodeInboxPrefix, nodePermissions } from '../proto/permissions.js';
import { Buckets, Subjects } from '../proto/subjects.js';
import { requireTools } from './fleet/netns.js';
import { waitFor } from './harness/processes.js';

const cap = requireTools(['nats-server']);

let dir: string;
let server: ChildProcess | undefined;
let stderr = '';
const conns: NatsConnection[] = [];
let url = '';

async function startServer(trust: NatsTrust): Promise<void> {
  const port = await freePort();
  url = `nats://127.0.0.1:${port}`;
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, natsServerConfig(trust, { port, storeDir: join(dir, 'js'), resolverDir: join(dir, 'accounts') }));
  server = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor('nats-server ready', () => stderr.includes('Server is ready'), 10_000);
}

async function as(creds: Uint8Array, extra: Record<string, unknown> = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: url, authenticator: credsAuthenticator(creds), reconnect: false, ...extra }).catch((err: Error) => {
    throw new Error(`${err.message}\nnats-server said:\n${stderr.slice(-1500)}`);
  });
  conns.push(nc);
  return nc;
}

/** The server's verdict on a publish or subscribe: the async permission error nats.js reports. */
async function refused(nc: NatsConnection, act: () => void): Promise<string | undefined> {
  const seen: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') seen.push(String((s as { error?: Error }).error?.message ?? s.type));
  })();
  act();
  await nc.flush();
  await new Promise((r) => setTimeout(r, 200));
  return seen.find((m) => /permission/i.test(m));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshrun-trust-'));
  stderr = '';
});

afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  server?.kill('SIGKILL');
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!cap.ok)(`NATS trust root (${cap.reason})`, () => {
  it('refuses a connection without credentials, and one with credentials of another fleet', async () => {
    const trust = await createNatsTrust();
    await startServer(trust);
    await expect(connect({ servers: url, reconnect: false })).rejects.toThrow(/Authorization Violation/);
    const stranger = await issueUser(await createNatsTrust(), 'coordinator', 'all');
    await expect(connect({ servers: url, authenticator: credsAuthenticator(stranger.creds), reconnect: false })).rejects.toThrow(/Authorization Violation/);
  });

  it('the coordinator\'s credential uses JetStream; a node\'s is held to its own subjects by the server', async () => {
    const trust = await createNatsTrust();
    await startServer(trust);
    const coord = await as((await issueUser(trust, 'coordinator', 'all')).creds);
    const jsm = await jetstreamManager(coord);
    await jsm.streams.add({ name: 'MR_EVENTS', subjects: [Subjects.runEventsWildcard] });
    const commands: string[] = [];
    coord.subscribe(Subjects.heartbeatWildcard, { callback: (_e, m) => void commands.push(m.subject) });
    await coord.flush();

    const alpha = await as((await issueUser(trust, 'node-alpha', nodePermissions('alpha'))).creds, { inboxPrefix: nodeInboxPrefix('alpha') });
    // its own heartbeat and events go through
    expect(await refused(alpha, () => alpha.publish(Subjects.heartbeat('alpha'), '{}'))).toBeUndefined();
    expect(await refused(alpha, () => alpha.publish(Subjects.runEvents('alpha'), '{}'))).toBeUndefined();
    await waitFor('the coordinator got alpha\'s heartbeat', () => commands.includes(Subjects.heartbeat('alpha')), 5000);
    // speaking for another node, or reading its commands, the jobs bucket or everyone's replies: refused
    expect(await refused(alpha, () => alpha.publish(Subjects.heartbeat('beta'), '{}'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.publish(Subjects.runEvents('beta'), '{}'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.publish(Subjects.agentCommand('beta'), '{}'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.subscribe(Subjects.agentCommand('beta')))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.subscribe('$KV.mr_jobs.>'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.subscribe('_INBOX.>'))).toMatch(/permission/i);
    expect(commands).not.toContain(Subjects.heartbeat('beta'));
  });

  it('a node credential publishes log chunks and blob requests only under its own name, and reaches neither JetStream nor anyone\'s output', async () => {
    const trust = await createNatsTrust();
    await startServer(trust);
    const coord = await as((await issueUser(trust, 'coordinator', 'all')).creds);
    const jsm = await jetstreamManager(coord);
    await jsm.streams.add({ name: 'MR_LOGS', subjects: [Subjects.outputWildcard] });
    const blobRequests: string[] = [];
    coord.subscribe(Subjects.blobWildcard, { callback: (_e, m) => void blobRequests.push(m.subject) });
    await coord.flush();
    const t = { job: 'j1', stage: 'build', attempt: 1 };

    const alpha = await as((await issueUser(trust, 'node-alpha', nodePermissions('alpha'))).creds, { inboxPrefix: nodeInboxPrefix('alpha') });
    // under its own name: log chunks, playbook events and blob requests go through
    expect(await refused(alpha, () => alpha.publish(Subjects.log(t, 'alpha'), 'mine'))).toBeUndefined();
    expect(await refused(alpha, () => alpha.publish(Subjects.playbookEvents(t, 'alpha'), '{}'))).toBeUndefined();
    expect(await refused(alpha, () => alpha.publish(Subjects.blobGet('alpha'), '{}'))).toBeUndefined();
    expect(await refused(alpha, () => alpha.publish(Subjects.blobPut('alpha'), '{}'))).toBeUndefined();
    await waitFor('the coordinator got alpha\'s blob requests', () => blobRequests.length === 2, 5000);
    // under another node's name, or without one: refused by the server
    expect(await refused(alpha, () => alpha.publish(Subjects.log(t, 'beta'), 'forged'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.publish(Subjects.playbookEvents(t, 'beta'), '{}'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.publish('mr.out.j1.build.1.log', 'old shape'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.publish(Subjects.blobGet('beta'), '{}'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.publish(Subjects.blobPut('beta'), '{}'))).toMatch(/permission/i);
    await waitFor('MR_LOGS holds alpha\'s chunks only', async () => (await jsm.streams.info('MR_LOGS')).state.messages === 2, 5000);
    expect(blobRequests).toEqual([Subjects.blobGet('alpha'), Subjects.blobPut('alpha')]);
    // nobody's output, and no JetStream API: no stream, no object store, no workspace
    expect(await refused(alpha, () => alpha.subscribe(Subjects.outputWildcard))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.subscribe(Subjects.jobOutput('j1')))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.subscribe(Subjects.nodeOutput('alpha')))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.publish('$JS.API.INFO', ''))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.publish('$JS.API.STREAM.MSG.GET.OBJ_mr_blobs', '{"seq":1}'))).toMatch(/permission/i);
    expect(await refused(alpha, () => alpha.subscribe('$O.mr_blobs.>'))).toMatch(/permission/i);
    await expect(jetstreamManager(alpha, { timeout: 2000 })).rejects.toThrow();
    await expect(new Objm(jetstream(alpha, { timeout: 2000 })).open(Buckets.blobs)).rejects.toThrow();
  });

  it('a revoked node credential is disconnected by the server and cannot reconnect', async () => {
    const trust = await createNatsTrust();
    await startServer(trust);
    const sys = await as((await issueSystemUser(trust, 'coordinator-sys')).creds);
    const node = await issueUser(trust, 'node-alpha', nodePermissions('alpha'));
    const alpha = await as(node.creds, { inboxPrefix: nodeInboxPrefix('alpha') });
    const closed = alpha.closed();
    // issued a second ago at the latest: revocations cover credentials issued up to their time
    await new Promise((r) => setTimeout(r, 1100));
    const jwt = await revokeUser(trust, node.publicKey);
    const t0 = Date.now();
    const reply = await sys.request(accountUpdateSubject(trust.account.publicKey), jwt, { timeout: 5000 });
    expect(new TextDecoder().decode(reply.data)).toMatch(/jwt updated/);
    await Promise.race([closed, new Promise((_, rej) => setTimeout(() => rej(new Error('not disconnected within 10 s')), 10_000))]);
    console.info(`trust: revoked node disconnected ${Date.now() - t0} ms after the account update`);
    await expect(connect({ servers: url, authenticator: credsAuthenticator(node.creds), reconnect: false })).rejects.toThrow(/Authorization Violation|revoked/i);
  });
});
