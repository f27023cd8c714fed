// Three machines (network namespaces) each with a real agent owning a real WireGuard interface,
// NATS and the coordinator on a fourth: the mesh comes up from pushed peer sets, carries ping, TCP
// and a job's traffic, shows a cut link as a stale handshake, and outlives the coordinator.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness/processes.js';
import { requireNetns } from './fleet/netns.js';
import { MeshFleet, type MeshJson } from './fleet/mesh-fleet.js';

const cap = await requireNetns(['ip', 'wg', 'wireguard-go', 'ping', 'nats-server']);
if (!cap.ok) console.warn(`mesh-fleet skipped (outside CI): ${cap.reason}`);

const NODES = ['n1', 'n2', 'n3'];

/** A tiny TCP service: answers every connection with a line naming where it runs, then closes. */
function serviceScript(host: string, port: number, name: string): string {
  return `require('net').createServer((s) => s.end('hello from ${name} over the mesh\\n')).listen(${port}, '${host}', () => console.log('listening'))`;
}
function clientScript(host: string, port: number): string {
  return `const s = require('net').connect(${port}, '${host}'); let b = ''; s.on('data', (d) => (b += d)); s.on('end', () => { process.stdout.write(b); process.exit(0); }); s.on('error', (e) => { console.error(e.message); process.exit(1); }); setTimeout(() => process.exit(2), 5000);`;
}

