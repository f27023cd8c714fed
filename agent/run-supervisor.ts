// Watches this node's runs through their runner files: reports start and exit,
// relays log bytes in order from the acknowledged offset, enforces timeouts and
// stops (SIGTERM to the run's cgroup and process group, SIGKILL after the grace period).
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { stopReasonSchema, type RunEvent, type RunReport, type StartCommand, type StopReason } from '../proto/bus.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { killCgroup, removeCgroup, removeCgroupAsync, signalCgroup } from '../lib/cgroup.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { launchRun } from './runner/launcher.js';
import { isSameProcessAlive, type ProcIdentity } from './runner/procfs.js';
import { readCursor, readMeta, readRc, runPaths, stemPaths, writeCursor, writeMeta, type RunMeta, type RunPaths } from './runner/run-files.js';
import { ShLauncher, type LaunchNotice } from './runner/sh-launcher.js';
import { parseStartFacts } from './runner/sh-wrapper.js';

const CHUNK = 64 * 1024;
/** A relayed run that left processes in its cgroup is retried this long, then left with a warning. */
const EXITED_RETENTION_MS = 60_000;
const WRAPPER_START_GRACE_MS = 15_000;

export type Channel = 'log' | 'pev';

/**
 * Where a run is in its life. The one setter (`moveTo`) allows only these moves:
 *
 * | phase     | what is happening                                                  | next                               |
 * |-----------|--------------------------------------------------------------------|------------------------------------|
 * | starting  | wrapper launched (or adopted), the process not started yet         | running, ending                    |
 * | running   | the process runs (a stop asked for before the start is sent now)   | stopping, ending                   |
 * | stopping  | stop signalled: SIGTERM sent to the run's cgroup and process group | killing, ending                    |
 * | killing   | the grace ran out: SIGKILL sent, waiting for the rc                | ending                             |
 * | ending    | exit seen; its extras not gathered yet (retried on every check)    | reporting                          |
 * | reporting | extras (outputs, failures, artifacts) being gathered               | exited, ending (could not finish)  |
 * | exited    | exit reported (queued in the outbox); log/event bytes still relay  | relayed                            |
 * | relayed   | everything relayed; forgotten (after its cgroup is removed)        | -                                  |
 *
 * An adopted run (agent restart) begins in starting, running or exited.
 *
 * A run with a cgroup keeps it until it is empty and removed, whatever its phase: a stopped
 * run's cgroup is killed when its process exits (what it left behind dies with it); a run that
 * ended by itself keeps what it left running, and its cgroup stays until that ends.
 */
export type RunPhase = 'starting' | 'running' | 'stopping' | 'killing' | 'ending' | 'reporting' | 'exited' | 'relayed';

const NEXT: Record<RunPhase, readonly RunPhase[]> = {
  starting: ['running', 'ending'],
  running: ['stopping', 'ending'],
  stopping: ['killing', 'ending'],
  killing: ['ending'],
  ending: ['reporting'],
  reporting: ['exited', 'ending'],
  exited: ['relayed'],
  relayed: [],
};

/** Phases in which the process may still be alive (no exit seen yet). */
const LIVE: ReadonlySet<RunPhase> = new Set(['starting', 'running', 'stopping', 'killing']);

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
  /** Makes the run's own cgroup before launch; null: the process group is all a stop reaches. */
  runCgroup(token: RunToken): string | null;
}

