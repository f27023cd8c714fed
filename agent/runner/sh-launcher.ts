// The agent's one launcher shell (sh-wrapper.ts): started detached on the first run, fed one
// line per run, and read for the wrappers' start and end notices. The agent's event loop only
// writes a line to a pipe; the launcher forks. A launcher that died is started again for the
// next run; a run whose line it never read is found by the supervisor's start grace.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../lib/log.js';
import { launchLine, shLauncherScript, SH_WRAPPER_NAME, type LaunchLine } from './sh-wrapper.js';

export type LaunchNotice = { kind: 'started' | 'ended'; stem: string };

export interface ShLauncherOptions {
  /** The environment of every run; a run's own variables are passed on top of it. */
  env: Readonly<Record<string, string>>;
  /** The launcher's working directory (the agent's state dir). */
  cwd: string;
  log: Logger;
  /** A wrapper said its run started or ended (`stem` is `<dir>/<stem>`). */
  onNotice(n: LaunchNotice): void;
}

/** A notice line is a few hundred bytes; anything longer than this without a newline is not one. */
const NOTICE_MAX_CHARS = 8192;

export class ShLauncher {
  private child: ChildProcess | undefined;
  private partial = '';
  private reapPending = false;
  private closed = false;

  constructor(private readonly o: ShLauncherOptions) {}

  /** This machine can run the shell wrapper. */
  static usable(): boolean {
    return shLauncherScript() !== null;
  }

  /**
   * Hands one run to the launcher. False when it cannot take it (a value it cannot pass, no
   * launcher script here, the agent closing): the caller starts the run another way.
   */
  launch(run: Omit<LaunchLine, 'env'> & { env: Record<string, string> }): boolean {
    if (this.closed) return false;
    // only what differs from the launcher's own environment travels in the line
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(run.env)) if (this.o.env[k] !== v) env[k] = v;
    const line = launchLine({ ...run, env });
    if (line === undefined) return false;
    const child = this.ensure();
    if (!child?.stdin?.writable) return false;
    child.stdin.write(line);
    return true;
  }

  /** Ends the launcher (its stdin closes); the wrappers it started go on. */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private ensure(): ChildProcess | undefined {
    if (this.child) return this.child;
    const script = shLauncherScript();
    if (script === null) return undefined;
    const child = spawn('/bin/sh', ['-c', script, SH_WRAPPER_NAME], { detached: true, stdio: ['pipe', 'pipe', 'ignore'], env: this.o.env, cwd: this.o.cwd });
    this.child = child;
    child.unref();
    child.stdin!.on('error', (err) => this.o.log.warn('run launcher input failed', { err }));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    // the agent's exit must not wait for the launcher or its wrappers
    for (const s of [child.stdin, child.stdout] as unknown as { unref?: () => void }[]) s.unref?.();
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.closed) this.o.log.warn('run launcher ended; the next run starts another', { code, signal });
    });
    this.o.log.debug('run launcher started', { pid: child.pid });
    return child;
  }

  private onData(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > NOTICE_MAX_CHARS) this.partial = '';
    let ended = false;
    for (const l of lines) {
      const kind = l.startsWith('S ') ? 'started' : l.startsWith('E ') ? 'ended' : undefined;
      if (!kind) continue;
      if (kind === 'ended') ended = true;
      this.o.onNotice({ kind, stem: l.slice(2) });
    }
    // the launcher reaps ended wrappers when it reads a line: an empty one, once per burst
    if (ended && !this.reapPending) {
      this.reapPending = true;
      setImmediate(() => {
        this.reapPending = false;
        if (this.child?.stdin?.writable) this.child.stdin.write('\n');
      });
    }
  }
}
