// Outbox relay after an outage: with nats-server down, N runs on one agent (a long lease,
// so it holds them) finish and write their logs; their N `exited` events wait in the
// agent's outbox file and their log bytes in the runner files. The bus comes back and we
// measure how fast the backlog is relayed: events/s and log MB/s from the JetStream
// timestamps of the relayed messages (first to last), plus the wall time from the bus
// being back until the outbox file is empty. Baseline, same run, same server: a raw
// JetStream client publishing the same number of messages (and the same log bytes in the
// same 64 KiB chunks), one awaited publish at a time as the relay does.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { BenchFleet } from './dispatch.js';
import { pollUntil } from './failover.js';
import { row, type BenchContext, type Row, type Section } from './report.js';

const RUNS = Number(process.env.MESHRUN_BENCH_OUTBOX_RUNS ?? 100);
const LOG_LINES = Number(process.env.MESHRUN_BENCH_OUTBOX_LOG_LINES ?? 1000);

interface Relayed {
  count: number;
  bytes: number;
  firstAt: number;
  lastAt: number;
  payloads: Uint8Array[];
}

/** Messages of `stream` after sequence `after`, with the server's receive times. */
async function relayedSince(nc: NatsConnection, stream: string, after: number, keep: boolean): Promise<Relayed> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: Relayed = { count: 0, bytes: 0, firstAt: Infinity, lastAt: -Infinity, payloads: [] };
  for (let seq = after + 1; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m) continue;
    out.count++;
    out.bytes += m.data.length;
    const t = m.time.getTime();
    out.firstAt = Math.min(out.firstAt, t);
    out.lastAt = Math.max(out.lastAt, t);
    if (keep) out.payloads.push(m.data);
  }
  return out;
}

async function lastSeqs(fleet: BenchFleet): Promise<{ events: number; logs: number }> {
  const nc = await fleet.natsConnect();
  try {
    const jsm = await jetstreamManager(nc);
    return { events: (await jsm.streams.info('MR_EVENTS')).state.last_seq, logs: (await jsm.streams.info('MR_LOGS')).state.last_seq };
  } finally {
    await nc.close();
  }
}

/** Raw JetStream: publish `payloads` one awaited publish at a time; returns msgs/s and bytes/s. */
async function rawPublishRate(nc: NatsConnection, stream: string, subject: string, payloads: Uint8Array[]): Promise<{ perSec: number; bytesPerSec: number }> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], storage: StorageType.File, duplicate_window: 10 * 60 * 1_000_000_000 });
  try {
    const js = jetstream(nc, { timeout: 5000 });
    let bytes = 0;
    const t0 = performance.now();
    for (const [i, p] of payloads.entries()) {
      const h = headers();
      h.set('Mr-Offset', String(bytes));
      await js.publish(`${subject}.${i % 16}`, p, { msgID: `${stream}-${i}`, headers: h, timeout: 5000 });
      bytes += p.length;
    }
    const s = (performance.now() - t0) / 1000;
    return { perSec: payloads.length / s, bytesPerSec: bytes / s };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
  }
}

function countExited(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"kind":"exited"')).length;
}

function readCursor(path: string): number {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { logOffset?: number }).logOffset ?? 0;
  } catch {
    return 0;
  }
}

