// What a CLI start loads: --help and --version only commander, a read command only gRPC besides.
// Every spawn of the CLI paid ~1 s of CPU when cli/index.ts imported each command eagerly.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './harness/processes.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshrun-startup-'));
  // a module resolve hook (it runs on the loader's thread) that notes every module the CLI imports
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.LOAD_LOG, r.url + '\\n');
  return r;
}
`);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The npm packages `meshrun ...args` imports, and its exit code. */
function packagesLoaded(args: string[]): Promise<{ code: number | null; packages: string[] }> {
  const log = join(dir, `load-${args.join('-').replace(/\W/g, '_')}.log`);
  writeFileSync(log, '');
  const env: NodeJS.ProcessEnv = { ...process.env, LOAD_LOG: log, XDG_CONFIG_HOME: join(dir, 'no-config') };
  delete env.MESHRUN_CONFIG;
  delete env.MESHRUN_COORDINATOR;
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, BIN, ...args], { env, stdio: 'ignore' });
    c.on('error', rej);
    c.on('close', (code) => {
      const packages = new Set<string>();
      for (const url of readFileSync(log, 'utf8').split('\n')) {
        const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
        if (m) packages.add(m[1]!);
      }
      res({ code, packages: [...packages].sort() });
    });
  });
}

describe('CLI start-up', () => {
  it('--help and --version load commander and nothing else', async () => {
    expect(await packagesLoaded(['--help'])).toEqual({ code: 0, packages: ['commander'] });
    expect(await packagesLoaded(['--version'])).toEqual({ code: 0, packages: ['commander'] });
    expect(await packagesLoaded(['agent', '--help'])).toEqual({ code: 0, packages: ['commander'] });
  });

  it('a read command without a client config loads gRPC and no YAML, zod or command it does not run', async () => {
    // nothing listens on port 1: the command waits out its connect timeout and exits 3
    const r = await packagesLoaded(['job', 'x', '--json', '--coordinator', '127.0.0.1:1']);
    expect(r).toEqual({ code: 3, packages: ['@grpc/grpc-js', '@grpc/proto-loader', 'commander'] });
  });
});
