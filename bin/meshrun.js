#!/usr/bin/env node
// The one executable: everything lives behind subcommands in cli/.
import('../dist/cli/index.js').then((m) => m.main(process.argv.slice(2)));
