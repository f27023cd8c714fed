// The CLI's lean channel (node:http2 + protobufjs, no grpc-js) against a real grpc-js server
// loaded with the service the coordinator serves: every reply must be the very object grpc-js's
// own client hands over, and every failure the same status, over plain HTTP/2 and over TLS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshrunClient } from '../cli/client.js';
import type { ClientTarget } from '../cli/client-target.js';
import { H2Channel } from '../cli/h2-channel.js';
import { RpcClient } from '../cli/rpc-client.js';
import { ExitCode, ExitError } from '../cli/exit.js';
import { GrpcStatus } from '../lib/grpc-status.js';
import { makeLocalTrust } from '../lib/trust/local-trust.js';
import { LEADER_METADATA, meshrunServiceDefinition } from '../proto/grpc-service.js';

const JOB = {
  id: 'j-1',
  name: 'lab ✓',
  state: 'running',
  createdAtMs: 1_700_000_000_123,
  stages: [
    { name: 'build', state: 'succeeded', node: 'alpha', attempt: 2, exitCode: 0, attempts: [{ attempt: 1, node: 'beta', state: 'lost', reason: 'node down' }, { attempt: 2, node: 'alpha', state: 'succeeded' }] },
    { name: 'deploy', state: 'pending' },
  ],
  handoffs: [{ fromNode: 'beta', toNode: 'alpha', stage: 'build' }],
};
const NODES = { nodes: [{ name: 'alpha', state: 'ready', labels: { role: 'web', zone: 'a' }, slots: 4, running: 1, lastSeenMs: 12 }, { name: 'beta', state: 'down' }] };

type Handler = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => void;
const handlers: Record<string, Handler> = {
  ListNodes: (_c, cb) => cb(null, NODES),
  GetJob: (c, cb) => (c.request.id === JOB.id ? cb(null, JOB) : cb({ code: grpc.status.NOT_FOUND, details: `no job ${String(c.request.id)}: 100% gone, ünïcode\nline two` })),
  ListJobs: (c, cb) => cb(null, { jobs: Array.from({ length: Number(c.request.limit) || 3 }, (_, i) => ({ ...JOB, id: `j-${i}` })), more: c.request.withActive === true }),
  DrainNode: (_c, cb) => cb({ code: grpc.status.PERMISSION_DENIED, details: 'viewer may not drain' }),
  UndrainNode: (_c, cb) => setTimeout(() => cb(null, NODES.nodes[0]), 3000),
  CancelJob: (_c, cb) => cb(new Error('boom')),
};

interface Served {
  server: grpc.Server;
  address: string;
}

async function serve(creds: grpc.ServerCredentials, answer: (name: string) => Handler | undefined = (name) => handlers[name]): Promise<Served> {
  const server = new grpc.Server();
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(meshrunServiceDefinition)) impl[name] = answer(name) ?? ((_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test' }));
  server.addService(meshrunServiceDefinition, impl);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? rej(err) : res(p))));
  return { server, address: `127.0.0.1:${port}` };
}

const lean = (t: ClientTarget): RpcClient => new RpcClient(t, (a, tt) => new H2Channel(a, tt));

/** The reply, or the ExitError (code and line) the CLI would print. */
async function outcome(c: RpcClient, call: (c: RpcClient) => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await call(c) };
  } catch (err) {
    if (err instanceof ExitError) return { exit: err.exitCode, line: err.message };
    throw err;
  }
}

const calls: [string, (c: RpcClient) => Promise<unknown>][] = [
  ['ListNodes', (c) => c.listNodes()],
  ['GetJob', (c) => c.getJob(JOB.id)],
  ['GetJob not found', (c) => c.getJob('nope')],
  ['ListJobs', (c) => c.listJobPage(5, true)],
  ['DrainNode denied', (c) => c.drainNode('alpha')],
  ['CancelJob internal', (c) => c.cancelJob('j-1')],
];

