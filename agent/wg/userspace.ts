// Finds and stops wireguard-go daemons by reading /proc, because wireguard-go writes no
// pidfile and its daemonized child is reparented away from whoever started it.

import { readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** wireguard-go keeps its control socket here, one directory for every network namespace. */
export const WG_SOCKET_DIR = '/var/run/wireguard';

export function socketPath(ifname: string): string {
  return `${WG_SOCKET_DIR}/${ifname}.sock`;
}

/** Live (non-zombie) wireguard-go processes serving `ifname`, optionally only those in `netns`. */
export function findWireguardGoPids(ifname: string, netns?: string): number[] {
  const wantNs = netns === undefined ? undefined : netnsInode(netns);
  const pids: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = readProc(`/proc/${entry}/cmdline`)?.split('\0').filter((a) => a !== '');
    if (!args || basename(args[0] ?? '') !== 'wireguard-go' || args[args.length - 1] !== ifname) continue;
    const pid = Number(entry);
    if (!isAlive(pid)) continue;
    if (wantNs !== undefined && processNetnsInode(pid) !== wantNs) continue;
    pids.push(pid);
  }
  return pids;
}

/** True unless the process is gone or a zombie (a zombie holds no TUN and no socket). */
export function isAlive(pid: number): boolean {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** SIGTERM first (wireguard-go then removes its socket), SIGKILL whatever ignores it. */
export async function stopProcesses(pids: readonly number[], graceMs = 1500): Promise<void> {
  if (!(await waitGone(pids, graceMs / 3))) {
    for (const pid of pids) signal(pid, 'SIGTERM');
    if (!(await waitGone(pids, graceMs))) {
      for (const pid of pids) signal(pid, 'SIGKILL');
      await waitGone(pids, graceMs);
    }
  }
}

export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pids.every((p) => !isAlive(p))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}

/** A SIGKILLed wireguard-go leaves its socket behind; `wg show all` would then fail on it. */
export function removeStaleSocket(ifname: string): void {
  if (findWireguardGoPids(ifname).length === 0) rmSync(socketPath(ifname), { force: true });
}

function netnsInode(netns: string): number | undefined {
  try {
    return statSync(`/run/netns/${netns}`).ino;
  } catch {
    return undefined;
  }
}

function processNetnsInode(pid: number): number | undefined {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone: exactly what we wanted.
  }
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
