// `npm run bench`: runs the sections in order (baseline first, so the others can report
// ratios against it), prints a table and a BENCH_JSON line. A failing section prints its
// error and the bench goes on. Every fleet is torn down on failure, Ctrl-C or exit.
// To add a section: write a `Section` (bench/report.ts) and append it to SECTIONS.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { baselineSection } from './baseline.js';
import { destroyAllFleetsSync, dispatchSection, repoRoot } from './dispatch.js';
import { printReport, row, SkipSection, type BenchContext, type Row, type Section, type SectionResult } from './report.js';
import { failoverSection } from './failover.js';
import { outboxSection } from './outbox.js';
import { throughputSection } from './throughput.js';
import { burstSection } from './burst.js';
import { meshSection } from './mesh.js';
import { diskSection } from './disk.js';
import { restartsSection } from './restarts.js';
import { leaderSection } from './leader.js';
import { startupSection } from './store-startup.js';
import { fleetSection } from './fleet.js';
import { cliSection } from './cli.js';
import { playbookSection } from './playbook.js';

type WgModule = { benchWg(): Promise<{ apply200Ms: number; applyOneMs: number; onePeerOps: number }> };

/** bench/wg.ts belongs to the WireGuard layer and may be absent: loaded only if built. */
const wgSection: Section = {
  name: 'wireguard',
  async run(ctx: BenchContext): Promise<Row[]> {
    const file = join(dirname(fileURLToPath(import.meta.url)), 'wg.js');
    if (!existsSync(file)) throw new SkipSection('bench/wg.ts is not present');
    if (process.getuid?.() !== 0) throw new SkipSection('needs root (network namespaces, WireGuard interfaces)');
    const spec: string = pathToFileURL(file).href;
    const mod = (await import(spec)) as Partial<WgModule>;
    if (typeof mod.benchWg !== 'function') throw new SkipSection('bench/wg.ts does not export benchWg()');
    ctx.progress('wireguard: 200-peer apply and a one-peer change');
    const r = await mod.benchWg();
    return [
      row('apply 200 peers to an empty interface', r.apply200Ms, 'ms'),
      row('apply a one-peer change', r.applyOneMs, 'ms', r.apply200Ms, 'vs the 200-peer apply'),
      row('peers touched by the one-peer change', r.onePeerOps, 'ops'),
    ];
  },
};

const SECTIONS: Section[] = [baselineSection, dispatchSection, throughputSection, burstSection, wgSection, meshSection, failoverSection, outboxSection, restartsSection, leaderSection, fleetSection, startupSection, diskSection, cliSection, playbookSection];

/** Target for the whole run; the throughput section stops waiting when it would overrun it. */
const BUDGET_S = Number(process.env.MESHRUN_BENCH_BUDGET_S ?? 170);

let interrupted = false;

function installCleanup(): void {
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${sig} received, stopping every daemon and run it started\n`);
    destroyAllFleetsSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', () => destroyAllFleetsSync());
}

async function main(): Promise<void> {
  installCleanup();
  const started = performance.now();
  const ctx: BenchContext = {
    root: repoRoot(),
    baseline: {},
    deadlineAt: Date.now() + BUDGET_S * 1000,
    progress: (msg) => process.stderr.write(`bench: ${msg}\n`),
  };
  const only = process.env.MESHRUN_BENCH_ONLY?.split(',').map((s) => s.trim());
  const results: SectionResult[] = [];
  for (const s of SECTIONS) {
    if (only && !only.includes(s.name) && s.name !== 'baseline') continue;
    const t0 = performance.now();
    try {
      const rows = await s.run(ctx);
      results.push({ section: s.name, status: 'ok', ms: performance.now() - t0, rows });
      ctx.progress(`${s.name}: done in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    } catch (err) {
      if (err instanceof SkipSection) {
        ctx.progress(`${s.name}: skipped: ${err.message}`);
        results.push({ section: s.name, status: 'skipped', ms: performance.now() - t0, reason: err.message, rows: [] });
      } else {
        const msg = err instanceof Error ? err.message : String(err);
        process.stderr.write(`bench: ${s.name}: FAILED: ${msg}\n`);
        results.push({ section: s.name, status: 'error', ms: performance.now() - t0, error: msg, rows: [] });
      }
    }
  }
  destroyAllFleetsSync();
  printReport(results, {
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    totalMs: Math.round(performance.now() - started),
    baseline: ctx.baseline,
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    destroyAllFleetsSync();
    process.exit(1);
  },
);
