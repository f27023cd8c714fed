// cgroup v2 directories the process makes and kills itself (no systemd): find a writable
// cgroup2 hierarchy, make a leaf, move a process in, signal or kill all it holds, remove it.
// Free of heavy imports: the detached run wrapper loads it on every run start.
import { rmdir } from 'node:fs/promises';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where cgroups can be made, or why not (logged once by the caller). */
export type CgroupSupport = { ok: true; root: string; killFile: boolean } | { ok: false; why: string };

/** Pure: mount points of cgroup2 file systems in a /proc/PID/mountinfo text (/sys/fs/cgroup first). */
export function cgroup2Mounts(mountinfo: string): string[] {
  const found: string[] = [];
  for (const line of mountinfo.split('\n')) {
    // "id parent maj:min root mountpoint options [optional...] - fstype source superoptions"
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    const mountPoint = line.slice(0, sep).split(' ')[4];
    if (fstype === 'cgroup2' && mountPoint) found.push(mountPoint.replace(/\\040/g, ' '));
  }
  const rank = (m: string): number => (m === '/sys/fs/cgroup' ? 0 : m === '/sys/fs/cgroup/unified' ? 1 : 2);
  return found.sort((a, b) => rank(a) - rank(b));
}

/** Pure: this process's cgroup v2 path ("0::/path" in /proc/PID/cgroup), or undefined. */
export function ownCgroupPath(procCgroup: string): string | undefined {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line ? line.slice(3) : undefined;
}

/**
 * Finds a cgroup2 hierarchy where `<mount>/<dirName>` can be made and a process moved into a
 * leaf below it; probes with a throwaway leaf. Under systemd as PID 1 the tree is systemd's
 * (runs would go in `systemd-run --scope` units instead), so this reports it unusable.
 */
export function detectCgroupSupport(dirName: string): CgroupSupport {
  let init = '';
  try {
    init = readFileSync('/proc/1/comm', 'utf8').trim();
  } catch {
    // no /proc/1: not readable in this namespace; go on
  }
  // TODO(issue 10): under systemd, start each run with `systemd-run --scope --unit=...` and
  // kill the scope; systemd owns the cgroup tree and a cgroup made beside it is not ours.
  if (init === 'systemd') return { ok: false, why: 'systemd is PID 1 and owns the cgroup tree (systemd-run --scope is not implemented yet)' };
  let mounts: string[];
  try {
    mounts = cgroup2Mounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch (err) {
    return { ok: false, why: `cannot read /proc/self/mountinfo: ${(err as Error).message}` };
  }
  if (mounts.length === 0) return { ok: false, why: 'no cgroup v2 hierarchy is mounted' };
  const reasons: string[] = [];
  for (const mount of mounts) {
    const root = join(mount, dirName);
    const probe = join(root, `probe-${process.pid}`);
    try {
      mkdirSync(root, { recursive: true });
      mkdirSync(probe);
      try {
        accessSync(join(probe, 'cgroup.procs'), constants.W_OK);
        return { ok: true, root, killFile: existsSync(join(probe, 'cgroup.kill')) };
      } finally {
        rmdirSync(probe);
      }
    } catch (err) {
      reasons.push(`${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { ok: false, why: `cannot make cgroups (${reasons.join('; ')})` };
}

/** Makes the leaf (idempotent). */
export function makeCgroup(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** Moves a process (all its threads) into the cgroup; throws when the kernel refuses. */
export function joinCgroup(dir: string, pid: number): void {
  writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
}

/** The pids in the cgroup (empty when it is gone). */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** Sends `sig` to every process in the cgroup; returns how many it reached. */
export function signalCgroup(dir: string, sig: NodeJS.Signals): number {
  let n = 0;
  for (const pid of cgroupPids(dir)) {
    try {
      process.kill(pid, sig);
      n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/**
 * SIGKILLs everything in the cgroup and what it forks meanwhile: `cgroup.kill` (Linux 5.14+)
 * does that atomically; before it, the cgroup is frozen so nothing forks between the read
 * of its pids and their kill (a frozen process still dies of SIGKILL).
 */
export function killCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(dir)) return;
  }
  const freeze = join(dir, 'cgroup.freeze');
  const frozen = trySet(freeze, '1');
  signalCgroup(dir, 'SIGKILL');
  if (frozen) trySet(freeze, '0');
}

/** Removes the cgroup; false while processes are still in it (EBUSY), true once it is gone. */
export function removeCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** removeCgroup off the event loop: the kernel takes milliseconds to tear a cgroup down. */
export async function removeCgroupAsync(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function trySet(file: string, value: string): boolean {
  try {
    writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}
