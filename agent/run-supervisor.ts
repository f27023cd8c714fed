// Watches this node's runs through their runner files: reports start and exit,
// relays log bytes in order from the acknowledged offset, enforces timeouts and
// stops (SIGTERM to the run's process group, SIGKILL after the grace period).
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent, RunReport, StartCommand, StopReason } from '../proto/bus.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import type { Logger } from '../lib/log.js';
import { launchRun } from './runner/launcher.js';
import { isSameProcessAlive } from './runner/procfs.js';
import { readCursor, readMeta, readRc, runPaths, stemPaths, writeCursor, type RunPaths } from './runner/run-files.js';

const CHUNK = 64 * 1024;
const EXITED_RETENTION_MS = 60_000;
const WRAPPER_START_GRACE_MS = 15_000;

export type Channel = 'log' | 'pev';

/** What a run leaves besides its rc, gathered when it ends (may need the bus: artifacts). */
export interface RunExtras {
  outputs: Record<string, string>;
  artifacts: { object: string; sha256: string; files: string[] } | null;
  failures: { host: string; task: string; msg: string }[];
}

export interface RunHost {
  node: string;
  stateDir: string;
  killGraceMs: number;
  log: Logger;
  emit(event: RunEvent): void;
  /** Resolves once JetStream has stored the chunk; rejects when the bus is away. */
  publishChunk(channel: Channel, token: RunToken, offset: number, data: Uint8Array): Promise<void>;
  /** Rejects while it cannot finish (bus away): retried on the next check. */
  collectExtras(token: RunToken, paths: RunPaths, artifacts: string[], playbook: boolean): Promise<RunExtras>;
  baseEnv(): Record<string, string>;
}

interface ExitInfo {
  exitCode: number;
  signal: string | null;
  endedAt: number;
  logBytes: number;
  stopReason: StopReason | null;
  vanished: boolean;
}

interface ActiveRun {
  token: RunToken;
  key: string;
  paths: RunPaths;
  failover: StartCommand['failover'];
  failoverWaitMs: number;
  timeoutMs: number | null;
  createdAt: number;
  wrapper: { pid: number; startTicks: number } | null;
  proc: { pid: number; startTicks: number } | null;
  startedAt: number | null;
  logOffset: number;
  eventsOffset: number;
  artifacts: string[];
  playbook: boolean;
  /** Exit seen in the runner files, extras (artifacts, outputs) being gathered. */
  ending: ExitInfo | null;
  finishing: boolean;
  exit: ExitInfo | null;
  stop: { reason: StopReason; at: number; signalled: boolean; killed: boolean } | null;
  pumping: boolean;
  doneAt: number | null;
}

export class RunSupervisor {
  private readonly runs = new Map<string, ActiveRun>();

  constructor(private readonly host: RunHost) {}

  /** Idempotent by token: a re-sent start for a known run starts nothing. */
  start(cmd: StartCommand, extraEnv: Record<string, string>): { known: boolean } {
    const key = tokenKey(cmd.token);
    const paths = runPaths(this.host.stateDir, cmd.token);
    if (this.runs.has(key) || existsSync(paths.json)) return { known: true };
    const now = Date.now();
    const env = { ...this.host.baseEnv(), ...extraEnv, ...cmd.env };
    launchRun({
      paths,
      env,
      meta: {
        token: cmd.token,
        jobName: cmd.jobName,
        node: this.host.node,
        argv: cmd.argv,
        cwd: paths.work,
        failover: cmd.failover,
        failoverWaitMs: cmd.failoverWaitMs ?? null,
        timeoutMs: cmd.timeoutMs ?? null,
        createdAt: now,
        artifacts: cmd.artifacts ?? [],
        playbook: cmd.playbook !== undefined,
        wrapperPid: null,
        wrapperStartTicks: null,
        pid: null,
        pgid: null,
        startTicks: null,
        startedAt: null,
        endedAt: null,
        exitCode: null,
        signal: null,
        stopReason: null,
        error: null,
      },
    });
    const run = this.newRun(cmd.token, paths, cmd.failover, cmd.timeoutMs ?? null, now, 0);
    run.failoverWaitMs = cmd.failoverWaitMs ?? 0;
    run.artifacts = cmd.artifacts ?? [];
    run.playbook = cmd.playbook !== undefined;
    this.runs.set(key, run);
    return { known: false };
  }

