// What this machine offers to stages with resource requests: its CPUs and memory, lowered to
// the limits of the cgroup the agent runs in (a container's), less the agent's --reserve.
// The config's `capacity` replaces what is detected (Nomad's cpu_total_compute/memory_total_mb).
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { ownCgroupPath } from '../lib/cgroup.js';
import { Limits } from '../lib/limits.js';
import type { Resources } from '../proto/resources.js';

/** What the agent reports: the machine (as detected or overridden) and what requests may take of it. */
export interface NodeCapacity {
  capacity: Resources;
  allocatable: Resources;
}

/** Where detection reads from: a seam for tests. */
export interface MachineSource {
  /** CPUs the process may run on (os.availableParallelism: honours the affinity mask). */
  cpus(): number;
  totalmem(): number;
  /** A file's text, or undefined when it cannot be read. */
  read(path: string): string | undefined;
}

export const thisMachine: MachineSource = {
  cpus: () => availableParallelism(),
  totalmem: () => totalmem(),
  read: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
};

const CGROUP_FS = '/sys/fs/cgroup';

/** Pure: millicpu of a cgroup v2 `cpu.max` ("150000 100000"); undefined for "max" or junk. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  return cpuQuota(Number(quota), Number(period ?? 100_000));
}

function cpuQuota(quota: number, period: number): number | undefined {
  return Number.isFinite(quota) && quota > 0 && Number.isFinite(period) && period > 0 ? Math.round((quota / period) * 1000) : undefined;
}

/** Pure: bytes of a `memory.max` / `memory.limit_in_bytes`; undefined for "max" or junk. */
export function parseMemoryLimit(text: string): number | undefined {
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The directory and its ancestors up to the mount, deepest first: a limit on any of them holds. */
function upwards(mount: string, path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '..');
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push(join(mount, ...parts.slice(0, i)));
  return out;
}

const minDefined = (values: (number | undefined)[]): number | undefined => {
  const v = values.filter((x): x is number => x !== undefined);
  return v.length ? Math.min(...v) : undefined;
};

/**
 * The cpu (millicpu) and memory (bytes) limits of the cgroups this process is in, read from
 * `/proc/self/cgroup`: cgroup v2 (`cpu.max`, `memory.max`, on /sys/fs/cgroup or the hybrid
 * layout's /sys/fs/cgroup/unified) and v1 (`cpu.cfs_quota_us`, `memory.limit_in_bytes`).
 */
export function cgroupLimits(src: MachineSource): Partial<Resources> {
  const procCgroup = src.read('/proc/self/cgroup') ?? '';
  const cpu: (number | undefined)[] = [];
  const memory: (number | undefined)[] = [];
  const v2 = ownCgroupPath(procCgroup);
  if (v2 !== undefined) {
    for (const mount of [CGROUP_FS, join(CGROUP_FS, 'unified')]) {
      for (const dir of upwards(mount, v2)) {
        const c = src.read(join(dir, 'cpu.max'));
        if (c !== undefined) cpu.push(parseCpuMax(c));
        const m = src.read(join(dir, 'memory.max'));
        if (m !== undefined) memory.push(parseMemoryLimit(m));
      }
    }
  }
  for (const line of procCgroup.split('\n')) {
    // "4:memory:/path", "1:cpu,cpuacct:/path"
    const m = /^\d+:([^:]+):(.*)$/.exec(line);
    if (!m || m[1] === '') continue;
    const controllers = m[1]!.split(',');
    if (controllers.includes('memory')) {
      for (const dir of upwards(join(CGROUP_FS, 'memory'), m[2]!)) {
        const t = src.read(join(dir, 'memory.limit_in_bytes'));
        if (t !== undefined) memory.push(parseMemoryLimit(t));
      }
    }
    if (controllers.includes('cpu')) {
      for (const dir of upwards(join(CGROUP_FS, m[1]!), m[2]!)) {
        const q = src.read(join(dir, 'cpu.cfs_quota_us'));
        const p = src.read(join(dir, 'cpu.cfs_period_us'));
        if (q !== undefined && p !== undefined) cpu.push(cpuQuota(Number(q.trim()), Number(p.trim())));
      }
    }
  }
  return { cpu: minDefined(cpu), memory: minDefined(memory) };
}

/** The machine's cpu and memory: what the process may use, each lowered to its cgroup limit. */
export function detectCapacity(src: MachineSource = thisMachine): Resources {
  const limits = cgroupLimits(src);
  return {
    cpu: Math.min(src.cpus() * 1000, limits.cpu ?? Infinity),
    memory: Math.min(src.totalmem(), limits.memory ?? Infinity),
  };
}

/**
 * Pure: the override wins over detection per dimension; allocatable is what is left after the
 * reserve (never below 0). Both held to the limits a heartbeat may carry: a machine beyond them
 * is reported at them, never dropped by the coordinator as an invalid heartbeat.
 */
export function nodeCapacity(detected: Resources, override: Partial<Resources>, reserve: Resources): NodeCapacity {
  const capacity = {
    cpu: Math.min(override.cpu ?? detected.cpu, Limits.resourceCpuMax * 1000),
    memory: Math.min(override.memory ?? detected.memory, Limits.resourceMemoryMaxBytes),
  };
  return {
    capacity,
    allocatable: { cpu: Math.max(0, capacity.cpu - reserve.cpu), memory: Math.max(0, capacity.memory - reserve.memory) },
  };
}
