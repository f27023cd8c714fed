// `meshrun mesh` (status), `meshrun mesh rotate-key NODE`, `meshrun node remove NODE`, and the
// registration of every mesh command (join and leave live in mesh-client.ts, loaded only when
// they run: they bring the WireGuard tooling).
import type { Command } from 'commander';
import { formatDuration } from '../../proto/duration.js';
import type { MeshMemberMsg, MeshStatusMsg } from '../../proto/mesh.js';
import type { RpcClient } from '../rpc-client.js';
import type { TokenCreateOptions } from './join.js';
import { ExitCode } from '../exit.js';
import { formatBytes as bytes, table } from '../format.js';

interface JsonOption {
  json?: boolean;
}

/** The interface `meshrun mesh join` creates unless --mesh-if names another. */
export const DEFAULT_CLIENT_IF = 'meshrun0';

const out = (s: string): void => void process.stdout.write(s);

export function registerMeshCommands(program: Command, client: () => Promise<RpcClient>, run: (p: Promise<number>) => void): void {
  const mesh = program.command('mesh').description('the WireGuard mesh between nodes (status by default; see docs/mesh.md)');
  mesh
    .command('status', { isDefault: true })
    .description('per node: address, applied vs desired peer-set version, in sync; per edge: handshake age and traffic')
    .option('--json')
    .action((o: JsonOption) => run(client().then((c) => meshStatusCmd(c, o))));
  mesh
    .command('rotate-key')
    .description('make a new key on NODE and move every peer to it without a gap longer than one handshake')
    .argument('<node>')
    .option('--json')
    .action((n: string, o: JsonOption) => run(client().then((c) => rotateKeyCmd(c, n, o))));
  mesh
    .command('join')
    .description('join this machine as a mesh client (it gets an address and peers to every node, and relays nothing)')
    .requiredOption('--client <name>', 'client name')
    .option('--mesh-if <name>', `interface name (default ${DEFAULT_CLIENT_IF})`)
    .option('--state-dir <dir>', 'where the client key and state live (default <state dir>/mesh-client)')
    .option('--endpoint <ip:port>', 'where nodes can reach this machine (default: none, the client dials out)')
    .option('--port <n>', 'UDP listen port (default: any)')
    .option('--json')
    .action((o) => run(import('./mesh-client.js').then(async (m) => m.meshJoinCmd(await client(), o))));
  mesh
    .command('leave')
    .description('leave the mesh: nodes drop this client, the interface is deleted')
    .option('--state-dir <dir>', 'as given to join')
    .option('--json')
    .action((o) => run(import('./mesh-client.js').then(async (m) => m.meshLeaveCmd(await client(), o))));

  const node = program.command('node').description('manage one node');
  node
    .command('remove')
    .description('forget NODE: no more placement, its mesh key revoked on every peer, its mesh address freed')
    .argument('<node>')
    .option('--json')
    .action((n: string, o: JsonOption) => run(client().then((c) => nodeRemoveCmd(c, n, o))));
  node
    .command('token')
    .description('join tokens for new nodes')
    .command('create')
    .description('print a join token: meshrun agent --join TOKEN enrolls a node with it')
    .option('--labels <k=v,...>', 'labels the enrolled node gets')
    .option('--ttl <duration>', 'how long the token is valid (default 1h)')
    .option('--uses <n>', 'how many nodes may join with it (default 1)')
    .option('--json')
    .action((o: TokenCreateOptions) => run(import('./join.js').then(async (m) => m.tokenCreateCmd(await client(), o))));
}

export async function meshStatusCmd(client: RpcClient, o: JsonOption): Promise<number> {
  await client.ready();
  const s = await client.meshStatus();
  out(o.json ? JSON.stringify(meshJson(s), null, 2) + '\n' : meshTable(s));
  return ExitCode.Ok;
}

export async function rotateKeyCmd(client: RpcClient, node: string, o: JsonOption): Promise<number> {
  await client.ready();
  const r = await client.meshRotateKey(node);
  if (o.json) out(JSON.stringify(r, null, 2) + '\n');
  else {
    out(`${r.node}: new key ${short(r.publicKey)} (was ${short(r.previousPublicKey)}), ${r.peersAcked} peer(s) moved in ${formatDuration(r.tookMs)}\n`);
    if (r.peersPending.length > 0) out(`not yet acknowledged by: ${r.peersPending.join(', ')} (they get it when they are back)\n`);
  }
  return ExitCode.Ok;
}

