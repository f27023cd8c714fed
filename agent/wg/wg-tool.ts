// The one typed wrapper through which every `wg`, `ip` and `wireguard-go` call goes:
// argv in (never a shell), parsed result or a WgCommandError naming argv and stderr out.

import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { ToolError } from '../../lib/errors.js';
import { buildSetPeersArgs, checkIfname, checkNetns, type PeerSettings } from './wg-argv.js';
import { findWireguardGoPids, removeStaleSocket, socketPath, stopProcesses } from './userspace.js';
import { parseDump, type WgDump } from './wg-dump.js';

export { parseDump } from './wg-dump.js';
export { buildSetPeersArgs, checkIfname } from './wg-argv.js';
export type { PeerSettings } from './wg-argv.js';
export type { WgDump, WgDumpPeer, WgInterfaceInfo } from './wg-dump.js';

export interface NetnsOption {
  /**
   * Run inside this network namespace (`ip netns exec NS ...`; for `ip` itself `ip -n NS`, which
   * is the same without a second exec). The caller's namespace if unset.
   */
  netns?: string;
}
export type Backend = 'kernel' | 'userspace';
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}
export interface RunOptions {
  input?: string;
  /** Own session, so a daemon it leaves behind is not in the agent's process group. */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
}
/** The seam tests can replace; the default runs the argv with execa. */
export type Runner = (argv: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export class WgCommandError extends ToolError {
  readonly argv: readonly string[];
  constructor(argv: readonly string[], res: RunResult, note = '') {
    const tool = toolOf(argv);
    const stderr = res.stderr.trim();
    super(tool, `${tool} failed (exit ${res.exitCode}): ${argv.join(' ')}: ${stderr || '(no stderr)'}${note}`, {
      exitCode: res.exitCode,
      stderr,
    });
    this.name = 'WgCommandError';
    this.argv = argv;
  }
}

export interface WgTool {
  genPrivateKey(): Promise<string>;
  publicKeyOf(privateKey: string): Promise<string>;
  createInterface(name: string, o?: NetnsOption): Promise<{ backend: Backend; created: boolean }>;
  deleteInterface(name: string, o?: NetnsOption): Promise<void>;
  interfaceExists(name: string, o?: NetnsOption): Promise<boolean>;
  setPrivateKey(name: string, keyFile: string, o?: NetnsOption & { listenPort?: number }): Promise<void>;
  setAddress(name: string, cidr: string, o?: NetnsOption): Promise<void>;
  linkUp(name: string, o?: NetnsOption): Promise<void>;
  addRoute(cidr: string, name: string, o?: NetnsOption): Promise<void>;
  showDump(name: string, o?: NetnsOption): Promise<WgDump>;
  setPeer(name: string, peer: PeerSettings, o?: NetnsOption): Promise<void>;
  removePeer(name: string, publicKey: string, o?: NetnsOption): Promise<void>;
  /** A fresh namespace with loopback up (benches and tests); deleteNetns ignores a missing one. */
  createNetns(netns: string): Promise<void>;
  deleteNetns(netns: string): Promise<void>;
  /** Removals and settings in one `wg set` per chunk, so 200 peers cost a few processes, not 200. */
  setPeers(name: string, change: { set?: readonly PeerSettings[]; remove?: readonly string[] }, o?: NetnsOption): Promise<void>;
}

const TIMEOUT_MS = 30_000;

export const execaRunner: Runner = async (argv, opts = {}) => {
  const [file = '', ...args] = argv;
  const r = await execa(file, args, {
    reject: false,
    timeout: TIMEOUT_MS,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    detached: opts.detached ?? false,
    cleanup: !opts.detached,
    ...(opts.env ? { env: opts.env, extendEnv: false } : {}),
  });
  const stderr = String(r.stderr ?? '');
  const why = r.timedOut ? ' (timed out)' : r.signal ? ` (killed by ${r.signal})` : r.failed && r.exitCode === undefined ? ` (${r.shortMessage})` : '';
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: stderr + why };
};