interface ExitInfo {
  exitCode: number;
  signal: string | null;
  endedAt: number;
  logBytes: number;
  /** The playbook events file's size: complete once the run has ended. */
  eventsBytes: number;
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
  artifacts: string[];
  playbook: boolean;
  phase: RunPhase;
  /** When the run entered its phase: the kill grace and the retention count from it. */
  phaseAt: number;
  wrapper: ProcIdentity | null;
  proc: ProcIdentity | null;
  /** The process's start time, from the runner files (timeouts count from it). */
  startedAt: number | null;
  /** Set once a stop is asked for; it is signalled as soon as there is a process. */
  stopReason: StopReason | null;
  /** Set from `ending` on. */
  exit: ExitInfo | null;
  logOffset: number;
  eventsOffset: number;
  /** A relay of the run's files is in flight (one at a time). */
  pumping: boolean;
  /** The run's cgroup directory; null when it has none. */
  cgroup: string | null;
  /** The run ended and its cgroup is still to be removed (retried on every check). */
  cgroupLeft: boolean;
  /** A removal of its cgroup is under way. */
  cgroupRemoving: boolean;
  /** <stem>.json holds the start (the shell wrapper's, recorded by the agent). */
  startRecorded: boolean;
}

type RunSpec = Pick<ActiveRun, 'token' | 'paths' | 'failover' | 'failoverWaitMs' | 'timeoutMs' | 'createdAt' | 'artifacts' | 'playbook' | 'cgroup'>;

export class RunSupervisor {
  private readonly runs = new Map<string, ActiveRun>();
  /** Runs by `<dir>/<stem>`, as the launcher's notices name them. */
  private readonly byStem = new Map<string, ActiveRun>();
  /** The launcher shell for runs without masked output; undefined where the machine lacks sh or setsid. */
  private readonly launcher: ShLauncher | undefined;

  constructor(private readonly host: RunHost) {
    this.launcher = ShLauncher.usable()
      ? new ShLauncher({ env: host.baseEnv(), cwd: host.stateDir, log: host.log, onNotice: (n) => this.onNotice(n) })
      : undefined;
  }

  /** Ends the launcher shell (runs it started go on). */
  close(): void {
    this.launcher?.close();
  }