export async function nodeRemoveCmd(client: RpcClient, name: string, o: JsonOption): Promise<number> {
  await client.ready();
  const r = await client.removeNode(name);
  if (o.json) out(JSON.stringify(r, null, 2) + '\n');
  else {
    const mesh = r.meshMember ? `; mesh key revoked on ${r.peersAcked} peer(s), ${r.releasedAddress} freed` : '';
    out(`node ${r.name} removed${mesh} (${formatDuration(r.tookMs)})\n`);
    if (r.peersPending.length > 0) out(`not yet acknowledged by: ${r.peersPending.join(', ')} (they drop the key when they are back)\n`);
  }
  return ExitCode.Ok;
}

/** The `--json` shape of `meshrun mesh` (ages in ms; null where there is none). */
export function meshJson(s: MeshStatusMsg): unknown {
  const nodes = s.members.filter((m) => m.kind === 'node');
  const clients = s.members.filter((m) => m.kind === 'client');
  return {
    cidr: s.cidr,
    keepaliveS: s.keepaliveS,
    revokedKeys: s.revokedKeys,
    nodes: nodes.map((m) => ({
      name: m.name,
      address: m.address,
      state: m.state,
      publicKey: m.publicKey,
      endpoint: m.endpoint || null,
      desiredVersion: m.desiredVersion,
      appliedVersion: m.appliedVersion,
      inSync: m.inSync,
      rotating: m.rotating,
      statusAgeMs: m.statusAgeMs < 0 ? null : m.statusAgeMs,
      error: m.error || null,
      edges: m.edges.map((e) => ({
        peer: e.peer,
        peerKind: e.peerKind,
        publicKey: e.publicKey,
        endpoint: e.endpoint || null,
        handshakeAgeMs: e.handshakeAgeMs < 0 ? null : e.handshakeAgeMs,
        rxBytes: e.rxBytes,
        txBytes: e.txBytes,
        silentMs: e.silentMs,
        health: e.health,
      })),
    })),
    clients: clients.map((m) => ({ name: m.name, address: m.address, publicKey: m.publicKey, endpoint: m.endpoint || null })),
  };
}

export function meshTable(s: MeshStatusMsg): string {
  const lines = [`mesh ${s.cidr}, keepalive ${s.keepaliveS ? `${s.keepaliveS}s` : 'off'}${s.revokedKeys ? `, ${s.revokedKeys} revoked key(s)` : ''}\n`];
  const nodes = s.members.filter((m) => m.kind === 'node');
  const rows = [['NODE', 'ADDRESS', 'STATE', 'APPLIED/DESIRED', 'IN SYNC', 'KEY', 'ENDPOINT']];
  for (const m of nodes) rows.push([m.name, m.address, m.state, `${m.appliedVersion}/${m.desiredVersion}`, sync(m), short(m.publicKey), m.endpoint || '-']);
  lines.push(table(rows));
  const clients = s.members.filter((m) => m.kind === 'client');
  if (clients.length > 0) {
    const c = [['CLIENT', 'ADDRESS', 'KEY']];
    for (const m of clients) c.push([m.name, m.address, short(m.publicKey)]);
    lines.push('\n' + table(c));
  }
  const edges = [['FROM', 'TO', 'HANDSHAKE', 'LAST HEARD', 'RX', 'TX', 'HEALTH']];
  for (const m of nodes) {
    for (const e of m.edges) {
      edges.push([m.name, e.peerKind === 'client' ? `${e.peer} (client)` : e.peer, e.handshakeAgeMs < 0 ? 'never' : `${formatDuration(e.handshakeAgeMs)} ago`, `${formatDuration(e.silentMs)} ago`, bytes(e.rxBytes), bytes(e.txBytes), e.health]);
    }
  }
  if (edges.length > 1) lines.push('\n' + table(edges));
  return lines.join('');
}

function sync(m: MeshMemberMsg): string {
  if (m.error) return `no: ${m.error.slice(0, 60)}`;
  if (m.rotating) return 'rotating';
  if (m.statusAgeMs < 0) return 'unknown';
  return m.inSync ? 'yes' : 'no';
}

function short(key: string): string {
  return key ? `${key.slice(0, 8)}…` : '-';
}