  /** After an agent restart: take back every run whose result was not fully reported. */
  adoptAll(): number {
    const root = join(this.host.stateDir, 'runs');
    if (!existsSync(root)) return 0;
    let adopted = 0;
    for (const job of readdirSync(root)) {
      const dir = join(root, job);
      let files: string[];
      try {
        files = readdirSync(dir);
      } catch {
        continue;
      }
      for (const f of files) {
        if (!f.endsWith('.json') || f.endsWith('.events.json')) continue;
        const paths = stemPaths(dir, f.slice(0, -'.json'.length));
        const meta = readMeta(paths);
        if (!meta) continue;
        const cursor = readCursor(paths);
        const key = tokenKey(meta.token);
        if (this.runs.has(key)) continue;
        if (cursor.exitReported && cursor.logOffset >= fileSize(paths.log) && cursor.eventsOffset >= fileSize(paths.events)) continue;
        const run = this.newRun(meta.token, paths, meta.failover, meta.timeoutMs, meta.createdAt, cursor.logOffset);
        run.failoverWaitMs = meta.failoverWaitMs ?? 0;
        run.artifacts = meta.artifacts;
        run.playbook = meta.playbook;
        run.eventsOffset = cursor.eventsOffset;
        if (meta.wrapperPid !== null && meta.wrapperStartTicks !== null) run.wrapper = { pid: meta.wrapperPid, startTicks: meta.wrapperStartTicks };
        if (meta.pid !== null && meta.startTicks !== null) run.proc = { pid: meta.pid, startTicks: meta.startTicks };
        run.startedAt = meta.startedAt;
        if (cursor.exitReported) {
          // exit already queued in the outbox; only log bytes remain to relay
          run.exit = exitFromMeta(meta, fileSize(paths.log), false);
        }
        this.runs.set(key, run);
        adopted++;
        this.host.log.info('run adopted', { token: key, pid: meta.pid, exitReported: cursor.exitReported });
      }
    }
    return adopted;
  }

  stop(token: RunToken, reason: StopReason): boolean {
    const run = this.runs.get(tokenKey(token));
    if (!run || run.exit || run.ending) return false;
    if (!run.stop) {
      run.stop = { reason, at: Date.now(), signalled: false, killed: false };
      if (!existsSync(run.paths.stop)) writeFileSync(run.paths.stop, `${reason}\n`, { mode: 0o600 });
      this.host.log.info('stopping run', { token: run.key, reason });
    }
    this.signalStop(run);
    return true;
  }

  /** Runs that should stop when this node loses its lease (their work will be redone elsewhere). */
  fenceable(leaseExpiredForMs: number): RunToken[] {
    return [...this.runs.values()]
      .filter((r) => !r.exit && !r.ending && !r.stop)
      .filter((r) => r.failover === 'reassign' || (r.failover === 'wait' && leaseExpiredForMs >= r.failoverWaitMs))
      .map((r) => r.token);
  }

  reports(): RunReport[] {
    return [...this.runs.values()].map((r) => ({
      token: r.token,
      state: r.exit ? 'exited' : r.startedAt !== null ? 'running' : 'starting',
    }));
  }