  /** Idempotent by token: a re-sent start for a known run starts nothing. */
  start(cmd: StartCommand, extraEnv: Record<string, string>, removeOnExit: string[] = [], maskFile: string | null = null): { known: boolean } {
    const key = tokenKey(cmd.token);
    const paths = runPaths(this.host.stateDir, cmd.token);
    if (this.runs.has(key) || existsSync(paths.json)) return { known: true };
    const now = Date.now();
    const env = { ...this.host.baseEnv(), ...extraEnv, ...cmd.env };
    const cgroup = this.host.runCgroup(cmd.token);
    const via = launchRun({
      paths,
      env,
      meta: {
        token: cmd.token,
        jobName: cmd.jobName,
        node: this.host.node,
        argv: cmd.argv,
        cwd: paths.work,
        removeOnExit,
        maskFile,
        failover: cmd.failover,
        failoverWaitMs: cmd.failoverWaitMs ?? null,
        timeoutMs: cmd.timeoutMs ?? null,
        createdAt: now,
        artifacts: cmd.artifacts ?? [],
        prune: cmd.prune ?? [],
        playbook: cmd.playbook !== undefined,
        wrapperPid: null,
        wrapperStartTicks: null,
        pid: null,
        pgid: null,
        cgroup,
        startTicks: null,
        startedAt: null,
        endedAt: null,
        exitCode: null,
        signal: null,
        stopReason: null,
        error: null,
      },
    }, this.launcher);
    this.host.log.debug('run launched', { token: key, via });
    const spec: RunSpec = {
      token: cmd.token,
      paths,
      failover: cmd.failover,
      failoverWaitMs: cmd.failoverWaitMs ?? 0,
      timeoutMs: cmd.timeoutMs ?? null,
      createdAt: now,
      artifacts: cmd.artifacts ?? [],
      playbook: cmd.playbook !== undefined,
      cgroup,
    };
    this.track(newRun(spec, 'starting', now));
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
        if (cursor.exitReported && cursor.logOffset >= fileSize(paths.log) && cursor.eventsOffset >= fileSize(paths.events)) {
          // fully reported before the restart; an empty cgroup it left is removed now
          if (meta.cgroup) {
            if (meta.stopReason) killCgroup(meta.cgroup);
            removeCgroup(meta.cgroup);
          }
          continue;
        }
        const spec: RunSpec = {
          token: meta.token,
          paths,
          failover: meta.failover,
          failoverWaitMs: meta.failoverWaitMs ?? 0,
          timeoutMs: meta.timeoutMs,
          createdAt: meta.createdAt,
          artifacts: meta.artifacts,
          playbook: meta.playbook,
          cgroup: meta.cgroup,
        };
        // exit already queued in the outbox: only log bytes remain to relay
        const phase: RunPhase = cursor.exitReported ? 'exited' : meta.startedAt !== null ? 'running' : 'starting';
        const run = newRun(spec, phase, Date.now());
        run.logOffset = cursor.logOffset;
        run.eventsOffset = cursor.eventsOffset;
        if (meta.wrapperPid !== null && meta.wrapperStartTicks !== null) run.wrapper = { pid: meta.wrapperPid, startTicks: meta.wrapperStartTicks };
        if (meta.pid !== null && meta.startTicks !== null) run.proc = { pid: meta.pid, startTicks: meta.startTicks };
        run.startedAt = meta.startedAt;
        run.startRecorded = meta.pid !== null;
        if (phase === 'exited') {
          run.exit = exitFromMeta(meta, fileSize(paths.log), fileSize(paths.events), false);
          run.cgroupLeft = run.cgroup !== null;
        }
        this.track(run);
        adopted++;
        this.host.log.info('run adopted', { token: key, pid: meta.pid, exitReported: cursor.exitReported });
      }
    }
    return adopted;
  }

  stop(token: RunToken, reason: StopReason): boolean {
    const run = this.runs.get(tokenKey(token));
    if (!run || !LIVE.has(run.phase)) return false;
    // ended by itself already (the next check records it): a stop now would mislabel a result
    // the run finished on its own as one the stop cut short
    if (run.stopReason === null && readRc(run.paths) !== undefined) return false;
    if (run.stopReason === null) {
      run.stopReason = reason;
      if (!existsSync(run.paths.stop)) writeFileSync(run.paths.stop, `${reason}\n`, { mode: 0o600 });
      this.host.log.info('stopping run', { token: run.key, reason });
    }
    this.signalStop(run);
    return true;
  }

  /** Runs that should stop when this node loses its lease (their work will be redone elsewhere). */
  fenceable(leaseExpiredForMs: number): RunToken[] {
    return [...this.runs.values()]
      .filter((r) => LIVE.has(r.phase) && r.stopReason === null)
      .filter((r) => r.failover === 'reassign' || (r.failover === 'wait' && leaseExpiredForMs >= r.failoverWaitMs))
      .map((r) => r.token);
  }

  /** Runs whose process may still be alive (adopted ones included): what holds the node's slots. */
  liveCount(): number {
    let n = 0;
    for (const r of this.runs.values()) if (LIVE.has(r.phase)) n++;
    return n;
  }

  /** Runs not yet relayed whole (a relayed one is forgotten; the coordinator has its exit). */
  reports(): RunReport[] {
    const out: RunReport[] = [];
    for (const r of this.runs.values()) if (r.phase !== 'relayed') out.push({ token: r.token, state: reportedState(r) });
    return out;
  }

  /** A run of the job is still alive here, or still relaying: its files must stay. */
  holdsJob(job: string): boolean {
    for (const r of this.runs.values()) if (r.token.job === job && r.phase !== 'relayed') return true;
    return false;
  }

  /** Every run's files looked at: the fallback for a notice that never came (an adopted run, a restarted launcher). */
  tick(): void {
    const now = Date.now();
    for (const run of this.runs.values()) this.visit(run, now, true);
  }

  /** A wrapper said its run started or ended: looked at now, not at the next tick. */
  private onNotice(n: LaunchNotice): void {
    const run = this.byStem.get(n.stem);
    if (run) this.visit(run, Date.now(), false);
  }

  /** `periodic`: from the tick, which also records in .json the start of a run still going. */
  private visit(run: ActiveRun, now: number, periodic: boolean): void {
    try {
      this.check(run, now);
      // a short run's start goes into .json with its end, in one write
      if (periodic && run.phase === 'running' && !run.startRecorded) {
        this.completeMeta(run, true);
        run.startRecorded = true;
      }
    } catch (err) {
      this.host.log.error('run check failed', { token: run.key, err });
    }
    if (run.phase !== 'relayed') void this.pump(run);
    if (run.cgroupLeft) this.releaseCgroup(run);
    if (run.phase !== 'relayed') return;
    // forgotten once relayed: a start sent again finds its runner files; a cgroup that still holds
    // what the run left running is retried a while first
    if (!run.cgroupLeft || now - run.phaseAt > EXITED_RETENTION_MS) {
      if (run.cgroupLeft) this.host.log.warn('run left processes running; its cgroup stays', { token: run.key, cgroup: run.cgroup });
      this.runs.delete(run.key);
      this.byStem.delete(stemKey(run.paths));
    }
  }

  private track(run: ActiveRun): void {
    this.runs.set(run.key, run);
    this.byStem.set(stemKey(run.paths), run);
  }

  /** The one way a run changes phase; a move the table above does not list is a bug. */
  private moveTo(run: ActiveRun, to: RunPhase, at = Date.now()): void {
    if (!NEXT[run.phase].includes(to)) throw new MeshrunError(ErrorCode.Internal, `run ${run.key}: no move from ${run.phase} to ${to}`);
    run.phase = to;
    run.phaseAt = at;
    this.host.log.debug('run phase changed', { token: run.key, phase: to });
  }

  private check(run: ActiveRun, now: number): void {
    switch (run.phase) {
      case 'exited':
        if (run.logOffset >= run.exit!.logBytes && run.eventsOffset >= fileSize(run.paths.events)) this.moveTo(run, 'relayed', now);
        return;
      case 'ending':
        this.finish(run);
        return;
      case 'reporting':
      case 'relayed':
        return;
    }
    this.readStart(run);
    this.signalStop(run);
    if (readRc(run.paths) !== undefined) {
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
    if (run.phase === 'running' && run.timeoutMs !== null && run.stopReason === null && now - run.startedAt! > run.timeoutMs) {
      this.stop(run.token, 'timeout');
    }
    if (run.phase === 'stopping' && now - run.phaseAt > this.host.killGraceMs) {
      this.moveTo(run, 'killing');
      this.signal(run, 'SIGKILL');
    }
  }

  /** Picks up what the wrapper wrote since: its own identity, then the process's start. */
  private readStart(run: ActiveRun): void {
    if (run.phase !== 'starting' && run.wrapper !== null) return;
    const meta = this.completeMeta(run, false);
    if (meta?.wrapperPid && meta.wrapperStartTicks !== null) run.wrapper = { pid: meta.wrapperPid, startTicks: meta.wrapperStartTicks };
    if (run.phase === 'starting' && meta?.startedAt && meta.pid !== null) {
      if (meta.startTicks !== null) run.proc = { pid: meta.pid, startTicks: meta.startTicks };
      this.markStarted(run, meta.startedAt, meta.pid);
      this.moveTo(run, 'running');
    }
  }

  private markStarted(run: ActiveRun, startedAt: number, pid: number): void {
    run.startedAt = startedAt;
    this.host.emit({ kind: 'started', node: this.host.node, token: run.token, pid, startedAt });
  }

  private recordExit(run: ActiveRun, vanished: boolean): void {
    const meta = this.completeMeta(run, true);
    const logBytes = fileSize(run.paths.log);
    const eventsBytes = fileSize(run.paths.events);
    if (vanished || !meta) {
      run.exit = { exitCode: -1, signal: null, endedAt: Date.now(), logBytes, eventsBytes, stopReason: run.stopReason, vanished: true };
      this.host.log.warn('run vanished without an exit status', { token: run.key });
    } else {
      run.exit = exitFromMeta(meta, logBytes, eventsBytes, false);
      if (run.exit.exitCode === -1) run.exit.exitCode = readRc(run.paths) ?? -1;
    }
    if (run.cgroup !== null) {
      run.cgroupLeft = true;
      this.releaseCgroup(run);
    }
    // an exit seen before its start (a short run between two checks): report the start first
    const unreported = run.phase === 'starting' && meta?.startedAt && meta.pid !== null ? { startedAt: meta.startedAt, pid: meta.pid } : undefined;
    this.moveTo(run, 'ending');
    if (unreported) this.markStarted(run, unreported.startedAt, unreported.pid);
    this.finish(run);
  }

  /**
   * The run's metadata with what the shell wrapper wrote recorded in it: the start (.start, its
   * mtime the start time) and the end (.rc, its mtime the end time; the signal from 128+n; the
   * stop asked for). Written back (`write`) when something was added; the Node wrapper fills it
   * itself. The start alone is not written at once: a short run's end comes with it, one write.
   */
  private completeMeta(run: ActiveRun, write: boolean): RunMeta | undefined {
    const meta = readMeta(run.paths);
    if (!meta) return undefined;
    let changed = false;
    if (meta.startedAt === null || meta.pid === null) {
      const start = readStartFacts(run.paths);
      if (start) {
        Object.assign(meta, { pid: start.pid, pgid: start.pid, startTicks: start.startTicks, wrapperPid: start.wrapperPid, wrapperStartTicks: start.wrapperStartTicks, startedAt: start.at });
        changed = true;
      }
    }
    if (meta.exitCode === null && meta.startedAt !== null) {
      const rc = readRc(run.paths);
      if (rc !== undefined) {
        Object.assign(meta, { exitCode: rc, signal: signalOf(rc), endedAt: mtimeMs(run.paths.rc) ?? Date.now(), stopReason: run.stopReason ?? readStopFile(run.paths) });
        changed = true;
      }
    }
    if (changed && write) {
      writeMeta(run.paths, meta);
      run.startRecorded = true;
    }
    return meta;
  }

  /** Gathers outputs, failures and artifacts, then reports the exit (retried until it can). */
  private finish(run: ActiveRun): void {
    if (run.phase !== 'ending' || !run.exit) return;
    const exit = run.exit;
    this.moveTo(run, 'reporting');
    this.host
      .collectExtras(run.token, run.paths, run.artifacts, run.playbook)
      .then((extras) => {
        this.moveTo(run, 'exited');
        this.host.emit({ kind: 'exited', node: this.host.node, token: run.token, ...exit, ...extras, error: null });
        writeCursor(run.paths, { logOffset: run.logOffset, eventsOffset: run.eventsOffset, exitReported: true });
      })
      .catch((err) => {
        this.host.log.debug('run end not reported yet', { token: run.key, err });
        if (run.phase === 'reporting') this.moveTo(run, 'ending');
      });
  }

  /** Sends SIGTERM for a stop asked for; before the process has started, the first check after does. */
  private signalStop(run: ActiveRun): void {
    if (run.phase !== 'running' || run.stopReason === null || !run.proc) return;
    this.moveTo(run, 'stopping');
    this.signal(run, 'SIGTERM');
  }

  private signal(run: ActiveRun, sig: NodeJS.Signals): void {
    // The group id is the leader's pid, which Linux does not reuse while any member of
    // the group is alive; so until the run's rc is recorded the group is ours to signal.
    if (!run.proc) return;
    // never pid 1 or below: kill(-1) signals every process on the machine, kill(0) our own
    // group. Runner files are data: a damaged or forged one must not aim a signal at those.
    if (!Number.isInteger(run.proc.pid) || run.proc.pid <= 1) {
      this.host.log.error('run names an impossible pid; not signalled', { token: run.key, pid: run.proc.pid });
      return;
    }
    // the cgroup reaches what left the group (setsid); the group is the fallback without one
    if (run.cgroup !== null) {
      if (sig === 'SIGKILL') killCgroup(run.cgroup);
      else signalCgroup(run.cgroup, sig);
    }
    try {
      process.kill(-run.proc.pid, sig);
    } catch {
      // group already gone
    }
  }

  /**
   * After the run's process ended: a stopped run's cgroup is killed (what it started dies with
   * it, however it detached), then removed once empty; until then every check tries again.
   */
  private releaseCgroup(run: ActiveRun): void {
    if (run.cgroup === null || run.cgroupRemoving) return;
    if (run.stopReason !== null || run.exit?.stopReason) killCgroup(run.cgroup);
    const cgroup = run.cgroup;
    run.cgroupRemoving = true;
    void removeCgroupAsync(cgroup).then((gone) => {
      run.cgroupRemoving = false;
      if (!gone) return;
      run.cgroupLeft = false;
      this.host.log.debug('run cgroup removed', { token: run.key, cgroup });
    });
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
      writeCursor(run.paths, { logOffset: run.logOffset, eventsOffset: run.eventsOffset, exitReported: run.phase === 'exited' || run.phase === 'relayed' });
    }
  }
}

