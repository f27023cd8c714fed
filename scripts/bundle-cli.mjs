#!/usr/bin/env node
// Bundles the CLI's client commands into dist/cli-bundle/ (after tsc): bin/meshrun.js runs every
// command but the daemons from there. Node 20 loads an ES module graph file by file (resolve,
// read, compile, link each); the read path alone was ~150 files of commander, yaml, zod and
// protobufjs, and loading them cost more than the commands' own work. esbuild (code splitting on,
// so each command's code still loads only when it runs) makes that a handful of files.
// The daemons are not bundled: they find files beside their modules (the run wrapper, the
// Ansible callback plugin) and run from dist/cli, and so does `store copy` (a rare operator
// command on the daemons' libraries); in the bundle their entries only say so.
// dist/cli-bundle/meta.json is esbuild's map of which package went into which file
// (test/cli-startup.test.ts reads it to tell what a command loaded).
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli-bundle');

/** The modules of the commands bin/meshrun.js runs from dist/cli, and what they export. */
const UNBUNDLED = { 'daemons.js': ['runCoordinator', 'runAgent'], 'store.js': ['storeCopyCmd'] };

/** Such a command's `import('./commands/x.js')` in the bundle: a module that refuses, instead of its graph. */
const unbundledStub = {
  name: 'unbundled-stub',
  setup(b) {
    b.onResolve({ filter: /\/commands\/(daemons|store)\.js$/ }, (a) => ({ path: a.path.split('/').pop(), namespace: 'unbundled' }));
    b.onLoad({ filter: /.*/, namespace: 'unbundled' }, (a) => ({
      contents: `const refuse = () => { throw new Error('${a.path}: this command runs from dist/cli (bin/meshrun.js sends it there), not from the CLI bundle'); };\n` +
        UNBUNDLED[a.path].map((name) => `export const ${name} = refuse;`).join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * The client-config reader (a command's first step when a client config exists) is bundled on its
 * own, in solo/, and the main bundle's dynamic import of it goes there: in the main bundle it
 * shares a chunk with every command's zod, and zod's core is not tree-shaken across chunks - the
 * reader loaded ~0.7 MB of it (every locale) to check a few strings. On its own, zod/mini is
 * shaken to what the schema uses. Errors it throws must be the main bundle's ExitError (commands
 * tell exit codes by class), so exit.js is an entry of the main bundle that the reader imports.
 */
const soloClientConfig = {
  name: 'solo-client-config',
  setup(b) {
    b.onResolve({ filter: /^\.\/client-config\.js$/ }, (a) => (a.kind === 'dynamic-import' && a.importer.endsWith(join('dist', 'cli', 'client-target.js')) ? { path: './solo/client-config.js', external: true } : undefined));
  },
};
const mainExit = {
  name: 'main-exit',
  setup(b) {
    b.onResolve({ filter: /^\.\/exit\.js$/ }, (a) => (a.importer.startsWith(join(root, 'dist', 'cli') + '/') ? { path: '../exit.js', external: true } : undefined));
  },
};
const banner = { js: "import { createRequire as __meshrunCreateRequire } from 'node:module'; const require = __meshrunCreateRequire(import.meta.url);" };

/** What both bundles share: ES modules for Node 20, with source maps and a metafile. */
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  // CommonJS packages (yaml, protobufjs) call require() for Node's own modules
  banner,
};

rmSync(outdir, { recursive: true, force: true });
const r = await build({ ...common, entryPoints: { index: 'dist/cli/index.js', 'fast-read': 'dist/cli/fast-read.js', exit: 'dist/cli/exit.js' }, outdir, splitting: true, plugins: [unbundledStub, soloClientConfig] });
const solo = await build({ ...common, entryPoints: { 'client-config': 'dist/cli/client-config.js' }, outdir: join(outdir, 'solo'), plugins: [mainExit] });
writeFileSync(join(outdir, 'meta.json'), JSON.stringify({ inputs: { ...r.metafile.inputs, ...solo.metafile.inputs }, outputs: { ...r.metafile.outputs, ...solo.metafile.outputs } }));
