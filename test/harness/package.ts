// meshrun as users install it: `npm pack` of this checkout (built already: `npm test` builds
// first, and a rebuild here would swap dist/ under the other tests' processes), installed
// globally into a prefix of its own with the npm cache (no registry needed once `npm ci` ran).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './processes.js';

export interface PackedInstall {
  tarball: string;
  prefix: string;
  /** PREFIX/bin/meshrun, the link npm made. */
  bin: string;
}

/** `npm pack` into `dir`; the tarball's path. */
export function npmPack(dir: string): string {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--json'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(out) as { filename: string }[];
  return join(dir, info!.filename);
}

/** `npm install -g --prefix PREFIX TARBALL`. */
export function npmInstallGlobal(tarball: string, prefix: string): PackedInstall {
  execFileSync('npm', ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  return { tarball, prefix, bin: join(prefix, 'bin', 'meshrun') };
}
