// Starts a local nats-server with JetStream (for `meshrun dev`, tests and the bench):
// random port via a ports file, store in a temp dir, SIGKILL + delete on stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshrunError, ErrorCode } from './errors.js';

export const NATS_INSTALL_HINT = 'nats-server is not installed: run `apt-get install nats-server` (Debian) and try again';

export interface NatsServerOptions {
  /** Directory for the JetStream store and ports file; a temp dir by default (removed on stop). */
  dir?: string;
  /** Fixed port; a free one by default. */
  port?: number;
  host?: string;
  /** Keep the store on stop (restart tests reuse it). */
  keepStore?: boolean;
  /** Run under a wrapper command, e.g. `ip netns exec NS` for a test machine. */
  wrap?: string[];
  /**
   * A configuration file (the one `meshrun init` writes: TLS, accounts, its own store, host and
   * port); the server's URL is then `tls://host:port`.
   */
  config?: string;
}

export class NatsServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  private readonly child: ChildProcess;
  private readonly keep: boolean;
  private readonly ownsDir: boolean;

  private constructor(child: ChildProcess, url: string, port: number, dir: string, keep: boolean, ownsDir: boolean) {
    this.child = child;
    this.url = url;
    this.port = port;
    this.dir = dir;
    this.keep = keep;
    this.ownsDir = ownsDir;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    if (!natsServerAvailable()) throw new MeshrunError(ErrorCode.ToolFailed, NATS_INSTALL_HINT);
    const ownsDir = opts.dir === undefined;
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'meshrun-nats-'));
    mkdirSync(join(dir, 'ports'), { recursive: true });
    for (const f of readdirSync(join(dir, 'ports'))) rmSync(join(dir, 'ports', f), { force: true });
    const host = opts.host ?? '127.0.0.1';
    const args = opts.config
      ? ['-c', opts.config, '--ports_file_dir', join(dir, 'ports')]
      : ['-js', '-sd', join(dir, 'store'), '-a', host, '-p', String(opts.port ?? -1), '--ports_file_dir', join(dir, 'ports')];
    const wrap = opts.wrap ?? [];
    const child = spawn(wrap[0] ?? 'nats-server', [...wrap.slice(1), ...(wrap.length ? ['nats-server'] : []), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new MeshrunError(ErrorCode.ToolFailed, `nats-server exited: ${stderr.trim()}`);
      const files = readdirSync(join(dir, 'ports')).filter((f) => f.endsWith('.ports'));
      if (files.length > 0) {
        try {
          const ports = JSON.parse(readFileSync(join(dir, 'ports', files[0]!), 'utf8')) as { nats?: string[] };
          const url = ports.nats?.[0];
          if (url) {
            const port = Number(new URL(url).port);
            return new NatsServer(child, `${opts.config ? 'tls' : 'nats'}://${host}:${port}`, port, dir, opts.keepStore ?? false, ownsDir);
          }
        } catch {
          // the file may be half-written; poll again
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    throw new MeshrunError(ErrorCode.ToolFailed, `nats-server did not start within 10s: ${stderr.trim()}`);
  }

  /** Stops the server abruptly (SIGKILL) or politely (SIGTERM); resolves when it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      this.child.kill(signal);
      await exited;
    }
    if (!this.keep && this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function natsServerAvailable(): boolean {
  const path = process.env.PATH ?? '';
  return path.split(':').some((d) => d !== '' && existsSync(join(d, 'nats-server')));
}
