// Users and roles on the gRPC API, against a real secured fleet (trust root, TLS, client
// certificates): each role can do what it should and is refused the rest with nothing done;
// callers without a registered certificate get nothing at all; every mutating or refused call
// is in the durable audit trail; unsafe daemon settings are refused before anything starts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueCert } from '../lib/trust/x509.js';
import { requireTools } from './fleet/netns.js';
import { Fleet, runCli, type CliResult } from './harness/processes.js';
import { rawCall } from './harness/raw-grpc.js';

const cap = requireTools(['nats-server']);

interface AuditLine {
  at: string;
  user: string;
  role: string;
  method: string;
  target: string;
  peer: string;
  outcome: string;
  detail: string;
}

describe.skipIf(!cap.ok)(`users and roles on the API (${cap.reason})`, () => {
  let fleet: Fleet;
  let viewer: string;
  let operator: string;
  const as = (config: string, args: string[]): Promise<CliResult> => fleet.cli(args, { env: { MESHRUN_CONFIG: config } });

  beforeAll(async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }] });
    viewer = join(fleet.dir, 'vic.yaml');
    operator = join(fleet.dir, 'olga.yaml');
    for (const [name, role, file] of [['vic', 'viewer', viewer], ['olga', 'operator', operator]] as const) {
      const r = await fleet.cli(['user', 'add', name, '--role', role, '-o', file]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  it('whoami names the user and role the certificate belongs to', async () => {
    for (const [config, who] of [[fleet.trust.paths.adminConfig, 'admin'], [viewer, 'vic'], [operator, 'olga']] as const) {
      const r = await as(config, ['whoami', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ user: who, role: who === 'vic' ? 'viewer' : who === 'olga' ? 'operator' : 'admin' });
    }
    const users = JSON.parse((await fleet.cli(['user', 'list', '--json'])).stdout) as { name: string; role: string; createdBy: string }[];
    expect(users.map((u) => `${u.name}:${u.role}:${u.createdBy}`).sort()).toEqual(['admin:admin:meshrun init', 'olga:operator:admin', 'vic:viewer:admin']);
  });

  it('a viewer reads jobs and nodes but cannot submit, cancel or drain: refused, nothing run', async () => {
    expect((await as(viewer, ['nodes'])).stdout).toMatch(/alpha\s+ready/);
    const sub = await as(viewer, ['submit', '--on', 'alpha', '--id', 'v-1', '--', 'touch', join(fleet.dir, 'viewer-ran')]);
    expect(sub.code).toBe(5);
    expect(sub.stderr).toMatch(/permission denied: vic is a viewer; Submit needs the operator role/);
    expect((await fleet.cli(['job', 'v-1'])).code, 'no job v-1').toBe(4);
    const drain = await as(viewer, ['drain', 'alpha']);
    expect(drain.code).toBe(5);
    expect((await fleet.nodes()).find((n) => n.name === 'alpha')?.state).toBe('ready');
    const ok = await fleet.cli(['submit', '--on', 'alpha', '--id', 'a-1', '-f', '--', 'true']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await as(viewer, ['cancel', 'a-1'])).stderr).toMatch(/CancelJob needs the operator role/);
    expect((await as(viewer, ['job', 'a-1', '--json'])).code).toBe(0);
    expect((await as(viewer, ['logs', 'a-1'])).code).toBe(0);
  });

  it('an operator runs jobs but cannot remove nodes, make join tokens, manage users or mesh clients, or read the audit', async () => {
    const run = await as(operator, ['submit', '--on', 'alpha', '--id', 'o-1', '-f', '--', 'sh', '-c', 'echo operator ran']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('operator ran\n');
    const refused: [string[], RegExp][] = [
      [['node', 'remove', 'alpha'], /RemoveNode needs the admin role/],
      [['node', 'token', 'create'], /CreateJoinToken needs the admin role/],
      [['user', 'add', 'mallory', '--role', 'admin', '-o', join(fleet.dir, 'mallory.yaml')], /AddUser needs the admin role/],
      [['user', 'remove', 'vic'], /RemoveUser needs the admin role/],
      [['mesh', 'join', '--client', 'laptop', '--state-dir', join(fleet.dir, 'mesh-client')], /MeshJoin needs the admin role/],
      [['mesh', 'rotate-key', 'alpha'], /MeshRotateKey needs the admin role/],
      [['audit'], /ListAudit needs the admin role/],
    ];
    for (const [args, why] of refused) {
      const r = await as(operator, args);
      expect(r.code, args.join(' ')).toBe(5);
      expect(r.stderr, args.join(' ')).toMatch(why);
    }
    expect((await fleet.nodes()).map((n) => n.name)).toContain('alpha');
    expect((await as(viewer, ['whoami'])).code, 'vic still exists').toBe(0);
  });

  it('nothing is answered without a registered certificate: no config, no certificate, another CA\'s, forged role metadata', async () => {
    // no client config at all: plain gRPC, which the TLS coordinator does not speak
    const empty = mkdtempSync(join(tmpdir(), 'meshrun-noconfig-'));
    try {
      const plain = await runCli(['nodes'], { env: { MESHRUN_COORDINATOR: fleet.coordinatorAddress, XDG_CONFIG_HOME: empty, HOME: empty, MESHRUN_CONFIG: '' }, timeoutMs: 20_000 });
      expect(plain.code).toBe(3);
      expect(plain.stderr).toMatch(/no client config/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const ca = readFileSync(fleet.trust.paths.caCert);
    // TLS with the fleet's CA but no client certificate
    expect(await rawCall(fleet.coordinatorAddress, grpc.credentials.createSsl(ca), 'ListNodes', {})).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    // a client certificate named admin, signed by another CA
    const foreign = await createCa({ name: 'not the fleet', validDays: 1 });
    const fake = await issueCert(foreign, { commonName: 'admin', usage: 'client', validDays: 1 });
    const fakeConfig = join(fleet.dir, 'fake-admin.yaml');
    writeFileSync(fakeConfig, toYaml({ currentContext: 'x', contexts: { x: { coordinator: fleet.coordinatorAddress, ca: ca.toString(), cert: fake.certPem, key: fake.keyPem } } }), { mode: 0o600 });
    const forgedAdmin = await as(fakeConfig, ['node', 'remove', 'alpha']);
    expect(forgedAdmin.code).toBe(5);
    expect(forgedAdmin.stderr).toMatch(/not authenticated/);
    // a viewer claiming to be an admin in metadata the coordinator itself uses internally
    const vic = parseConfig(viewer);
    const md = new grpc.Metadata();
    md.set('x-meshrun-caller-user', 'admin');
    md.set('x-meshrun-caller-role', 'admin');
    const spoof = await rawCall(fleet.coordinatorAddress, grpc.credentials.createSsl(ca, Buffer.from(vic.key), Buffer.from(vic.cert)), 'RemoveNode', { name: 'alpha' }, md);
    expect(spoof).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    // a server whose certificate another CA signed is not trusted by the client either
    const otherCaFile = join(fleet.dir, 'other-ca.yaml');
    writeFileSync(otherCaFile, toYaml({ currentContext: 'x', contexts: { x: { coordinator: fleet.coordinatorAddress, ca: foreign.certPem, cert: vic.cert, key: vic.key } } }), { mode: 0o600 });
    const handshake = await as(otherCaFile, ['nodes']);
    expect(handshake.code).toBe(3);
    expect((await fleet.nodes()).map((n) => n.name), 'alpha was not removed').toContain('alpha');
  });

  it('user remove revokes at once; the last admin cannot be removed; a re-added user gets a new credential', async () => {
    const tmp = join(fleet.dir, 'tmp-user.yaml');
    expect((await fleet.cli(['user', 'add', 'temp', '--role', 'operator', '-o', tmp])).code).toBe(0);
    expect((await as(tmp, ['nodes'])).code).toBe(0);
    const removed = await fleet.cli(['user', 'remove', 'temp']);
    expect(removed.code, removed.stderr).toBe(0);
    const after = await as(tmp, ['nodes']);
    expect(after.code).toBe(5);
    expect(after.stderr).toMatch(/not registered to an active user/);
    const last = await fleet.cli(['user', 'remove', 'admin']);
    expect(last.code).not.toBe(0);
    expect(last.stderr).toMatch(/admin is the last admin/);
    const again = join(fleet.dir, 'tmp-user-2.yaml');
    expect((await fleet.cli(['user', 'add', 'temp', '--role', 'viewer', '-o', again])).code).toBe(0);
    expect(JSON.parse((await as(again, ['whoami', '--json'])).stdout)).toMatchObject({ user: 'temp', role: 'viewer' });
    expect((await as(tmp, ['nodes'])).code, 'the old credential stays revoked').toBe(5);
    // an existing user is not silently re-issued
    expect((await fleet.cli(['user', 'add', 'temp', '--role', 'admin', '-o', join(fleet.dir, 'x.yaml')])).stderr).toMatch(/user temp exists/);
  });

  it('the audit trail records who did what, from where, allowed or refused, and survives a coordinator restart', async () => {
    await fleet.coordinator.kill('SIGKILL');
    await fleet.startCoordinator();
    const r = await fleet.cli(['audit', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditLine);
    const has = (p: Partial<AuditLine>): boolean => lines.some((l) => Object.entries(p).every(([k, v]) => l[k as keyof AuditLine] === v));
    expect(has({ user: 'admin', role: 'admin', method: 'AddUser', target: 'vic', outcome: 'ok' })).toBe(true);
    expect(has({ user: 'vic', role: 'viewer', method: 'Submit', target: 'v-1', outcome: 'denied' })).toBe(true);
    expect(has({ user: 'olga', role: 'operator', method: 'Submit', target: 'o-1', outcome: 'ok' })).toBe(true);
    expect(has({ user: 'olga', role: 'operator', method: 'RemoveNode', target: 'alpha', outcome: 'denied' })).toBe(true);
    expect(has({ user: '', method: 'ListNodes', outcome: 'unauthenticated' })).toBe(true);
    expect(has({ user: 'admin', method: 'RemoveUser', target: 'temp', outcome: 'ok' })).toBe(true);
    expect(has({ user: 'admin', method: 'RemoveUser', target: 'admin', outcome: 'error' })).toBe(true);
    expect(lines.every((l) => /^127\.0\.0\.1:\d+$/.test(l.peer.replace(/^ipv4:/, ''))), 'each record names the caller\'s address').toBe(true);
    // reads by a caller allowed to make them are not audited
    expect(has({ user: 'vic', method: 'ListNodes' })).toBe(false);
    const future = await fleet.cli(['audit', '--json', '--since', new Date(Date.now() + 60_000).toISOString()]);
    expect(future.stdout.trim()).toBe('');
    const newest = (await fleet.cli(['audit', '--json', '--limit', '2'])).stdout.trim().split('\n');
    expect(newest).toHaveLength(2);
  });
});

describe('unsafe daemon settings are refused before anything starts', () => {
  it('a coordinator without a trust root needs --insecure, and --insecure only on loopback; an agent needs a credential', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshrun-unsafe-'));
    try {
      mkdirSync(join(dir, 's'));
      const bare = await runCli(['coordinator', '--state-dir', join(dir, 's')]);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toMatch(/needs --trust-dir/);
      const open = await runCli(['coordinator', '--insecure', '--listen', '0.0.0.0:7499', '--state-dir', join(dir, 's')]);
      expect(open.code).toBe(2);
      expect(open.stderr).toMatch(/--insecure refuses to listen on 0\.0\.0\.0:7499/);
      const agent = await runCli(['agent', '--node', 'x', '--state-dir', join(dir, 'a')]);
      expect(agent.code).toBe(2);
      expect(agent.stderr).toMatch(/the agent has no bus credential/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function parseConfig(path: string): { cert: string; key: string } {
  const cfg = parseYaml(readFileSync(path, 'utf8')) as { currentContext: string; contexts: Record<string, { cert: string; key: string }> };
  const c = cfg.contexts[cfg.currentContext]!;
  return { cert: c.cert, key: c.key };
}

/** One unary call with raw gRPC credentials: resolves with the status (or OK), never throws. */