export const outboxSection: Section = {
  name: 'outbox',
  async run(ctx: BenchContext): Promise<Row[]> {
    // Liveness is not what is measured here: a generous --down-after keeps a start burst of
    // RUNS wrappers on a small machine from getting the node declared down mid-setup.
    ctx.progress(`outbox: fleet with one agent, ${RUNS} slots, --lease 600s, coordinator --down-after 60s`);
    const fleet = await BenchFleet.start(ctx.root, [{ node: 'ob-a', labels: 'outbox=1', slots: RUNS, extra: ['--lease', '600s'] }], ['--suspect-after', '20s', '--down-after', '60s']);
    try {
      const agentDir = fleet.agentDir('ob-a');
      const outboxFile = join(agentDir, 'outbox', 'outbox.jsonl');
      const gate = join(fleet.dir, 'gate');
      const mk = spawnSync('mkfifo', [gate]);
      if (mk.status !== 0) throw new Error(`mkfifo failed: ${mk.stderr.toString()}`);
      // each run blocks on the FIFO (no CPU while it waits), then writes its log and exits
      const spec = JSON.stringify({
        name: 'bench-outbox',
        stages: [
          {
            name: 'run',
            on: { labels: { outbox: '1' } },
            run: { command: ['sh', '-c', `cat "$0" > /dev/null; yes "outbox bench $MESHRUN_JOB_ID: a line of log output, relayed after the outage" | head -n ${LOG_LINES}`, gate] },
          },
        ],
      });
      const ids = Array.from({ length: RUNS }, (_, i) => `ob-${i}`);
      ctx.progress(`outbox: starting ${RUNS} runs that wait for a gate`);
      // in batches, each running before the next: a gentle start, not a spawn storm
      const BATCH = 10;
      for (let b = 0; b < ids.length; b += BATCH) {
        const batch = ids.slice(b, b + BATCH);
        await Promise.all(batch.map((id) => fleet.client.submit(id, spec)));
        await pollUntil(`runs ${b + 1}-${b + batch.length} running`, async () => {
          const jobs = await Promise.all(batch.map((id) => fleet.client.getJob(id)));
          const bad = jobs.find((j) => (j.stages[0]?.attempts.length ?? 0) > 1);
          if (bad) throw new Error(`${bad.id} got a second attempt during setup: ${bad.stages[0]!.attempts[0]!.reason}`);
          return jobs.every((j) => j.stages[0]?.attempts[0]?.state === 'running') ? true : undefined;
        }, 60_000, 100);
      }
      await pollUntil('outbox empty before the outage', () => (statSync(outboxFile).size === 0 ? true : undefined), 20_000, 50);
      const pre = await lastSeqs(fleet);

      await fleet.nats!.stop('SIGKILL');
      const downAt = Date.now();
      ctx.progress('outbox: bus down; releasing the runs');
      const rcOf = (id: string): string => join(agentDir, 'runs', id, 'run.1.rc');
      await pollUntil('every run ended', () => {
        // wake every reader blocked on the FIFO (ENXIO: none is waiting right now)
        try {
          closeSync(openSync(gate, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // no reader at this instant
        }
        return ids.every((id) => existsSync(rcOf(id))) ? true : undefined;
      }, 60_000, 50);
      await pollUntil('every exit in the outbox', () => (countExited(outboxFile) >= RUNS ? true : undefined), 30_000, 50);
      const backlogBytes = statSync(outboxFile).size;
      const logPaths = ids.map((id) => join(agentDir, 'runs', id, 'run.1'));
      const logBytes = logPaths.reduce((n, p) => n + statSync(`${p}.log`).size, 0);
      ctx.progress(`outbox: ${RUNS} exits (${backlogBytes} B) and ${(logBytes / 1e6).toFixed(1)} MB of logs held; bus back after ${((Date.now() - downAt) / 1000).toFixed(1)}s`);

      await fleet.startNats();
      const backAt = Date.now();
      const emptyAt = await pollUntil('outbox empty', () => (statSync(outboxFile).size === 0 ? Date.now() : undefined), 120_000, 5);
      // (completion only: the time of the last log chunk comes from the stream below)
      await pollUntil('every log byte relayed', () => (logPaths.every((p) => readCursor(`${p}.cursor`) >= statSync(`${p}.log`).size) ? true : undefined), 120_000, 20);

      const nc = await fleet.natsConnect();
      try {
        const ev = await relayedSince(nc, 'MR_EVENTS', pre.events, true);
        const lg = await relayedSince(nc, 'MR_LOGS', pre.logs, true);
        if (ev.count < RUNS) throw new Error(`only ${ev.count} of ${RUNS} exit events in the stream after the outage`);
        if (lg.bytes < logBytes) throw new Error(`only ${lg.bytes} of ${logBytes} log bytes in the stream after the outage`);
        const evSpanS = Math.max(1, ev.lastAt - ev.firstAt) / 1000;
        const lgSpanS = Math.max(1, lg.lastAt - lg.firstAt) / 1000;
        ctx.progress(`outbox: baseline: raw JetStream publish of ${ev.count} event payloads and ${lg.count} log chunks`);
        const rawEv = await rawPublishRate(nc, 'BENCH_RAW_EVENTS', 'bench.rawev', ev.payloads);
        const rawLg = await rawPublishRate(nc, 'BENCH_RAW_LOGS', 'bench.rawlog', lg.payloads);
        const evRate = ev.count / evSpanS;
        const lgRate = lg.bytes / 1e6 / lgSpanS;
        return [
          row(`outbox relay rate, ${ev.count} events after the outage (first -> last relayed)`, evRate, 'events/s', rawEv.perSec, 'vs raw JetStream publish, one awaited at a time'),
          row(`log relay rate, ${(lg.bytes / 1e6).toFixed(1)} MB in ${lg.count} chunks (first -> last relayed)`, lgRate, 'MB/s', rawLg.bytesPerSec / 1e6, 'vs raw JetStream publish of the same chunks'),
          row(`bus back -> outbox empty (${RUNS} events, ${backlogBytes} B backlog)`, emptyAt - backAt, 'ms', (RUNS / rawEv.perSec) * 1000, 'vs raw publish time of as many messages; includes reconnect'),
          row(`bus back -> last log chunk stored`, lg.lastAt - backAt, 'ms', (lg.bytes / rawLg.bytesPerSec) * 1000, 'vs raw publish time of the same bytes; includes reconnect'),
          row(`  bus back -> first event relayed`, ev.firstAt - backAt, 'ms', undefined, 'reconnect; publishes in flight at the outage are abandoned, not waited out'),
          row(`  bus back -> first log chunk relayed`, lg.firstAt - backAt, 'ms', undefined, 'reconnect; publishes in flight at the outage are abandoned, not waited out'),
        ];
      } finally {
        await nc.close();
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      await fleet.destroy();
    }
  },
};
