// The CLI's round trip: `meshrun nodes`, `jobs` and `job ID` as a user runs them (a fresh process
// each, the secured setup: TLS and the admin's certificate from a client config) against a
// coordinator with 2 agents, beside `node -e ''` spawned in turn with them: the floor of any
// Node process on this machine. What is over that floor is the CLI's own start-up and its call.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveClientTarget } from '../cli/client-config.js';
import { performance } from 'node:perf_hooks';
import { childrenCpuSeconds } from './baseline.js';
import { BenchFleet, trueJobSpec } from './dispatch.js';
import { percentile, row, type BenchContext, type Row, type Section } from './report.js';

const RUNS = Number(process.env.MESHRUN_BENCH_CLI_RUNS ?? 15);

/** Spawn -> exit of one process with its wall time and CPU (user + system) in ms; rejects unless it exits 0. */
function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const cpu0 = childrenCpuSeconds();
    const t0 = performance.now();
    const c = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('error', reject);
    c.once('exit', (code, sig) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${args.join(' ')} exited with ${code ?? sig}: ${err.trim()}`));
      else resolve({ ms, cpuMs: (childrenCpuSeconds() - cpu0) * 1000 });
    });
  });
}

/**
 * The floor of any Node client of the coordinator: no meshrun code, only Node's own TLS and
 * HTTP/2 - connect with the admin's certificate, one ListNodes call (an empty request), read the
 * status, exit. What `meshrun nodes` takes over this is meshrun's own start-up and decoding.
 */
const FLOOR = 'floor: node + TLS + HTTP/2, one ListNodes call';
const FLOOR_SCRIPT = `
const { connect } = require('node:http2');
const { readFileSync } = require('node:fs');
const [address, ca, cert, key] = process.argv.slice(1);
const s = connect('https://' + address, { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) });
const req = s.request({ ':method': 'POST', ':path': '/meshrun.v1.Meshrun/ListNodes', 'content-type': 'application/grpc', te: 'trailers' });
req.on('data', () => undefined);
req.on('trailers', (t) => { s.close(); process.exitCode = t['grpc-status'] === '0' ? 0 : 1; });
req.on('error', (e) => { console.error(e.message); process.exitCode = 1; s.destroy(); });
req.end(Buffer.alloc(5));
`;

/** The admin's credential as files, for the floor script (which must not parse the client config). */
function floorFiles(dir: string, env: NodeJS.ProcessEnv): string[] {
  const t = resolveClientTarget({}, env);
  if (!t.tls?.cert || !t.tls.key) throw new Error('bench cli: the admin config has no client certificate');
  const files = { ca: t.tls.ca, cert: t.tls.cert, key: t.tls.key };
  const paths = Object.entries(files).map(([name, data]) => {
    const p = join(dir, `floor-${name}.pem`);
    writeFileSync(p, data, { mode: 0o600 });
    return p;
  });
  return [t.address, ...paths];
}

interface Figures {
  wall: number[];
  cpu: number[];
}

export const cliSection: Section = {
  name: 'cli',
  async run(ctx: BenchContext): Promise<Row[]> {
    ctx.progress('cli: starting nats-server, coordinator and 2 agents (secured setup)');
    const fleet = await BenchFleet.start(ctx.root, [
      { node: 'bench-a', labels: 'bench=1', slots: 4 },
      { node: 'bench-b', labels: 'bench=1', slots: 4 },
    ]);
    try {
      // a few jobs, so `jobs` and `job` have something to list
      for (let i = 0; i < 5; i++) {
        await fleet.client.submit(`cli-${i}`, trueJobSpec({ bench: '1' }));
        await fleet.watchUntilTerminal(`cli-${i}`, 20_000);
      }
      const env = { ...process.env, MESHRUN_CONFIG: fleet.trust.paths.adminConfig, MESHRUN_COORDINATOR: fleet.address };
      const bin = join(ctx.root, 'bin', 'meshrun.js');
      const commands: [string, string[]][] = [
        ["node -e ''", ['-e', '']],
        [FLOOR, ['-e', FLOOR_SCRIPT, ...floorFiles(fleet.dir, env)]],
        ['meshrun nodes', [bin, 'nodes']],
        ['meshrun jobs', [bin, 'jobs']],
        ['meshrun job ID', [bin, 'job', 'cli-4']],
        ['meshrun logs ID (a stream: grpc-js)', [bin, 'logs', 'cli-4']],
      ];
      const figures = new Map<string, Figures>(commands.map(([name]) => [name, { wall: [], cpu: [] }]));
      ctx.progress(`cli: ${RUNS} rounds of ${commands.map(([n]) => n).join(', ')}, in turn`);
      for (const [, args] of commands) await timed(process.execPath, args, env); // warm the page cache
      for (let i = 0; i < RUNS; i++) {
        for (const [name, args] of commands) {
          const r = await timed(process.execPath, args, env);
          figures.get(name)!.wall.push(r.ms);
          figures.get(name)!.cpu.push(r.cpuMs);
        }
      }
      const p50 = (name: string, k: keyof Figures): number => percentile(figures.get(name)![k], 50);
      const nodeWall = p50("node -e ''", 'wall');
      const nodeCpu = p50("node -e ''", 'cpu');
      ctx.baseline.nodeP50Ms ??= nodeWall;
      const rows: Row[] = [row(`node -e '' spawn -> exit p50 (n=${RUNS}, in turn with the CLI)`, nodeWall, 'ms'), row(`  CPU per node -e ''`, nodeCpu, 'ms')];
      for (const [name] of commands.slice(1)) {
        rows.push(row(`${name} spawn -> exit p50 (n=${RUNS})`, p50(name, 'wall'), 'ms', nodeWall, "vs node -e ''"));
        rows.push(row(`  CPU per ${name}`, p50(name, 'cpu'), 'ms', nodeCpu, "vs node -e ''"));
      }
      rows.push(row('meshrun nodes over node -e \'\' (the CLI\'s own start-up and call), p50', p50('meshrun nodes', 'wall') - nodeWall, 'ms'));
      rows.push(row('meshrun nodes over the floor (what meshrun itself adds), p50', p50('meshrun nodes', 'wall') - p50(FLOOR, 'wall'), 'ms'));
      return rows;
    } finally {
      await fleet.destroy();
    }
  },
};