describe.skipIf(!cap.ok)(`mesh of three agents in namespaces (${cap.reason})`, () => {
  let f: MeshFleet;
  let addr: Record<string, string> = {};

  beforeAll(async () => {
    f = await MeshFleet.start({ prefix: 'mrm', nodes: 3 });
    const mesh = await f.waitConverged(NODES);
    addr = Object.fromEntries(mesh.nodes.map((n) => [n.name, n.address]));
  });

  afterAll(async () => {
    await f?.destroy();
  });

  it('allocates one address per node from the CIDR and every node applies the version it was given', async () => {
    const mesh = await f.mesh();
    expect(mesh.cidr).toBe('10.99.0.0/24');
    expect(mesh.nodes.map((n) => n.name)).toEqual(NODES);
    expect(new Set(mesh.nodes.map((n) => n.address)).size).toBe(3);
    for (const n of mesh.nodes) {
      expect(n.address).toMatch(/^10\.99\.0\.\d+$/);
      expect(n.appliedVersion).toBe(n.desiredVersion);
      expect(n.inSync).toBe(true);
      expect(n.edges.map((e) => e.peer).sort()).toEqual(NODES.filter((x) => x !== n.name));
    }
    // the private key stays on its node: 0600 in a 0700 directory, and never in what the coordinator knows
    const key = `${f.agentDir('n1')}/mesh/wg.key`;
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(`${f.agentDir('n1')}/mesh`).mode & 0o777).toBe(0o700);
    expect(JSON.stringify(mesh)).not.toContain(readFileSync(key, 'utf8').trim());
  });

  it('three nodes reach each other by ping and TCP over their mesh addresses', async () => {
    for (const from of NODES) {
      for (const to of NODES) {
        if (from === to) continue;
        expect(await f.ping(f.machine(from), addr[to]!, 5), `${from} -> ${to} ping`).toBe(true);
      }
    }
    const server = f.machine('n3').spawn([process.execPath, '-e', serviceScript(addr.n3!, 7000, 'n3')]);
    try {
      await waitFor('service on n3', async () => (await f.machine('n1').exec([process.execPath, '-e', clientScript(addr.n3!, 7000)])).exitCode === 0, 10_000, 200);
      for (const from of ['n1', 'n2']) {
        const r = await f.machine(from).exec([process.execPath, '-e', clientScript(addr.n3!, 7000)]);
        expect(r.stdout, r.stderr).toBe('hello from n3 over the mesh');
      }
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('a job on one node reaches a service on another over the mesh', async () => {
    const server = f.machine('n2').spawn([process.execPath, '-e', serviceScript(addr.n2!, 7001, 'n2')]);
    try {
      await waitFor('service on n2', async () => (await f.machine('n2').exec([process.execPath, '-e', clientScript(addr.n2!, 7001)])).exitCode === 0, 10_000, 200);
      const sub = await f.cli(['submit', '--on', 'n1', '--id', 'mesh-job-1', '--', process.execPath, '-e', clientScript(addr.n2!, 7001)]);
      expect(sub.code, `${sub.stdout}\n${sub.stderr}`).toBe(0);
      const job = await waitFor('mesh-job-1 to end', async () => {
        const r = await f.cli(['job', 'mesh-job-1', '--json']);
        const j = r.code === 0 ? (JSON.parse(r.stdout) as { state: string; stages: { node: string }[] }) : undefined;
        return j && j.state !== 'queued' && j.state !== 'running' ? j : undefined;
      }, 30_000, 200);
      expect(job.state, f.logs()).toBe('succeeded');
      expect(job.stages[0]!.node).toBe('n1');
      // the run's own log on n1 (runner files), written by the job process itself
      expect(readFileSync(join(f.agentDir('n1'), 'runs', 'mesh-job-1', 'run.1.log'), 'utf8')).toContain('hello from n2 over the mesh');
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('a cut link between two nodes shows as a stale handshake in `meshrun mesh`, and heals', async () => {
    const edge = (m: MeshJson, from: string, to: string) => m.nodes.find((n) => n.name === from)!.edges.find((e) => e.peer === to)!;
    const before = await f.mesh();
    expect(edge(before, 'n1', 'n2').health).toBe('ok');
    const cutAt = Date.now();
    // n2's cable is pulled: the coordinator loses it too, but what matters is n1's view of the edge
    await f.net.linkDown(f.machine('n2'));
    try {
      const stale = await waitFor('n1 -> n2 edge stale', async () => {
        const m = await f.mesh();
        return edge(m, 'n1', 'n2').health === 'stale' ? m : undefined;
      }, 30_000, 500);
      const e = edge(stale, 'n1', 'n2');
      console.info(`mesh: cut link seen as stale after ${Date.now() - cutAt} ms (handshake ${e.handshakeAgeMs} ms ago, silent ${e.silentMs} ms)`);
      expect(e.silentMs).toBeGreaterThan(stale.keepaliveS * 2000);
      expect(edge(stale, 'n1', 'n3').health, 'the other edge is untouched').toBe('ok');
    } finally {
      await f.net.linkUp(f.machine('n2'));
    }
    await waitFor('n1 -> n2 edge healthy again', async () => edge(await f.mesh(), 'n1', 'n2').health === 'ok', 30_000, 500);
    expect(await f.ping(f.machine('n1'), addr.n2!, 5)).toBe(true);
  });

  it('agents keep their tunnels while the coordinator is down, also across an agent restart', async () => {
    await f.coordinator!.kill('SIGKILL');
    try {
      await f.agents.get('n2')!.kill('SIGKILL');
      // wireguard-go outlives the agent; a restarted agent re-applies its saved peers without any coordinator
      f.agents.get('n2')!.restart();
      await waitFor('n2 agent re-applied its saved peers', () => /mesh interface up/.test(f.agents.get('n2')!.log().split('agent state changed').pop() ?? ''), 15_000);
      for (const [from, to] of [['n1', 'n2'], ['n2', 'n3'], ['n3', 'n1']] as const) {
        expect(await f.ping(f.machine(from), addr[to]!, 3), `${from} -> ${to} with no coordinator`).toBe(true);
      }
    } finally {
      f.coordinator!.restart();
    }
    await waitFor('coordinator back', async () => (await f.cli(['nodes', '--json'])).code === 0, 20_000);
    const mesh = await f.waitConverged(NODES);
    // same addresses after the coordinator restart: they live in JetStream KV
    expect(Object.fromEntries(mesh.nodes.map((n) => [n.name, n.address]))).toEqual(addr);
  });
});
