// `meshrun mesh join --client NAME` and `meshrun mesh leave`: the workstation makes its own key,
// registers only the public half, and sets up an interface with peers to the fleet's nodes.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/write-file-atomic.js';
import { ensureKeyPair } from '../../agent/wg/keys.js';
import { reconcilePeers } from '../../agent/wg/peer-diff.js';
import { checkIfname, wgTool } from '../../agent/wg/wg-tool.js';
import { meshPeerSchema, type MeshJoinMsg } from '../../proto/mesh.js';
import { toDesiredPeers } from '../../proto/mesh-hash.js';
import { isValidName } from '../../proto/names.js';
import type { RpcClient } from '../rpc-client.js';
import { defaultStateDir } from '../config.js';
import { ExitCode, ExitError } from '../exit.js';
import { DEFAULT_CLIENT_IF } from './mesh.js';

const STATE_FILE = 'client.json';

export interface JoinOptions {
  client?: string;
  meshIf?: string;
  stateDir?: string;
  endpoint?: string;
  port?: string;
  json?: boolean;
}

export interface LeaveOptions {
  stateDir?: string;
  json?: boolean;
}

interface ClientState {
  client: string;
  ifname: string;
  address: string;
  coordinator: string;
  joinedAt: string;
}

const out = (s: string): void => void process.stdout.write(s);

function clientDir(o: { stateDir?: string }): string {
  return o.stateDir ?? join(defaultStateDir(), 'mesh-client');
}

function readState(dir: string): ClientState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as ClientState;
  } catch {
    return undefined;
  }
}

export async function meshJoinCmd(client: RpcClient, o: JoinOptions): Promise<number> {
  const name = o.client ?? '';
  if (!isValidName(name)) throw new ExitError(ExitCode.Usage, `--client ${name}: letters, digits, "-" and "_" (at most 63)`);
  const dir = clientDir(o);
  const prev = readState(dir);
  const ifname = o.meshIf ?? prev?.ifname ?? DEFAULT_CLIENT_IF;
  try {
    checkIfname(ifname);
  } catch {
    throw new ExitError(ExitCode.Usage, `--mesh-if ${ifname}: 1-15 letters, digits, "_", "-" or "."`);
  }
  const port = o.port === undefined ? undefined : Number(o.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new ExitError(ExitCode.Usage, `--port ${o.port}: expected a UDP port`);
  // The key is made here and only its public half leaves this machine.
  const keys = await ensureKeyPair(dir);
  await client.ready();
  const r: MeshJoinMsg = await client.meshJoin(name, keys.publicKey, o.endpoint ?? '');
  const peers = r.peers.map((p) =>
    meshPeerSchema.parse({ ...p, endpoint: p.endpoint === '' ? undefined : p.endpoint, allowedIps: p.allowedIps }),
  );

  if (prev && prev.ifname === ifname && prev.address !== r.address) await wgTool.deleteInterface(ifname);
  await wgTool.createInterface(ifname);
  const dump = await wgTool.showDump(ifname);
  if (dump.interface.publicKey !== keys.publicKey || (port !== undefined && dump.interface.listenPort !== port)) {
    await wgTool.setPrivateKey(ifname, keys.privateKeyPath, port === undefined ? {} : { listenPort: port });
  }
  await wgTool.setAddress(ifname, `${r.address}/${r.prefixLength}`);
  await wgTool.linkUp(ifname);
  const applied = await reconcilePeers(wgTool, ifname, toDesiredPeers(peers));
  const state: ClientState = { client: name, ifname, address: r.address, coordinator: client.address, joinedAt: new Date().toISOString() };
  writeFileAtomic(join(dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');

  if (o.json) {
    out(JSON.stringify({ ...state, cidr: r.cidr, peers: peers.map((p) => ({ name: p.name, address: p.allowedIps[0], endpoint: p.endpoint ?? null })), applied: applied.counts, nodesPending: r.nodesPending }, null, 2) + '\n');
  } else {
    out(`joined the mesh as client ${name}: ${r.address}/${r.prefixLength} on ${ifname}, ${peers.length} node peer(s)\n`);
    for (const p of peers) out(`  ${p.name.padEnd(16)} ${p.allowedIps[0]}  ${p.endpoint ?? '(no endpoint)'}\n`);
    if (r.nodesPending.length > 0) out(`not yet acknowledged by: ${r.nodesPending.join(', ')} (they accept this client as soon as they apply their peers)\n`);
    out('run `meshrun mesh join` again to pick up fleet changes; `meshrun mesh leave` removes the interface\n');
  }
  return ExitCode.Ok;
}

export async function meshLeaveCmd(client: RpcClient, o: LeaveOptions): Promise<number> {
  const dir = clientDir(o);
  const state = readState(dir);
  if (!state) throw new ExitError(ExitCode.NotFound, `not joined: no ${join(dir, STATE_FILE)} (use --state-dir if you joined with one)`);
  let told: { releasedAddress: string } | undefined;
  let why = '';
  try {
    await client.ready();
    told = await client.meshLeave(state.client);
  } catch (err) {
    if (err instanceof ExitError && err.exitCode === ExitCode.NotFound) told = { releasedAddress: state.address };
    else why = (err as Error).message;
  }
  // Nothing in the fleet depends on this interface: it goes either way.
  await wgTool.deleteInterface(state.ifname);
  if (!told) {
    throw new ExitError(ExitCode.Unreachable, `interface ${state.ifname} removed, but the coordinator was not told (${why}); run \`meshrun mesh leave\` again when it is reachable so nodes drop this client`);
  }
  rmSync(join(dir, STATE_FILE), { force: true });
  if (o.json) out(JSON.stringify({ client: state.client, ifname: state.ifname, releasedAddress: told.releasedAddress }, null, 2) + '\n');
  else out(`left the mesh: client ${state.client} (${told.releasedAddress}) removed from every node, ${state.ifname} deleted\n`);
  return ExitCode.Ok;
}
