// Integration (root): real wireguard-go interfaces in harness namespaces, keys from keys.ts and
// peers from peer-diff; proves reconcile is minimal and that teardown leaves nothing behind.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureKeyPair } from '../agent/wg/keys.js';
import { diffPeers, liveStateHash, reconcilePeers } from '../agent/wg/peer-diff.js';
import { desiredStateHash, type DesiredPeer } from '../proto/mesh-hash.js';
import { findWireguardGoPids, socketPath } from '../agent/wg/userspace.js';
import { wgTool as tool, WgCommandError } from '../agent/wg/wg-tool.js';
import { createFleet, requireNetns, type Fleet, type Machine } from './fleet/netns.js';

const cap = await requireNetns(['wg', 'wireguard-go', 'ping']);
const PORT = 51820;

describe.skipIf(!cap.ok)(`wg mesh in namespaces (${cap.reason})`, () => {
  const tag = randomBytes(3).toString('hex');
  const k = randomBytes(1)[0] ?? 0;
  const ifOf = (m: Machine): string => `mrw${tag}${m.index}`;
  const meshIp = (m: Machine): string => `10.214.${k}.${m.index + 1}`;
  const pub: string[] = [];
  let fleet: Fleet | undefined;
  let keyRoot = '';
  let M: Machine[] = [];

  const desiredFor = (me: Machine, without: Machine[] = []): DesiredPeer[] =>
    M.filter((m) => m !== me && !without.includes(m)).map((m) => ({
      publicKey: pub[m.index]!,
      endpoint: `${m.underlayIp}:${PORT}`,
      allowedIps: [`${meshIp(m)}/32`],
    }));
  const ping = async (from: Machine, to: string, attempts = 1): Promise<boolean> => {
    // More than one attempt only for a first contact: a handshake initiation that reached a
    // peer not yet configured is retried by WireGuard after 5 s (REKEY_TIMEOUT).
    for (let i = 0; i < attempts; i++) {
      if ((await from.exec(['ping', '-c', '1', '-W', '2', to])).exitCode === 0) return true;
    }
    return false;
  };
  const peerOf = async (me: Machine, other: Machine) =>
    (await tool.showDump(ifOf(me), { netns: me.netns })).peers.find((p) => p.publicKey === pub[other.index]);

  beforeAll(async () => {
    keyRoot = await mkdtemp(join(tmpdir(), 'meshrun-wg-mesh-'));
    fleet = await createFleet({ prefix: 'mr', count: 3 });
    M = fleet.machines;
    for (const m of M) {
      const o = { netns: m.netns };
      const created = await tool.createInterface(ifOf(m), o);
      expect(created).toEqual({ backend: 'userspace', created: true });
      const keys = await ensureKeyPair(join(keyRoot, m.name));
      pub[m.index] = keys.publicKey;
      await tool.setPrivateKey(ifOf(m), keys.privateKeyPath, { ...o, listenPort: PORT });
      await tool.setAddress(ifOf(m), `${meshIp(m)}/24`, o);
      await tool.linkUp(ifOf(m), o);
    }
  });

  afterAll(async () => {
    try {
      await fleet?.destroy();
    } finally {
      await rm(keyRoot, { recursive: true, force: true });
    }
  });

  it('runs wireguard-go per namespace with a machine-wide socket, and create is idempotent', async () => {
    const m = M[0]!;
    expect(existsSync(socketPath(ifOf(m)))).toBe(true);
    expect(findWireguardGoPids(ifOf(m), m.netns)).toHaveLength(1);
    expect(findWireguardGoPids(ifOf(m), M[1]!.netns)).toHaveLength(0);
    expect(await tool.createInterface(ifOf(m), { netns: m.netns })).toEqual({ backend: 'userspace', created: false });
    expect(await tool.interfaceExists(ifOf(m))).toBe(false); // not in the root namespace
    const dump = await tool.showDump(ifOf(m), { netns: m.netns });
    expect(dump.interface).toMatchObject({ hasPrivateKey: true, publicKey: pub[0], listenPort: PORT });
  });

  it('wireguard-go outlives the agent that started it, which re-adopts it on restart', async () => {
    const m = M[1]!;
    const name = `mrw${tag}x`;
    const child = fileURLToPath(new URL('./fleet/wg-agent-child.ts', import.meta.url));
    const viteNode = fileURLToPath(new URL('../node_modules/vite-node/vite-node.mjs', import.meta.url));
    // The "agent" gets its own process group; SIGKILL to that whole group is a hard agent crash.
    const agent = execa(process.execPath, [viteNode, child, m.netns, name], { reject: false, detached: true, buffer: { stdout: false } });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        agent.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
        agent.once('exit', () => reject(new Error('agent child exited before creating the interface')));
      });
      expect(JSON.parse(line)).toEqual({ backend: 'userspace', created: true });
      process.kill(-agent.pid!, 'SIGKILL');
      await agent;
      expect(findWireguardGoPids(name, m.netns)).toHaveLength(1);
      expect(await tool.createInterface(name, { netns: m.netns })).toEqual({ backend: 'userspace', created: false });
      expect((await tool.showDump(name, { netns: m.netns })).interface.listenPort).toBeGreaterThan(0);
    } finally {
      agent.kill('SIGKILL');
      await tool.deleteInterface(name, { netns: m.netns });
    }
    expect(findWireguardGoPids(name)).toEqual([]);
  });

  it('refuses a name already used in another namespace (the socket is shared) and leaves no trace', async () => {
    const other = M[1]!;
    const err = await tool.createInterface(ifOf(M[0]!), { netns: other.netns }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WgCommandError);
    expect((err as WgCommandError).stderr).toMatch(/socket in use/);
    expect(await tool.interfaceExists(ifOf(M[0]!), { netns: other.netns })).toBe(false);
    expect(findWireguardGoPids(ifOf(M[0]!))).toHaveLength(1);
  });

  it('applies peers through peer-diff and the mesh pings', async () => {
    for (const m of M) {
      const r = await reconcilePeers(tool, ifOf(m), desiredFor(m), { netns: m.netns });
      expect(r.counts).toEqual({ added: 2, updated: 0, removed: 0 });
    }
    expect(await ping(M[0]!, meshIp(M[1]!), 4)).toBe(true);
    expect(await ping(M[0]!, meshIp(M[2]!), 4)).toBe(true);
    expect(await ping(M[1]!, meshIp(M[2]!), 4)).toBe(true);
  });

  it('re-applying the same desired state yields zero operations and matching hashes', async () => {
    for (const m of M) {
      const desired = desiredFor(m);
      const dump = await tool.showDump(ifOf(m), { netns: m.netns });
      expect(diffPeers(desired, dump.peers)).toEqual([]);
      expect(liveStateHash(dump, desired)).toBe(desiredStateHash(desired));
      expect((await reconcilePeers(tool, ifOf(m), desired, { netns: m.netns })).ops).toEqual([]);
    }
  });

  it('a one-peer change touches exactly that peer', async () => {
    const [n0, n1, n2] = [M[0]!, M[1]!, M[2]!];
    const before = await peerOf(n0, n1);
    expect(before?.latestHandshake).toBeGreaterThan(0);
    const desired = desiredFor(n0).map((p) =>
      p.publicKey === pub[2] ? { ...p, allowedIps: [...p.allowedIps, `10.214.${k}.200/32`] } : p,
    );
    const r = await reconcilePeers(tool, ifOf(n0), desired, { netns: n0.netns });
    expect(r.ops).toHaveLength(1);
    expect(r.ops[0]).toMatchObject({ kind: 'update', publicKey: pub[2], changed: ['allowedIps'] });
    const after = await peerOf(n0, n1);
    expect(after?.latestHandshake).toBe(before?.latestHandshake);
    expect(after?.rxBytes).toBeGreaterThanOrEqual(before?.rxBytes ?? 0);
    expect((await peerOf(n0, n2))?.allowedIps.sort()).toEqual([`${meshIp(n2)}/32`, `10.214.${k}.200/32`].sort());
    expect(await ping(n0, meshIp(n1))).toBe(true);
  });

  it('removing a peer breaks ping to it and only to it', async () => {
    const [n0, n1, n2] = [M[0]!, M[1]!, M[2]!];
    const r = await reconcilePeers(tool, ifOf(n0), desiredFor(n0, [n1]), { netns: n0.netns });
    expect(r.ops).toEqual([{ kind: 'remove', publicKey: pub[1] }, expect.objectContaining({ kind: 'update', publicKey: pub[2] })]);
    expect(await ping(n0, meshIp(n1))).toBe(false);
    expect(await ping(n0, meshIp(n2))).toBe(true);
  });

  it('cuts and restores a machine underlay link', async () => {
    const [n1, n2] = [M[1]!, M[2]!];
    await fleet!.linkDown(n2);
    expect(await ping(n1, n2.underlayIp)).toBe(false);
    await fleet!.linkUp(n2);
    expect(await ping(n1, n2.underlayIp, 3)).toBe(true);
  });

  it('deleteInterface stops wireguard-go and removes its socket', async () => {
    const m = M[2]!;
    await tool.deleteInterface(ifOf(m), { netns: m.netns });
    expect(await tool.interfaceExists(ifOf(m), { netns: m.netns })).toBe(false);
    expect(findWireguardGoPids(ifOf(m))).toEqual([]);
    expect(existsSync(socketPath(ifOf(m)))).toBe(false);
    await tool.deleteInterface(ifOf(m), { netns: m.netns }); // idempotent
  });

  it('destroy() removes every namespace, wireguard-go process and socket, and is idempotent', async () => {
    await fleet!.destroy();
    await fleet!.destroy();
    const { stdout } = await execa('ip', ['netns', 'list']);
    expect(stdout).not.toContain(fleet!.id);
    for (const m of M) {
      expect(findWireguardGoPids(ifOf(m))).toEqual([]);
      expect(existsSync(socketPath(ifOf(m)))).toBe(false);
    }
  });
});
