// What a CLI start loads: --help and --version only commander; `nodes`, `jobs` and `job` no
// package at all (their own argument reader, cli/fast-read.ts; a lean gRPC channel of node:http2
// and meshrun's own codec, not grpc-js or protobufjs), and the YAML reader and zod only when
// there is a client config.
// Every spawn of the CLI paid ~1 s of CPU when cli/index.ts imported each command eagerly.
// A command runs from the CLI's bundle (dist/cli-bundle, a daemon from dist/cli): the packages
// in a bundle file it loaded are read from the bundle's metafile.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from './harness/processes.js';

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

const packageOf = (path: string): string | undefined => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];

/** The packages in each file of the CLI's bundle, from esbuild's metafile. */
function bundlePackages(): Map<string, string[]> {
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'cli-bundle', 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const out = new Map<string, string[]>();
  for (const [file, o] of Object.entries(meta.outputs)) out.set(join(ROOT, file), Object.keys(o.inputs).map(packageOf).filter((p) => p !== undefined));
  return out;
}

/** The npm packages `meshrun ...args` imports (directly or in a bundle file), and its exit code. */
function packagesLoaded(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; packages: string[] }> {
  const log = join(dir, `load-${args.join('-').replace(/\W/g, '_')}.log`);
  writeFileSync(log, '');
  const full: NodeJS.ProcessEnv = { ...process.env, LOAD_LOG: log, XDG_CONFIG_HOME: join(dir, 'no-config') };
  delete full.MESHRUN_CONFIG;
  delete full.MESHRUN_COORDINATOR;
  Object.assign(full, env);
  const bundled = bundlePackages();
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, BIN, ...args], { env: full, stdio: 'ignore' });
    c.on('error', rej);
    c.on('close', (code) => {
      const packages = new Set<string>();
      for (const url of readFileSync(log, 'utf8').split('\n')) {
        if (!url.startsWith('file:')) continue;
        const path = fileURLToPath(url);
        for (const p of bundled.get(path) ?? [packageOf(path)]) if (p) packages.add(p);
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

  it('a read command without a client config loads no package: no commander, grpc-js, protobufjs, YAML, zod or command it does not run', async () => {
    // nothing listens on port 1: the command waits out its connect timeout and exits 3
    for (const args of [['job', 'x', '--json', '--coordinator', '127.0.0.1:1'], ['--coordinator=127.0.0.1:1', 'jobs', '--limit', '5'], ['nodes', '--coordinator', '127.0.0.1:1']]) {
      expect(await packagesLoaded(args), args.join(' ')).toEqual({ code: 3, packages: [] });
    }
    // what the lean path does not read is commander's to answer
    expect(await packagesLoaded(['nodes', '--help'])).toEqual({ code: 0, packages: ['commander'] });
    expect(await packagesLoaded(['nodes', '--no-such-flag'])).toEqual({ code: 2, packages: ['commander'] });
  });

  it('with a client config, a read command loads the YAML reader and zod, and still no commander, grpc-js or protobufjs', async () => {
    // PEM-shaped, not a real certificate: the command reads and validates the file, then cannot connect
    const pem = (what: string): string => [`-----BEGIN ${what}-----`, 'AAAA', `-----END ${what}-----`].map((l) => `      ${l}\n`).join('');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `currentContext: x\ncontexts:\n  x:\n    coordinator: 127.0.0.1:1\n    ca: |\n${pem('CERTIFICATE')}    cert: |\n${pem('CERTIFICATE')}    key: |\n${pem('PRIVATE KEY')}`);
    const r = await packagesLoaded(['nodes'], { MESHRUN_CONFIG: config });
    expect(r.code).toBe(3);
    expect(r.packages).toEqual(['js-yaml', 'zod']);
  });

  it('the daemons run from dist/cli, not from the bundle', async () => {
    const r = await packagesLoaded(['coordinator', '--help']);
    expect(r).toEqual({ code: 0, packages: ['commander'] });
  });
});