export function createWgTool(run: Runner = execaRunner): WgTool {
  const must = async (argv: string[], opts?: RunOptions): Promise<string> => {
    const res = await run(argv, opts);
    if (res.exitCode !== 0) throw new WgCommandError(argv, res);
    return res.stdout;
  };
  const ip = (args: string[], o: NetnsOption = {}): string[] =>
    o.netns === undefined ? ['ip', ...args] : ['ip', '-n', checkNetns(o.netns), ...args];
  const wg = (args: string[], o: NetnsOption = {}): string[] => inNetns(['wg', ...args], o);

  const tool: WgTool = {
    genPrivateKey: async () => (await must(['wg', 'genkey'])).trim(),
    publicKeyOf: async (priv) => (await must(['wg', 'pubkey'], { input: `${priv.trim()}\n` })).trim(),

    async interfaceExists(name, o) {
      const argv = ip(['link', 'show', 'dev', checkIfname(name)], o);
      const res = await run(argv);
      if (res.exitCode === 0) return true;
      if (/does not exist|cannot find device/i.test(res.stderr)) return false;
      throw new WgCommandError(argv, res);
    },

    async createInterface(name, o = {}) {
      if (await tool.interfaceExists(name, o)) return { backend: await backendOf(name, o), created: false };
      const add = await run(ip(['link', 'add', name, 'type', 'wireguard'], o));
      if (add.exitCode === 0) return { backend: 'kernel', created: true };
      // No kernel module: wireguard-go in its default daemon mode. Its launcher exits only after
      // the TUN and the socket exist (so the exit code reports failures such as a name already
      // in use in another namespace), and the daemon gets /dev/null as stdio, so it cannot die of
      // SIGPIPE once our agent's pipes close. WG_PROCESS_FOREGROUND would keep it tied to us.
      const argv = inNetns(['wireguard-go', name], o);
      const res = await run(argv, { detached: true, env: daemonEnv() });
      if (res.exitCode !== 0) {
        // wireguard-go logs its errors to stdout; stderr holds only a boxed "not required" banner.
        const said = `${res.stderr}\n${res.stdout}`.split('\n').filter((l) => l.trim() && !/^[┌│└]/.test(l));
        const detail = { ...res, stderr: said.join('\n') };
        throw new WgCommandError(argv, detail, ` (after ip link add failed: ${add.stderr.trim()})`);
      }
      const deadline = Date.now() + 5000;
      while (!(existsSync(socketPath(name)) && (await tool.interfaceExists(name, o)))) {
        if (Date.now() > deadline) throw new WgCommandError(argv, { ...res, stderr: 'socket or link did not appear' });
        await sleep(20);
      }
      return { backend: 'userspace', created: true };
    },

    async deleteInterface(name, o = {}) {
      const pids = findWireguardGoPids(checkIfname(name), o.netns);
      if (await tool.interfaceExists(name, o)) {
        const argv = ip(['link', 'del', 'dev', name], o);
        const res = await run(argv);
        if (res.exitCode !== 0 && (await tool.interfaceExists(name, o))) throw new WgCommandError(argv, res);
      }
      // wireguard-go exits by itself once its TUN is gone; stopProcesses insists if it does not.
      await stopProcesses(pids);
      removeStaleSocket(name);
    },

    async setPrivateKey(name, keyFile, o = {}) {
      const port = o.listenPort === undefined ? [] : ['listen-port', String(o.listenPort)];
      await must(wg(['set', checkIfname(name), 'private-key', keyFile, ...port], o));
    },
    setAddress: async (name, cidr, o) => void (await must(ip(['addr', 'replace', cidr, 'dev', checkIfname(name)], o))),
    linkUp: async (name, o) => void (await must(ip(['link', 'set', 'dev', checkIfname(name), 'up'], o))),
    addRoute: async (cidr, name, o) => void (await must(ip(['route', 'replace', cidr, 'dev', checkIfname(name)], o))),
    showDump: async (name, o) => parseDump(await must(wg(['show', checkIfname(name), 'dump'], o))),
    async createNetns(netns) {
      await must(['ip', 'netns', 'add', checkNetns(netns)]);
      await must(ip(['link', 'set', 'dev', 'lo', 'up'], { netns }));
    },
    async deleteNetns(netns) {
      const argv = ['ip', 'netns', 'del', checkNetns(netns)];
      const res = await run(argv);
      if (res.exitCode !== 0 && !/no such file/i.test(res.stderr)) throw new WgCommandError(argv, res);
    },
    setPeer: (name, peer, o) => tool.setPeers(name, { set: [peer] }, o),
    removePeer: (name, publicKey, o) => tool.setPeers(name, { remove: [publicKey] }, o),

    async setPeers(name, change, o) {
      for (const args of buildSetPeersArgs(checkIfname(name), change.set ?? [], change.remove ?? [])) {
        await must(wg(args, o));
      }
    },
  };

  async function backendOf(name: string, o: NetnsOption): Promise<Backend> {
    const out = await must(ip(['-d', '-j', 'link', 'show', 'dev', name], o));
    const kind = (JSON.parse(out) as Array<{ linkinfo?: { info_kind?: string } }>)[0]?.linkinfo?.info_kind;
    return kind === 'wireguard' ? 'kernel' : 'userspace';
  }
  return tool;
}

/** The default tool, for callers that need no seam. */
export const wgTool: WgTool = createWgTool();

function inNetns(argv: string[], o: NetnsOption = {}): string[] {
  return o.netns === undefined ? argv : ['ip', 'netns', 'exec', checkNetns(o.netns), ...argv];
}

function toolOf(argv: readonly string[]): string {
  return argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec' ? (argv[4] ?? 'ip') : (argv[0] ?? '');
}

/** Our env minus what would make wireguard-go stay in the foreground or write to our stdio. */
function daemonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['WG_PROCESS_FOREGROUND', 'WG_TUN_FD', 'WG_UAPI_FD', 'LOG_LEVEL']) delete env[k];
  return env;
}