  /** Every run directory this agent holds of a job (for prune). */
  workDirsOf(job: string): string[] {
    const dir = join(this.host.stateDir, 'runs', job);
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.work'))
        .map((f) => join(dir, f));
    } catch {
      return [];
    }
  }

  tick(): void {
    const now = Date.now();
    for (const run of this.runs.values()) {
      try {
        this.check(run, now);
      } catch (err) {
        this.host.log.error('run check failed', { token: run.key, err });
      }
      void this.pump(run);
      if (run.doneAt !== null && now - run.doneAt > EXITED_RETENTION_MS) this.runs.delete(run.key);
    }
  }

  private newRun(token: RunToken, paths: RunPaths, failover: ActiveRun['failover'], timeoutMs: number | null, createdAt: number, logOffset: number): ActiveRun {
    return {
      token,
      key: tokenKey(token),
      paths,
      failover,
      failoverWaitMs: 0,
      timeoutMs,
      createdAt,
      wrapper: null,
      proc: null,
      startedAt: null,
      logOffset,
      eventsOffset: 0,
      artifacts: [],
      playbook: false,
      ending: null,
      finishing: false,
      exit: null,
      stop: null,
      pumping: false,
      doneAt: null,
    };
  }

  private check(run: ActiveRun, now: number): void {
    if (run.exit) {
      if (run.doneAt === null && run.logOffset >= run.exit.logBytes && run.eventsOffset >= fileSize(run.paths.events)) run.doneAt = now;
      return;
    }
    if (run.ending) {
      this.finish(run);
      return;
    }
    if (run.startedAt === null || run.wrapper === null) {
      const meta = readMeta(run.paths);
      if (meta?.wrapperPid && meta.wrapperStartTicks !== null) run.wrapper = { pid: meta.wrapperPid, startTicks: meta.wrapperStartTicks };
      if (meta?.startedAt && meta.pid !== null) {
        run.startedAt = meta.startedAt;
        if (meta.startTicks !== null) run.proc = { pid: meta.pid, startTicks: meta.startTicks };
        this.host.emit({ kind: 'started', node: this.host.node, token: run.token, pid: meta.pid, startedAt: meta.startedAt });
      }
    }
    if (run.stop && !run.stop.signalled) this.signalStop(run);
    if (existsSync(run.paths.rc)) {
      this.recordExit(run, false);
      return;
    }
    const wrapperGone = run.wrapper ? !isSameProcessAlive(run.wrapper) : now - run.createdAt > WRAPPER_START_GRACE_MS;
    if (wrapperGone && readRc(run.paths) === undefined) {
      if (run.proc && isSameProcessAlive(run.proc)) {
        // wrapper died but the process lives on: keep watching it; its status will be unknown
      } else {
        this.recordExit(run, true);
        return;
      }
    }
    if (run.timeoutMs !== null && run.startedAt !== null && !run.stop && now - run.startedAt > run.timeoutMs) {
      this.stop(run.token, 'timeout');
    }
    if (run.stop && run.stop.signalled && !run.stop.killed && now - run.stop.at > this.host.killGraceMs) {
      run.stop.killed = true;
      this.signal(run, 'SIGKILL');
    }
  }

  private recordExit(run: ActiveRun, vanished: boolean): void {
    const meta = readMeta(run.paths);
    const logBytes = fileSize(run.paths.log);
    if (vanished || !meta) {
      run.ending = { exitCode: -1, signal: null, endedAt: Date.now(), logBytes, stopReason: run.stop?.reason ?? null, vanished: true };
      this.host.log.warn('run vanished without an exit status', { token: run.key });
    } else {
      run.ending = exitFromMeta(meta, logBytes, false);
      if (run.ending.exitCode === -1) run.ending.exitCode = readRc(run.paths) ?? -1;
    }
    if (run.startedAt === null && meta?.startedAt && meta.pid !== null) {
      run.startedAt = meta.startedAt;
      this.host.emit({ kind: 'started', node: this.host.node, token: run.token, pid: meta.pid, startedAt: meta.startedAt });
    }
    this.finish(run);
  }

  /** Gathers outputs, failures and artifacts, then reports the exit (retried until it can). */
  private finish(run: ActiveRun): void {
    if (run.finishing || !run.ending) return;
    run.finishing = true;
    const ending = run.ending;
    this.host
      .collectExtras(run.token, run.paths, run.artifacts, run.playbook)
      .then((extras) => {
        run.exit = ending;
        run.ending = null;
        this.host.emit({ kind: 'exited', node: this.host.node, token: run.token, ...ending, ...extras, error: null });
        writeCursor(run.paths, { logOffset: run.logOffset, eventsOffset: run.eventsOffset, exitReported: true });
      })
      .catch((err) => this.host.log.debug('run end not reported yet', { token: run.key, err }))
      .finally(() => {
        run.finishing = false;
      });
  }

  private signalStop(run: ActiveRun): void {
    if (!run.stop || run.stop.signalled) return;
    if (!run.proc) return; // not started yet: signalled on the first check after it starts
    run.stop.signalled = true;
    run.stop.at = Date.now();
    this.signal(run, 'SIGTERM');
  }

  private signal(run: ActiveRun, sig: NodeJS.Signals): void {
    // The group id is the leader's pid, which Linux does not reuse while any member of
    // the group is alive; so until the run's rc is recorded the group is ours to signal.
    if (!run.proc) return;
    try {
      process.kill(-run.proc.pid, sig);
    } catch {
      // group already gone
    }
  }

  private async pump(run: ActiveRun): Promise<void> {
    if (run.pumping) return;
    run.pumping = true;
    try {
      await this.pumpChannel(run, 'log', run.paths.log);
      if (run.playbook) await this.pumpChannel(run, 'pev', run.paths.events);
    } catch (err) {
      this.host.log.debug('log relay paused', { token: run.key, err });
    } finally {
      run.pumping = false;
    }
  }

  /** Relays a file's new bytes in order from the acknowledged offset. */
  private async pumpChannel(run: ActiveRun, channel: Channel, file: string): Promise<void> {
    for (let i = 0; i < 16; i++) {
      const offset = channel === 'log' ? run.logOffset : run.eventsOffset;
      const size = fileSize(file);
      if (size <= offset) return;
      const buf = readAt(file, offset, Math.min(CHUNK, size - offset));
      if (buf.length === 0) return;
      await this.host.publishChunk(channel, run.token, offset, buf);
      if (channel === 'log') run.logOffset += buf.length;
      else run.eventsOffset += buf.length;
      writeCursor(run.paths, { logOffset: run.logOffset, eventsOffset: run.eventsOffset, exitReported: run.exit !== null });
    }
  }
}

function exitFromMeta(meta: NonNullable<ReturnType<typeof readMeta>>, logBytes: number, vanished: boolean): ExitInfo {
  return {
    exitCode: meta.exitCode ?? -1,
    signal: meta.signal,
    endedAt: meta.endedAt ?? Date.now(),
    logBytes,
    stopReason: meta.stopReason,
    vanished,
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readAt(path: string, offset: number, len: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(len);
    const n = readSync(fd, buf, 0, len, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