function newRun(spec: RunSpec, phase: RunPhase, now: number): ActiveRun {
  return {
    ...spec,
    key: tokenKey(spec.token),
    phase,
    phaseAt: now,
    wrapper: null,
    proc: null,
    startedAt: null,
    stopReason: null,
    exit: null,
    logOffset: 0,
    eventsOffset: 0,
    pumping: false,
    cgroupLeft: false,
    cgroupRemoving: false,
    startRecorded: false,
  };
}

/** The state heartbeats report; a run whose exit was seen before its start still counts as starting. */
function reportedState(run: ActiveRun): RunReport['state'] {
  switch (run.phase) {
    case 'starting':
      return 'starting';
    case 'exited':
    case 'relayed':
      return 'exited';
    case 'ending':
    case 'reporting':
      return run.startedAt === null ? 'starting' : 'running';
    default:
      return 'running';
  }
}

function exitFromMeta(meta: RunMeta, logBytes: number, eventsBytes: number, vanished: boolean): ExitInfo {
  return {
    exitCode: meta.exitCode ?? -1,
    signal: meta.signal,
    endedAt: meta.endedAt ?? Date.now(),
    logBytes,
    eventsBytes,
    stopReason: meta.stopReason,
    vanished,
  };
}

function stemKey(p: RunPaths): string {
  return `${p.dir}/${p.stem}`;
}

/** What the shell wrapper wrote once the command started, and when (the file's mtime). */
function readStartFacts(p: RunPaths): (ReturnType<typeof parseStartFacts> & { at: number }) | undefined {
  let text: string;
  try {
    text = readFileSync(p.start, 'utf8');
  } catch {
    return undefined;
  }
  const facts = parseStartFacts(text);
  const at = mtimeMs(p.start);
  return facts && at !== undefined ? { ...facts, at } : undefined;
}

/** The stop the agent asked for, as its .stop file says (after a restart, memory does not). */
function readStopFile(p: RunPaths): StopReason | null {
  try {
    const r = stopReasonSchema.safeParse(readFileSync(p.stop, 'utf8').trim());
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** The signal a shell's exit status 128+n stands for. */
export function signalOf(rc: number): string | null {
  return rc > 128 ? (SIGNAL_NAMES.get(rc - 128) ?? null) : null;
}

function mtimeMs(path: string): number | undefined {
  try {
    return Math.round(statSync(path).mtimeMs);
  } catch {
    return undefined;
  }
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
