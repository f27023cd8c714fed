// Starts a run: writes its metadata, then hands it to the agent's launcher shell (a run whose
// output is not masked) or spawns the Node wrapper detached (own session, no inherited stdio)
// for a run with secrets to mask, so neither an agent restart nor its service stop touches it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensurePrivateDir, writeMeta, type RunMeta, type RunPaths } from './run-files.js';
import type { ShLauncher } from './sh-launcher.js';

const WRAPPER = fileURLToPath(new URL('./wrapper.js', import.meta.url));

export interface LaunchSpec {
  paths: RunPaths;
  meta: RunMeta;
  env: Record<string, string>;
}

/** 'sh': the launcher took it; 'node': the Node wrapper was spawned. */
export function launchRun(spec: LaunchSpec, sh: ShLauncher | undefined): 'sh' | 'node' {
  const { paths, meta } = spec;
  ensurePrivateDir(paths.dir);
  ensurePrivateDir(meta.cwd);
  writeMeta(paths, meta);
  if (meta.maskFile === null && sh?.launch({ dir: paths.dir, stem: paths.stem, cwd: meta.cwd, cgroup: meta.cgroup, env: spec.env, removeOnExit: meta.removeOnExit, argv: meta.argv })) return 'sh';
  const child = spawn(process.execPath, [WRAPPER, paths.dir, paths.stem], { detached: true, stdio: 'ignore', env: spec.env, cwd: paths.dir });
  child.unref();
  return 'node';
}
