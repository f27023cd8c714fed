// The fleet's control traffic on its own tunnels: NATS listens only on the bus machine's mesh
// address, agents reach it through the WireGuard mesh (brought up from their saved peer sets
// before they dial the bus), and jobs run as usual - also after a node "reboots" its interface.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wgTool } from '../agent/wg/wg-tool.js';
import { waitFor } from './harness/processes.js';
import { requireNetns } from './fleet/netns.js';
import { MeshFleet, NATS_PORT } from './fleet/mesh-fleet.js';

const cap = await requireNetns(['ip', 'wg', 'wireguard-go', 'ping', 'nats-server']);
if (!cap.ok) console.warn(`mesh-nats skipped (outside CI): ${cap.reason}`);

const NODES = ['hub', 'n1', 'n2'];

function tcpProbe(host: string, port: number): string {
  return `const s = require('net').connect(${port}, '${host}'); s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1)); setTimeout(() => process.exit(2), 3000);`;
}

describe.skipIf(!cap.ok)(`NATS over the mesh (${cap.reason})`, () => {
  let f: MeshFleet;
  let hubAddr = '';

  beforeAll(async () => {
    f = await MeshFleet.start({ prefix: 'mrn', nodes: 2, hub: true });
    const mesh = await f.waitConverged(NODES);
    hubAddr = mesh.nodes.find((n) => n.name === 'hub')!.address;
  });

  afterAll(async () => {
    await f?.destroy();
  });

  const nodesReady = async (): Promise<boolean> => {
    const r = await f.cli(['nodes', '--json']);
    if (r.code !== 0) return false;
    const nodes = JSON.parse(r.stdout) as { name: string; state: string }[];
    return NODES.every((n) => nodes.some((x) => x.name === n && x.state === 'ready'));
  };

  const runJob = async (id: string, node: string): Promise<string> => {
    const sub = await f.cli(['submit', '--on', node, '--id', id, '--', 'sh', '-c', 'echo "ran on $MESHRUN_NODE"']);
    expect(sub.code, sub.stderr).toBe(0);
    const j = await waitFor(`${id} to end`, async () => {
      const r = await f.cli(['job', id, '--json']);
      const job = r.code === 0 ? (JSON.parse(r.stdout) as { state: string }) : undefined;
      return job && job.state !== 'queued' && job.state !== 'running' ? job : undefined;
    }, 30_000, 200);
    return j.state;
  };

  it('agents use tls://<mesh address of the bus machine> and work with NATS reachable only through the tunnel', async () => {
    const meshNats = `tls://${hubAddr}:${NATS_PORT}`;
    // Move the bus into the mesh: NATS now listens on the hub's mesh address and nowhere else
    // (with a server certificate for that address, from the fleet's CA).
    await f.coordinator!.kill('SIGTERM');
    await f.nats!.stop('SIGTERM');
    await f.startNats(hubAddr);
    expect(f.natsUrl).toBe(meshNats);
    await f.startCoordinator(meshNats);
    for (const n of NODES) {
      await f.agents.get(n)!.kill('SIGTERM');
      await f.startAgent(n, f.machine(n), meshNats);
    }
    await waitFor('every node ready over the mesh', nodesReady, 30_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n${f.logs()}`);
    });

    // the underlay path to NATS is closed: whatever reaches the bus goes through WireGuard
    const n1 = f.machine('n1');
    expect((await n1.exec([process.execPath, '-e', tcpProbe(f.bus.underlayIp, NATS_PORT)])).exitCode, 'NATS on the underlay').not.toBe(0);
    expect((await n1.exec([process.execPath, '-e', tcpProbe(hubAddr, NATS_PORT)])).exitCode, 'NATS on the mesh').toBe(0);
    const hubKey = (await f.mesh()).nodes.find((n) => n.name === 'hub')!.publicKey;
    const rx0 = (await wgTool.showDump(f.ifname('n1'), { netns: n1.netns })).peers.find((p) => p.publicKey === hubKey)!.rxBytes;

    expect(await runJob('over-mesh-1', 'n1')).toBe('succeeded');
    expect(await runJob('over-mesh-2', 'n2')).toBe('succeeded');
    const rx1 = (await wgTool.showDump(f.ifname('n1'), { netns: n1.netns })).peers.find((p) => p.publicKey === hubKey)!.rxBytes;
    expect(rx1, 'heartbeats and commands arrive through the tunnel from the hub').toBeGreaterThan(rx0 + 1000);
    await f.waitConverged(NODES);
  }, 120_000);

  it('a node whose interface is gone (a reboot) rebuilds it from its saved peers and reaches the bus through it', async () => {
    const meshNats = `tls://${hubAddr}:${NATS_PORT}`;
    const n2 = f.machine('n2');
    await f.agents.get('n2')!.kill('SIGKILL');
    await wgTool.deleteInterface(f.ifname('n2'), { netns: n2.netns });
    expect(await wgTool.interfaceExists(f.ifname('n2'), { netns: n2.netns })).toBe(false);
    const registered = (): number => f.agents.get('n2')!.log().split('agent registered on the bus').length;
    const before = registered();
    await f.startAgent('n2', n2, meshNats);
    // it can only register through the tunnel it makes again from its saved peers
    await waitFor('n2 back on the bus', () => registered() > before, 30_000, 100);
    await waitFor('n2 ready again', nodesReady, 30_000, 250);
    expect(await wgTool.interfaceExists(f.ifname('n2'), { netns: n2.netns })).toBe(true);
    expect(await runJob('over-mesh-3', 'n2')).toBe('succeeded');
  });
});
