#!/usr/bin/env node
// Runs the vitest suite and ends with one plain summary line ("N passed, N failed,
// N skipped") that any CI can read; fails when a test failed, and when CI is set and
// anything was skipped.
//
// The whole suite runs as two lanes side by side, each one file at a time: the failover and
// chaos files (timers against timers: they must not share the machine with each other) in
// one, everything else in the other. Suites wait on real processes far more than they
// compute, so two lanes roughly halve the wall time on a 2-core machine; every file makes
// its own names, ports, namespaces and directories, so lanes never collide. With arguments
// (a file, `-t NAME`) it is one plain vitest run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files that kill and time daemons: one lane, one at a time. */
const TIMING_LANE = [
  'test/chaos-process.test.ts',
  'test/chaos-netns.test.ts',
  'test/failover-drain.test.ts',
  'test/failover-liveness.test.ts',
  'test/failover-outcomes.test.ts',
  'test/failover-standby.test.ts',
  'test/failover-wait.test.ts',
  'test/mesh-lifecycle.test.ts',
];

const dir = mkdtempSync(join(tmpdir(), 'meshrun-vitest-'));
const args = process.argv.slice(2);
const lanes =
  args.length > 0
    ? [{ name: 'tests', args }]
    : [
        { name: 'timing', args: TIMING_LANE },
        { name: 'main', args: TIMING_LANE.flatMap((f) => ['--exclude', f]) },
      ];

function runLane(lane) {
  const out = join(dir, `${lane.name}.json`);
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...lane.args], { stdio: 'inherit' });
    child.on('exit', (code) => {
      try {
        resolve({ ...lane, code: code ?? 1, res: JSON.parse(readFileSync(out, 'utf8')) });
      } catch {
        resolve({ ...lane, code: code || 1, res: undefined });
      }
    });
  });
}

const results = await Promise.all(lanes.map(runLane));
let code = 0;
let passed = 0;
let failed = 0;
let skipped = 0;
let total = 0;
for (const r of results) {
  if (!r.res) {
    console.log(`\nlane ${r.name}: no test results were written`);
    code = code || r.code || 1;
    failed += 1;
    continue;
  }
  passed += r.res.numPassedTests ?? 0;
  failed += r.res.numFailedTests ?? 0;
  skipped += (r.res.numPendingTests ?? 0) + (r.res.numTodoTests ?? 0);
  total += r.res.numTotalTests ?? 0;
  code = code || r.code;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
if (total === 0) code = code || 1;
// CI runs as root with every tool installed: a skipped test there hides a missing step
if (process.env.CI && skipped > 0) {
  console.log(`CI is set but ${skipped} test(s) were skipped: failing`);
  code = code || 1;
}
rmSync(dir, { recursive: true, force: true });
process.exit(code);
