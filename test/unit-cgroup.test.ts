// Unit tests for finding the cgroup2 hierarchy and this process's cgroup, against
// /proc/self/mountinfo and /proc/self/cgroup lines recorded on real machines.
import { describe, expect, it } from 'vitest';
import { cgroup2Mounts, ownCgroupPath } from '../lib/cgroup.js';

// a hybrid machine (cgroup v1 controllers, v2 at /sys/fs/cgroup/unified), no systemd
const HYBRID = `22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
// a unified machine (systemd), with optional fields before the separator
const UNIFIED = `25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

describe('cgroup2Mounts', () => {
  it('finds the v2 hierarchy of a hybrid machine', () => {
    expect(cgroup2Mounts(HYBRID)).toEqual(['/sys/fs/cgroup/unified']);
  });
  it('finds /sys/fs/cgroup on a unified machine, past optional fields', () => {
    expect(cgroup2Mounts(UNIFIED)).toEqual(['/sys/fs/cgroup']);
  });
  it('puts /sys/fs/cgroup first and finds none where there is none', () => {
    expect(cgroup2Mounts(`1 1 0:1 / /mnt/cg rw - cgroup2 none rw\n2 1 0:2 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`)).toEqual(['/sys/fs/cgroup', '/mnt/cg']);
    expect(cgroup2Mounts('garbage\n\n30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n')).toEqual([]);
  });
});

describe('ownCgroupPath', () => {
  it('reads the v2 line among v1 lines', () => {
    expect(ownCgroupPath('9:name=systemd:/\n4:memory:/process_api/c11b\n0::/\n')).toBe('/');
    expect(ownCgroupPath('0::/system.slice/meshrun-agent.service\n')).toBe('/system.slice/meshrun-agent.service');
  });
  it('is undefined on a v1-only machine', () => {
    expect(ownCgroupPath('4:memory:/x\n1:cpu:/\n')).toBeUndefined();
  });
});
