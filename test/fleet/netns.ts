// Test harness: a fleet of "machines" as network namespaces on a private bridge (in its own
// namespace, so the host's root namespace is untouched), with teardown that survives failures.
//
// Usage: `const cap = await requireNetns(['wg'])` at the top of a test file (skips with a
// reason locally, throws in CI), then `createFleet({ prefix: 'mr', count: 3 })` in beforeAll
// and `fleet.destroy()` in afterAll. Names carry a random part, so concurrent runs never collide.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

/** A process started by Machine.spawn: an execa subprocess whose promise never rejects. */
export type FleetChild = ResultPromise<{ reject: false; stdin: 'ignore' }>;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Machine {
  name: string;
  index: number;
  netns: string;
  /** Address on the shared underlay bridge, without prefix length. */
  underlayIp: string;
  /** Runs argv inside the namespace; never throws on a non-zero exit. */
  exec(argv: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** A long-lived child inside the namespace, killed by destroy(); its promise never rejects. */
  spawn(argv: readonly string[]): FleetChild;
}

export interface Fleet {
  id: string;
  machines: Machine[];
  bridgeNetns: string;
  /** The underlay /24, e.g. 10.213.57.0/24. */
  subnet: string;
  /** Cuts / restores a machine's cable (its bridge port), leaving the machine's own config alone. */
  linkDown(m: Machine): Promise<void>;
  linkUp(m: Machine): Promise<void>;
  /** Idempotent; removes namespaces, processes in them and wireguard-go sockets they left. */
  destroy(): Promise<void>;
}

interface FleetState {
  namespaces: string[];
  children: Set<FleetChild>;
  destroyed: boolean;
}

const live = new Set<FleetState>();

export async function createFleet(opts: { prefix?: string; count: number }): Promise<Fleet> {
  if (opts.count < 1 || opts.count > 250) throw new Error(`fleet count must be 1..250, got ${opts.count}`);
  const k = randomBytes(1)[0] ?? 0;
  // A namespace is recorded for teardown only once we created it, so a name clash with another
  // run never leads us to delete that run's namespace; a clash on the id just picks another.
  const state: FleetState = { namespaces: [], children: new Set(), destroyed: false };
  let id = '';
  for (let tries = 0; state.namespaces.length === 0; tries++) {
    id = `${opts.prefix ?? 'mr'}${randomBytes(2).toString('hex')}`;
    const add = spawnSync('ip', ['netns', 'add', `${id}-br`], { encoding: 'utf8' });
    if (add.status === 0) state.namespaces.push(`${id}-br`);
    else if (tries >= 4 || !/exists/i.test(add.stderr ?? '')) throw new Error(`ip netns add ${id}-br failed: ${String(add.stderr || add.error).trim()}`);
  }
  const bridgeNetns = `${id}-br`;
  live.add(state);
  installExitHook();
  let destroying: Promise<void> | undefined;
  const destroy = (): Promise<void> => (destroying ??= Promise.resolve().then(() => teardown(state)));
  try {
    ip('-n', bridgeNetns, 'link', 'set', 'lo', 'up');
    ip('-n', bridgeNetns, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', bridgeNetns, 'link', 'set', 'br0', 'up');
    const machines: Machine[] = [];
    for (let i = 0; i < opts.count; i++) {
      const netns = `${id}-n${i}`;
      const underlayIp = `10.213.${k}.${i + 1}`;
      ip('netns', 'add', netns);
      state.namespaces.push(netns);
      ip('-n', netns, 'link', 'set', 'lo', 'up');
      // Created inside the bridge namespace with the peer end moved straight into the machine.
      ip('-n', bridgeNetns, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
      ip('-n', bridgeNetns, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      ip('-n', netns, 'addr', 'add', `${underlayIp}/24`, 'dev', 'eth0');
      ip('-n', netns, 'link', 'set', 'eth0', 'up');
      machines.push(machine(state, `n${i}`, i, netns, underlayIp));
    }
    const port = (m: Machine, updown: 'up' | 'down'): Promise<void> =>
      Promise.resolve(void ip('-n', bridgeNetns, 'link', 'set', `p${m.index}`, updown));
    return {
      id,
      machines,
      bridgeNetns,
      subnet: `10.213.${k}.0/24`,
      linkDown: (m) => port(m, 'down'),
      linkUp: (m) => port(m, 'up'),
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** Can this process build namespaces with TUN devices? `reason` says why not, or what was found. */
export async function canUseNetns(): Promise<{ ok: boolean; reason: string }> {
  if (process.platform !== 'linux') return { ok: false, reason: `platform is ${process.platform}, not linux` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
  if (!existsSync('/dev/net/tun')) return { ok: false, reason: '/dev/net/tun is missing' };
  const probe = `mrprobe${randomBytes(3).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return { ok: false, reason: `ip netns add failed: ${(add.stderr || String(add.error)).trim()}` };
  spawnSync('ip', ['netns', 'del', probe]);
  return { ok: true, reason: 'root, ip netns and /dev/net/tun available' };
}

/** canUseNetns plus the tools a suite needs; throws (fails the suite) when CI is set and it is not ok. */
export async function requireNetns(tools: readonly string[] = []): Promise<{ ok: boolean; reason: string }> {
  const cap = await canUseNetns();
  return ciGate(cap.ok ? toolsOnPath(tools) : cap);
}

/** For suites that need tools but no namespaces; the same CI rule applies. */
export function requireTools(tools: readonly string[]): { ok: boolean; reason: string } {
  return ciGate(toolsOnPath(tools));
}

function toolsOnPath(tools: readonly string[]): { ok: boolean; reason: string } {
  const missing = tools.filter((t) => !onPath(t));
  return missing.length > 0 ? { ok: false, reason: `missing tools: ${missing.join(', ')}` } : { ok: true, reason: 'all tools found' };
}

function ciGate(cap: { ok: boolean; reason: string }): { ok: boolean; reason: string } {
  if (!cap.ok && process.env.CI) throw new Error(`CI is set but this suite cannot run: ${cap.reason}`);
  return cap;
}

function machine(state: FleetState, name: string, index: number, netns: string, underlayIp: string): Machine {
  const wrap = (argv: readonly string[]): [string, string[]] => ['ip', ['netns', 'exec', netns, ...argv]];
  return {
    name,
    index,
    netns,
    underlayIp,
    async exec(argv, o = {}) {
      const r = await execa(...wrap(argv), { reject: false, timeout: o.timeoutMs ?? 30_000, stdin: 'ignore' });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    spawn(argv) {
      const child = execa(...wrap(argv), { reject: false, stdin: 'ignore' });
      state.children.add(child);
      void child.finally(() => state.children.delete(child));
      return child;
    },
  };
}

/** Synchronous on purpose: the same code must run from a process 'exit' hook. */
function teardown(state: FleetState): void {
  if (state.destroyed) return;
  state.destroyed = true;
  for (const child of state.children) child.kill('SIGKILL');
  const pids = state.namespaces.flatMap(netnsPids);
  // wireguard-go removes its socket (shared by all namespaces) only on SIGTERM, so ask first.
  const wgNames = pids.map(wireguardGoName).filter((n): n is string => n !== undefined);
  signalAll(pids, 'SIGTERM');
  if (!waitSync(() => pids.every(gone), 1500)) signalAll(pids, 'SIGKILL');
  waitSync(() => pids.every(gone), 1500);
  for (const n of wgNames) rmSync(`/var/run/wireguard/${n}.sock`, { force: true });
  for (const ns of state.namespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  live.delete(state);
}

function netnsPids(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

function wireguardGoName(pid: number): string | undefined {
  const args = readOr(`/proc/${pid}/cmdline`).split('\0').filter(Boolean);
  return args[0]?.endsWith('wireguard-go') ? args[args.length - 1] : undefined;
}

function gone(pid: number): boolean {
  const stat = readOr(`/proc/${pid}/stat`);
  return stat === '' || / [ZX] /.test(stat.slice(stat.lastIndexOf(')')));
}

function signalAll(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Already exited.
    }
  }
}

function waitSync(done: () => boolean, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!done()) {
    if (Date.now() > deadline) return false;
    Atomics.wait(cell, 0, 0, 20);
  }
  return true;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${(r.stderr || String(r.error)).trim()}`);
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

let hooked = false;
/** Last resort when afterAll never runs: clean up on exit and on the usual terminating signals. */
function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  const cleanAll = (): void => {
    for (const s of [...live]) teardown(s);
  };
  process.once('exit', cleanAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanAll();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.once(sig, onSignal);
  }
}
