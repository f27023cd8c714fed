// Unit tests for what an agent reports of its machine: CPUs and memory lowered to the limits
// of its cgroup (v2 and v1, any ancestor), the config's override, and --reserve.

import { describe, expect, it } from 'vitest';
import { cgroupLimits, detectCapacity, nodeCapacity, parseCpuMax, parseMemoryLimit, type MachineSource } from '../agent/capacity.js';
import { resolveAgentOptions, type AgentFlags } from '../agent/main.js';
import type { AgentConfigFile } from '../proto/config.js';
import { agentConfigSchema } from '../proto/config.js';

const GiB = 2 ** 30;

function machine(files: Record<string, string>, cpus = 8, mem = 32 * GiB): MachineSource {
  return { cpus: () => cpus, totalmem: () => mem, read: (p) => files[p] };
}

describe('cgroup limits', () => {
  it('parses cpu.max and memory limits; "max" and junk are no limit', () => {
    expect(parseCpuMax('150000 100000\n')).toBe(1500);
    expect(parseCpuMax('max 100000')).toBeUndefined();
    expect(parseCpuMax('50000')).toBe(500);
    expect(parseMemoryLimit('4294967296\n')).toBe(4 * GiB);
    expect(parseMemoryLimit('max\n')).toBeUndefined();
  });

  it('cgroup v2: the lowest limit of the own cgroup and its ancestors', () => {
    const m = machine({
      '/proc/self/cgroup': '0::/ci/job7\n',
      '/sys/fs/cgroup/ci/job7/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/ci/job7/memory.max': '8589934592\n',
      '/sys/fs/cgroup/ci/cpu.max': '200000 100000\n',
      '/sys/fs/cgroup/ci/memory.max': 'max\n',
    });
    expect(cgroupLimits(m)).toEqual({ cpu: 2000, memory: 8 * GiB });
    expect(detectCapacity(m)).toEqual({ cpu: 2000, memory: 8 * GiB });
  });

  it('cgroup v1 (and a hybrid layout): cfs quota and limit_in_bytes; an unlimited one is the machine', () => {
    const m = machine({
      '/proc/self/cgroup': '4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n',
      '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': '2147483648\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '50000\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    });
    expect(detectCapacity(m)).toEqual({ cpu: 500, memory: 2 * GiB });
    const unlimited = machine({ '/proc/self/cgroup': '4:memory:/x\n', '/sys/fs/cgroup/memory/x/memory.limit_in_bytes': '9223372036854771712\n' }, 2, 4 * GiB);
    expect(detectCapacity(unlimited)).toEqual({ cpu: 2000, memory: 4 * GiB });
  });

  it('no cgroup files at all: the CPUs the process may use and the total memory', () => {
    expect(detectCapacity(machine({}, 3, 5 * GiB))).toEqual({ cpu: 3000, memory: 5 * GiB });
  });
});

describe('capacity, override and reserve', () => {
  it('allocatable is capacity less the reserve, never below 0; the override replaces only what it names', () => {
    const detected = { cpu: 8000, memory: 32 * GiB };
    expect(nodeCapacity(detected, {}, { cpu: 2000, memory: 4 * GiB })).toEqual({ capacity: detected, allocatable: { cpu: 6000, memory: 28 * GiB } });
    expect(nodeCapacity(detected, { cpu: 16_000 }, { cpu: 0, memory: 0 })).toEqual({ capacity: { cpu: 16_000, memory: 32 * GiB }, allocatable: { cpu: 16_000, memory: 32 * GiB } });
    expect(nodeCapacity(detected, {}, { cpu: 10_000, memory: 0 }).allocatable).toEqual({ cpu: 0, memory: 32 * GiB });
    // beyond what a heartbeat may carry: reported at the limit, not refused
    expect(nodeCapacity({ cpu: 8_192_000, memory: 2 ** 50 }, {}, { cpu: 0, memory: 0 }).capacity).toEqual({ cpu: 4_096_000, memory: 256 * 2 ** 40 });
  });

  const resolve = (flags: AgentFlags, file: Partial<AgentConfigFile> = {}) =>
    resolveAgentOptions({ flags: { node: 'n1', ...flags }, file, machine: { node: () => 'h', stateDir: () => '/tmp/x' }, mesh: () => undefined });

  it('--reserve and the config: the flag wins; the config may override the detected capacity', () => {
    expect(resolve({ reserve: 'cpu=2,memory=4G' }).reserve).toEqual({ cpu: 2000, memory: 4 * GiB });
    expect(resolve({ reserve: 'cpu=0.5' }).reserve).toEqual({ cpu: 500, memory: 0 });
    expect(resolve({}).reserve).toEqual({ cpu: 0, memory: 0 });
    const file = agentConfigSchema.parse({ reserve: { memory: '1G' }, capacity: { cpu: 16 } });
    const o = resolve({}, file);
    expect(o.reserve).toEqual({ cpu: 0, memory: GiB });
    expect(o.capacity).toEqual({ cpu: 16_000 });
    expect(resolve({ reserve: 'cpu=1' }, file).reserve).toEqual({ cpu: 1000, memory: 0 });
  });

  it.each([
    ['cpu=two', '--reserve cpu=two: cpu: expected a number of CPUs, like 2 or 0.5 (expected cpu=N,memory=SIZE, e.g. cpu=2,memory=4G)'],
    ['memory=4', '--reserve memory=4: memory: expected a size with a unit, like 512M or 64G (K, M, G, T: powers of 1024), got "4" (expected cpu=N,memory=SIZE, e.g. cpu=2,memory=4G)'],
    ['gpu=1', '--reserve gpu=1: "gpu=1" is not cpu=N or memory=SIZE (expected cpu=N,memory=SIZE, e.g. cpu=2,memory=4G)'],
    ['', '--reserve : give cpu, memory or both (expected cpu=N,memory=SIZE, e.g. cpu=2,memory=4G)'],
  ])('--reserve %j is a usage error naming it', (flag, message) => {
    expect(() => resolve({ reserve: flag })).toThrow(message);
  });

  it('a bad reserve or capacity in the config file names the key', () => {
    const r = agentConfigSchema.safeParse({ reserve: { cpu: -1 }, capacity: { memory: 'lots' } });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['reserve.cpu', 'capacity.memory']);
  });
});
