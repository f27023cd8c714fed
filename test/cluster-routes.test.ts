// The cluster `meshrun init --nats-server` writes, on loopback: three real nats-servers form
// one JetStream cluster over routes with mutual TLS, and the route port admits only the routes'
// own certificate - a user's certificate from the fleet CA (a hostile client) and a connection
// without one are refused. An existing trust root grows a cluster with --add-cluster, keeping
// the credentials it issued.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NatsServer } from '../lib/nats-server.js';
import { natsClusterServerPaths, trustRootPaths } from '../lib/trust/paths.js';
import { requireTools } from './fleet/netns.js';
import { freePort, runCli, waitFor } from './harness/processes.js';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { natsTls } from '../lib/nats.js';

const cap = requireTools(['nats-server']);
let dir: string;
const servers: NatsServer[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop('SIGKILL').catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** Completes a TLS handshake with the route port (and a first read), or says why not. */
function routeHandshake(port: number, cred: { cert: string; key: string } | undefined, ca: string): Promise<'ok' | string> {
  return new Promise((res) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: '127.0.0.1', ...(cred ?? {}), rejectUnauthorized: false });
    const done = (v: string): void => {
      s.destroy();
      res(v);
    };
    // nats-server sends INFO in clear first on a route; TLS starts after it: read until the
    // server either talks over TLS (accepted) or drops us
    s.once('secureConnect', () => setTimeout(() => done(s.destroyed ? 'closed' : 'ok'), 500));
    s.once('error', (e) => done(e.message));
    s.once('close', () => done('closed'));
    setTimeout(() => done('timeout'), 5000);
  });
}

describe.skipIf(!cap.ok)('nats-server cluster from meshrun init', () => {
  it('three servers form one cluster; the route port refuses a user certificate and none at all', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-routes-'));
    const ports = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
    const trust = join(dir, 'trust');
    const args = ['init', '--dir', trust, '--coordinator-port', String(await freePort())];
    for (let i = 0; i < 3; i++) args.push('--nats-server', `n${i + 1}=127.0.0.1:${ports[i]}:${ports[i + 3]}`);
    const two = await runCli(['init', '--dir', join(dir, 'two'), '--nats-server', 'a=127.0.0.1', '--nats-server', 'b=127.0.0.2']);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/at least 3 servers/);
    const r = await runCli([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { nats: string; natsConfigs: string[] };
    expect(out.nats).toBe(ports.slice(0, 3).map((p) => `tls://127.0.0.1:${p}`).join(','));
    for (let i = 0; i < 3; i++) servers.push(await NatsServer.start({ dir: join(dir, `s${i}`), config: natsClusterServerPaths(trust, `n${i + 1}`).config }));

    const p = trustRootPaths(trust);
    // one JetStream: a stream made through any server has its three replicas on the three
    const nc = await connect({ servers: out.nats.split(','), authenticator: credsAuthenticator(readFileSync(p.coordinatorCreds)), tls: natsTls(out.nats, p.caCert) });
    try {
      const jsm = await waitFor('the cluster to elect a JetStream leader', async () => {
        try {
          const m = await jetstreamManager(nc, { timeout: 2000 });
          await m.getAccountInfo();
          return m;
        } catch {
          return undefined;
        }
      }, 30_000, 500);
      // the meta leader may answer before it knows all three peers: "no suitable peers for placement"
      const info = await waitFor('a stream with three replicas', async () => {
        try {
          return await jsm.streams.add({ name: 'ROUTES_TEST', subjects: ['routes.test'], num_replicas: 3 });
        } catch (err) {
          if (/no suitable peers/i.test((err as Error).message)) return undefined;
          throw err;
        }
      }, 30_000, 500);
      expect(1 + (info.cluster?.replicas?.length ?? 0)).toBe(3);
    } finally {
      await nc.close();
    }

    const ca = readFileSync(p.routeCaCert, 'utf8');
    const route = { cert: readFileSync(p.routeCert, 'utf8'), key: readFileSync(p.routeKey, 'utf8') };
    const admin = parse(readFileSync(p.adminConfig, 'utf8')) as { contexts: Record<string, { cert: string; key: string }> };
    const user = Object.values(admin.contexts)[0]!;
    expect(await routeHandshake(ports[3]!, route, ca), 'the routes\' certificate is a route').toBe('ok');
    expect(await routeHandshake(ports[3]!, { cert: user.cert, key: user.key }, ca), 'an admin certificate from the fleet CA').not.toBe('ok');
    expect(await routeHandshake(ports[3]!, undefined, ca), 'no certificate').not.toBe('ok');
  }, 60_000);

  it('--add-cluster writes cluster configs into an existing trust root and keeps what it issued', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-routes-'));
    const trust = join(dir, 'trust');
    expect((await runCli(['init', '--dir', trust])).code).toBe(0);
    const p = trustRootPaths(trust);
    const before = { trust: readFileSync(p.trust, 'utf8'), ca: readFileSync(p.caCert, 'utf8'), creds: readFileSync(p.coordinatorCreds, 'utf8') };
    const r = await runCli(['init', '--dir', trust, '--add-cluster', '--nats-server', 'b1=10.0.0.1', '--nats-server', 'b2=10.0.0.2', '--nats-server', 'b3=10.0.0.3']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(p.trust, 'utf8')).toBe(before.trust);
    expect(readFileSync(p.caCert, 'utf8')).toBe(before.ca);
    expect(readFileSync(p.coordinatorCreds, 'utf8')).toBe(before.creds);
    const conf = readFileSync(natsClusterServerPaths(trust, 'b2').config, 'utf8');
    expect(conf).toMatch(/server_name: "b2"/);
    expect(conf).toMatch(/routes: \["nats-route:\/\/10\.0\.0\.1:6222", "nats-route:\/\/10\.0\.0\.2:6222", "nats-route:\/\/10\.0\.0\.3:6222"\]/);
    expect(conf).toMatch(/verify: true/);
    // nats-server's certificate names every server now
    const { X509Certificate } = await import('node:crypto');
    const san = new X509Certificate(readFileSync(p.natsCert)).subjectAltName ?? '';
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) expect(san).toContain(ip);
    const bad = await runCli(['init', '--dir', trust, '--add-cluster']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--add-cluster needs the servers/);
  }, 60_000);
});
