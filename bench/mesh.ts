// Bench of the agent's mesh path end to end: a desired set pushed over a real nats-server to a
// MeshManager that owns a real interface in a throwaway namespace, timed from request to ack
// (persist, diff, `wg set`, re-read, hash). Beside bench/wg.ts, which times the diff alone.
// The bus is the secured one: nats-server on a trust root's config, the pushes sent with the
// coordinator's credential, the manager on the node's own, both over TLS.
import { natsTls } from '../lib/nats.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { MeshManager } from '../agent/mesh/mesh-manager.js';
import { createWgTool, execaRunner, wgTool, type Runner } from '../agent/wg/wg-tool.js';
import { buildDesired } from '../coordinator/mesh/desired-set.js';
import { meshCommandReplySchema, type MeshDesired, type MeshMemberRecord, type MeshPeer } from '../proto/mesh.js';
import { Subjects } from '../proto/subjects.js';
import { silentLogger } from '../lib/log.js';
import { NatsServer, natsServerAvailable } from '../lib/nats-server.js';
import { freePort } from '../lib/free-port.js';
import { issueNodeCreds, makeLocalTrust } from '../lib/trust/local-trust.js';
import { nodeInboxPrefix } from '../proto/permissions.js';
import { row, SkipSection, type BenchContext, type Row, type Section } from './report.js';

const PEERS = 200;
const TRIALS = 5;

export const meshSection: Section = {
  name: 'mesh',
  async run(ctx: BenchContext): Promise<Row[]> {
    if (process.getuid?.() !== 0) throw new SkipSection('needs root (network namespaces, WireGuard interfaces)');
    if (!natsServerAvailable()) throw new SkipSection('nats-server is not installed');
    ctx.progress(`mesh: agent push -> ack of ${PEERS} peers and of a one-peer change, ${TRIALS} trials`);
    const tag = randomBytes(3).toString('hex');
    const netns = `mrbm${tag}`;
    const ifname = `mrbm${tag}`;
    const dir = await mkdtemp(join(tmpdir(), 'meshrun-bench-mesh-'));
    // The agent runs inside its machine's namespace; here every command is sent into one instead.
    const inNs: Runner = (argv, opts) => execaRunner(argv[0] === 'ip' && argv[1] === 'netns' ? argv : ['ip', 'netns', 'exec', netns, ...argv], opts);
    let nats: NatsServer | undefined;
    let nc: NatsConnection | undefined;
    let agentNc: NatsConnection | undefined;
    let mgr: MeshManager | undefined;
    try {
      const trust = await makeLocalTrust(join(dir, 'trust'), { natsPort: await freePort(), coordinatorPort: await freePort() });
      const p = trust.paths;
      nats = await NatsServer.start({ dir: join(dir, 'nats'), config: p.natsConfig });
      const nodeCreds = join(dir, 'bench.creds');
      await issueNodeCreds(p.dir, 'bench', nodeCreds);
      const coordinatorNc = await connect({ servers: nats.url, authenticator: credsAuthenticator(readFileSync(p.coordinatorCreds)), tls: natsTls(nats.url, p.caCert) });
      nc = coordinatorNc;
      agentNc = await connect({ servers: nats.url, authenticator: credsAuthenticator(readFileSync(nodeCreds)), tls: natsTls(nats.url, p.caCert), inboxPrefix: nodeInboxPrefix('bench') });
      await wgTool.createNetns(netns);
      mgr = new MeshManager({ node: 'bench', ifname, listenPort: 51820, stateDir: join(dir, 'agent'), log: silentLogger, tool: createWgTool(inNs), statsEveryMs: 60_000 });
      await mgr.start();
      mgr.attach(agentNc);
      const push = async (d: MeshDesired) => {
        const t = performance.now();
        const msg = await coordinatorNc.request(Subjects.meshCommand('bench'), JSON.stringify(d), { timeout: 30_000 });
        const ms = performance.now() - t;
        const r = meshCommandReplySchema.parse(JSON.parse(new TextDecoder().decode(msg.data)));
        if (!r.ok || r.version !== d.version || r.liveHash !== d.hash) throw new Error(`push v${d.version} not applied: ${r.error ?? JSON.stringify(r)}`);
        return { ms, touched: (r.changes?.added ?? 0) + (r.changes?.updated ?? 0) + (r.changes?.removed ?? 0) };
      };
      const self: MeshMemberRecord = { name: 'bench', kind: 'node', address: '10.215.0.1', publicKey: randomBytes(32).toString('base64'), endpoint: null, rotation: null, createdAt: 0, desiredVersion: 0, desiredHash: null };
      const full: number[] = [];
      const one: number[] = [];
      let version = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        // Real-looking peers on loopback endpoints, no keepalive: nothing is ever sent.
        const peers: MeshPeer[] = Array.from({ length: PEERS }, (_, i) => ({
          name: `p${i}`,
          kind: 'node',
          publicKey: randomBytes(32).toString('base64'),
          endpoint: `127.0.0.1:${20000 + i}`,
          allowedIps: [`10.215.${1 + Math.floor(i / 250)}.${1 + (i % 250)}/32`],
          persistentKeepalive: 0,
        }));
        await push(buildDesired(self, [], `e${trial}`, ++version, 16)); // empty interface
        const a = await push(buildDesired(self, peers, `e${trial}`, ++version, 16));
        if (a.touched !== PEERS) throw new Error(`the ${PEERS}-peer apply touched ${a.touched} peers`);
        full.push(a.ms);
        const changed = peers.map((p, i) => (i === 42 ? { ...p, endpoint: '127.0.0.1:31000' } : p));
        const b = await push(buildDesired(self, changed, `e${trial}`, ++version, 16));
        if (b.touched !== 1) throw new Error(`the one-peer change touched ${b.touched} peers`);
        one.push(b.ms);
      }
      const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      return [
        row(`agent: push -> ack, ${PEERS} peers onto an empty interface (median of ${TRIALS})`, med(full), 'ms'),
        row(`agent: push -> ack, one-peer change among ${PEERS} (median of ${TRIALS})`, med(one), 'ms', med(full), 'vs the 200-peer push; touched exactly 1 peer'),
      ];
    } finally {
      await mgr?.close();
      await agentNc?.close().catch(() => undefined);
      await nc?.close().catch(() => undefined);
      await nats?.stop();
      await wgTool.deleteInterface(ifname, { netns }).catch(() => undefined);
      await wgTool.deleteNetns(netns).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  },
};