describe('the lean channel answers as grpc-js does', () => {
  let dir: string;
  let plain: Served;
  let tls: Served;
  let tlsTarget: ClientTarget;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-h2-'));
    const trust = await makeLocalTrust(join(dir, 'trust'), { natsPort: 4222, coordinatorPort: 7433 });
    const p = trust.paths;
    const ca = readFileSync(p.caCert);
    plain = await serve(grpc.ServerCredentials.createInsecure());
    tls = await serve(grpc.ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(p.grpcCert), private_key: readFileSync(p.grpcKey) }], false));
    tlsTarget = { address: tls.address, tls: { ca }, source: 'test' };
  }, 60_000);

  afterAll(() => {
    plain?.server.forceShutdown();
    tls?.server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plain HTTP/2: the same replies and the same errors, call by call', async () => {
    const a = new MeshrunClient(plain.address);
    const b = lean({ address: plain.address, source: 'plain gRPC' });
    try {
      await Promise.all([a.ready(), b.ready()]);
      for (const [name, call] of calls) expect(await outcome(b, call), name).toEqual(await outcome(a, call));
      expect((await b.getJob(JOB.id)).stages[0]!.attempts).toHaveLength(2);
      expect(await outcome(b, (c) => c.getJob('nope'))).toEqual({ exit: ExitCode.NotFound, line: 'no job nope: 100% gone, ünïcode\nline two' });
    } finally {
      a.close();
      b.close();
    }
  });

  it('TLS: the server certificate is checked against the fleet CA and the address dialled', async () => {
    const a = new MeshrunClient(tlsTarget);
    const b = lean(tlsTarget);
    try {
      for (const [name, call] of calls) expect(await outcome(b, call), name).toEqual(await outcome(a, call));
    } finally {
      a.close();
      b.close();
    }
    // a CA that did not sign the server's certificate: no connection
    const other = await makeLocalTrust(join(dir, 'other'), { natsPort: 4222, coordinatorPort: 7433 });
    const wrong = lean({ ...tlsTarget, tls: { ca: readFileSync(other.paths.caCert) } });
    const r = (await outcome(wrong, (c) => c.ready(1500))) as { exit: number; line: string };
    expect(r.exit).toBe(ExitCode.Unreachable);
    expect(r.line).toMatch(/^cannot reach the coordinator at 127\.0\.0\.1:\d+: failed to connect before the deadline/);
  }, 60_000);

  it('a deadline ends a call that does not answer; with one address, an unreachable one exits 3', async () => {
    const ch = new H2Channel(plain.address, { address: plain.address, source: 'plain gRPC' });
    try {
      await expect(ch.unary('UndrainNode', { name: 'alpha' }, Date.now() + 300)).rejects.toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED });
    } finally {
      ch.close();
    }
    const gone = lean({ address: '127.0.0.1:1', source: 'plain gRPC' });
    const r = (await outcome(gone, (c) => c.ready(500))) as { exit: number; line: string };
    expect(r.exit).toBe(ExitCode.Unreachable);
    expect(r.line).toMatch(/ECONNREFUSED/);
  });

  it('several addresses: a call moves on from one that refuses to the next', async () => {
    const c = lean({ address: `127.0.0.1:1,${plain.address}`, source: 'plain gRPC' });
    try {
      expect((await c.listNodes()).map((n) => n.name)).toEqual(['alpha', 'beta']);
      expect(c.address).toBe(plain.address);
    } finally {
      c.close();
    }
  });

  it('a standby\'s answer names the leader: both clients go there, also past an address that is not it', async () => {
    const standby = await serve(grpc.ServerCredentials.createInsecure(), () => (_c, cb) => {
      const metadata = new grpc.Metadata();
      metadata.set(LEADER_METADATA, plain.address);
      cb({ code: grpc.status.UNAVAILABLE, details: 'a standby', metadata });
    });
    const other = await serve(grpc.ServerCredentials.createInsecure(), () => (_c, cb) => cb({ code: grpc.status.UNAVAILABLE, details: 'a standby that names no leader' }));
    const address = `${standby.address},${other.address},${plain.address}`;
    try {
      for (const c of [new MeshrunClient(address), lean({ address, source: 'plain gRPC' })]) {
        try {
          await c.ready();
          expect(c.address).toBe(plain.address);
          c.rotate(); // away from the leader again: a call finds its way back through the standby's answer
          expect((await c.listNodes()).map((n) => n.name)).toEqual(['alpha', 'beta']);
          expect(c.address).toBe(plain.address);
        } finally {
          c.close();
        }
      }
    } finally {
      standby.server.forceShutdown();
      other.server.forceShutdown();
    }
  });

  it('GrpcStatus is grpc-js\'s status table', () => {
    expect(GrpcStatus).toEqual(Object.fromEntries(Object.entries(grpc.status).filter(([k]) => Number.isNaN(Number(k)))));
  });
});
