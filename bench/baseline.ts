// Baseline: what raw process spawning costs on this machine, measured in the same run, so
// meshrun's figures read as ratios ("dispatch is N x a bare spawn") instead of absolute
// numbers that mean nothing on another box.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile, row, type BenchContext, type Row, type Section } from './report.js';
import { readRc, stemPaths, writeMeta, type RunMeta } from '../agent/runner/run-files.js';
import { ShLauncher, type LaunchNotice } from '../agent/runner/sh-launcher.js';
import { createLogger } from '../lib/log.js';

const SEQUENTIAL = Number(process.env.MESHRUN_BENCH_SPAWN_SEQ ?? 200);
const TOTAL = Number(process.env.MESHRUN_BENCH_SPAWN_TOTAL ?? 1000);
const CONCURRENCY = 8;
const NODE_SPAWNS = 10;
const SHELL_SPAWNS = 50;
const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** CPU seconds (user + system) of a live process, from /proc/<pid>/stat; undefined if gone. */
export function procCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm) ": state=0 ... utime=11 stime=12 cutime=13 cstime=14
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process's reaped children (cutime + cstime). */
export function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICKS_PER_SEC;
}

/** Wall p50 and mean CPU of `n` sequential spawns of one command. */
async function measure(n: number, file: string, args: string[]): Promise<{ p50: number; cpuMs: number }> {
  const lat: number[] = [];
  const cpu0 = childrenCpuSeconds();
  for (let i = 0; i < n; i++) lat.push(await spawnOnce(file, args));
  return { p50: percentile(lat, 50), cpuMs: ((childrenCpuSeconds() - cpu0) * 1000) / n };
}

/** Spawn -> exit of one process, in ms. */
export function spawnOnce(file: string, args: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(file, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', (code, sig) => {
      if (code !== 0) reject(new Error(`${file} exited with ${code ?? sig}`));
      else resolve(performance.now() - t0);
    });
  });
}

export const baselineSection: Section = {
  name: 'baseline',
  async run(ctx: BenchContext): Promise<Row[]> {
    // warm up (first spawns pay for page cache and libuv thread pool start)
    for (let i = 0; i < 10; i++) await spawnOnce('true');

    ctx.progress(`baseline: ${SEQUENTIAL} sequential spawn('true')`);
    const lat: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) lat.push(await spawnOnce('true'));
    const p50 = percentile(lat, 50);
    const p99 = percentile(lat, 99);

    ctx.progress(`baseline: ${TOTAL} spawn('true') with concurrency ${CONCURRENCY}`);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TOTAL) {
          next++;
          await spawnOnce('true');
        }
      }),
    );
    const perSec = TOTAL / ((performance.now() - t0) / 1000);

    // Informational: every meshrun run starts under a wrapper. A run without secrets gets the
    // shell wrapper (here running `true` with real runner metadata: start, pid and start time
    // recorded, exit, rc written); a run with secrets the Node wrapper (here without metadata:
    // it loads all its modules, writes an rc and exits). They are the floor under dispatch.
    ctx.progress(`baseline: ${NODE_SPAWNS} x node -e '', ${SHELL_SPAWNS} x shell wrapper, ${NODE_SPAWNS} x Node wrapper start`);
    // NODE_EXTRA_CA_CERTS makes every Node process parse that bundle as it starts (60-70 ms on a
    // system bundle, measured). meshrun trusts only its fleet CA and never needs it; an operator's
    // shell or a systemd unit does not usually set it. Where the bench's environment does, its
    // cost is one row, and it is removed for every figure after.
    const extraCa = process.env.NODE_EXTRA_CA_CERTS;
    const withExtraCa = extraCa === undefined ? undefined : await measure(NODE_SPAWNS, process.execPath, ['-e', '']);
    delete process.env.NODE_EXTRA_CA_CERTS;
    const bare = await measure(NODE_SPAWNS, process.execPath, ['-e', '']);
    const scratch = mkdtempSync(join(tmpdir(), 'meshrun-bench-wrapper-'));
    let wrapper: { p50: number; cpuMs: number };
    let shell: { p50: number; cpuMs: number };
    try {
      wrapper = await measure(NODE_SPAWNS, process.execPath, [join(ctx.root, 'dist', 'agent', 'runner', 'wrapper.js'), scratch, 'noop']);
      shell = await measureShellWrapper(scratch);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }

    ctx.baseline.spawnP50Ms = p50;
    ctx.baseline.spawnP99Ms = p99;
    ctx.baseline.spawnPerSec = perSec;
    ctx.baseline.nodeP50Ms = bare.p50;
    return [
      row(`spawn('true') -> exit p50 (n=${SEQUENTIAL})`, p50, 'ms'),
      row(`spawn('true') -> exit p99 (n=${SEQUENTIAL})`, p99, 'ms'),
      row(`spawn('true') throughput (n=${TOTAL}, conc=${CONCURRENCY})`, perSec, 'proc/s'),
      row(`spawn(node -e '') -> exit p50 (n=${NODE_SPAWNS})`, bare.p50, 'ms', p50, 'info: floor of any Node process'),
      row(`  CPU per node -e ''`, bare.cpuMs, 'ms'),
      ...(withExtraCa === undefined
        ? []
        : [row(`  with NODE_EXTRA_CA_CERTS=${extraCa} (set here; unset for every figure below)`, withExtraCa.p50, 'ms', bare.p50, "info: vs node -e ''")]),
      row(`launcher + shell wrapper running \`true\` -> rc written p50 (n=${SHELL_SPAWNS})`, shell.p50, 'ms', p50, 'info: floor of a run without secrets'),
      row(`  CPU per shell-wrapped run`, shell.cpuMs, 'ms'),
      row(`spawn(Node wrapper, no-op) -> exit p50 (n=${NODE_SPAWNS})`, wrapper.p50, 'ms', p50, 'info: floor of a run with secrets'),
      row(`  CPU per Node wrapper start`, wrapper.cpuMs, 'ms', bare.cpuMs, 'vs node -e \'\''),
    ];
  },
};

