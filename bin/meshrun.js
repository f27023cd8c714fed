#!/usr/bin/env node
// The one executable: everything lives behind subcommands in cli/. The daemons (and `store copy`,
// on their libraries) run from dist/cli, tsc's output file by file; every other command from the
// CLI's bundle, which starts in a fraction of the time (scripts/bundle-cli.mjs), or from dist/cli
// where no bundle was built.
import { existsSync } from 'node:fs';

const UNBUNDLED = new Set(['coordinator', 'agent', 'store']);
/** Read without commander (cli/fast-read.ts), which hands anything else back to cli/index.ts. */
const FAST = new Set(['nodes', 'jobs', 'job']);
/** Global options that take a value: skipped when looking for the command. */
const VALUED = new Set(['--coordinator', '--context']);

/** The subcommand: the first argument that is neither a global option nor its value. */
function command(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (VALUED.has(argv[i])) i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return undefined;
}

const argv = process.argv.slice(2);
const cmd = command(argv);
const module = FAST.has(cmd) ? 'fast-read.js' : 'index.js';
const bundle = new URL(`../dist/cli-bundle/${module}`, import.meta.url);
const entry = UNBUNDLED.has(cmd) || !existsSync(bundle) ? new URL(`../dist/cli/${module}`, import.meta.url) : bundle;
import(entry.href).then((m) => m.main(argv));