/**
 * `true` run by the agent's launcher shell, as the agent does (metadata written, a line to the
 * launcher, the wrapper's pid/start/rc files): line written -> the wrapper's "ended" notice. The
 * CPU is the launcher's and its wrappers': it is measured on the launcher's process tree by
 * stopping it at the end (its reaped children count in its own cutime).
 */
async function measureShellWrapper(scratch: string): Promise<{ p50: number; cpuMs: number }> {
  let waiting: { stem: string; done: () => void } | undefined;
  const launcher = new ShLauncher({
    env: process.env as Record<string, string>,
    cwd: scratch,
    log: createLogger({ part: 'bench' }),
    onNotice: (n: LaunchNotice) => {
      if (n.kind === 'ended' && waiting && n.stem === waiting.stem) waiting.done();
    },
  });
  const lat: number[] = [];
  const cpu0 = childrenCpuSeconds();
  // the launcher's pipes do not hold the process open (the agent's must not): this does meanwhile
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    for (let i = 0; i < SHELL_SPAWNS + 5; i++) {
      const paths = stemPaths(scratch, `true.${i}`);
      writeMeta(paths, benchMeta(scratch, i));
      const ended = new Promise<void>((done) => (waiting = { stem: `${scratch}/${paths.stem}`, done }));
      const t0 = performance.now();
      if (!launcher.launch({ dir: scratch, stem: paths.stem, cwd: scratch, cgroup: null, env: {}, removeOnExit: [], argv: ['true'] })) throw new Error('the launcher shell is not usable here (no /bin/sh or setsid)');
      await ended;
      // the first few pay for the launcher's own start
      if (i >= 5) lat.push(performance.now() - t0);
      if (readRc(paths) !== 0) throw new Error(`shell wrapper: no rc 0 in ${paths.rc}`);
    }
  } finally {
    launcher.close();
    clearInterval(keepAlive);
  }
  // the launcher exits on end of input; its CPU (and its reaped wrappers') is ours once it is reaped
  await new Promise((r) => setTimeout(r, 200));
  return { p50: percentile(lat, 50), cpuMs: ((childrenCpuSeconds() - cpu0) * 1000) / (SHELL_SPAWNS + 5) };
}

/** Runner metadata as the agent writes it before a launch. */
function benchMeta(dir: string, i: number): RunMeta {
  return {
    token: { job: 'bench', stage: 'true', attempt: i + 1 }, jobName: 'bench', node: 'bench', argv: ['true'], cwd: dir,
    removeOnExit: [], maskFile: null, failover: 'reassign', failoverWaitMs: null, timeoutMs: null, createdAt: Date.now(),
    artifacts: [], prune: [], playbook: false, wrapperPid: null, wrapperStartTicks: null, pid: null, pgid: null, cgroup: null,
    startTicks: null, startedAt: null, endedAt: null, exitCode: null, signal: null, stopReason: null, error: null,
  };
}
