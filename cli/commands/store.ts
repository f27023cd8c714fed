// `meshrun store copy --from URL --to URL[,URL...]`: flags checked and resolved (each side's
// credential and CA, or the trust root's coordinator credential for both), the copy run
// (coordinator/store-copy.ts), and its result printed per stream, then verified.
import { existsSync } from 'node:fs';
import { trustRootPaths } from '../../lib/trust/paths.js';
import type { BusEndpoint, StoreCopyReport, StreamCopyResult } from '../../coordinator/store-copy.js';
import { ExitCode, ExitError } from '../exit.js';
import { escapeControls, formatBytes, table } from '../format.js';

export interface StoreCopyFlags {
  from?: string;
  to?: string;
  fromCreds?: string;
  fromCa?: string;
  toCreds?: string;
  toCa?: string;
  trustDir?: string;
  replicas?: string;
  force?: boolean;
  json?: boolean;
}

/** JetStream places at most 5 replicas of a stream. */
const MAX_REPLICAS = 5;

export interface ResolvedStoreCopy {
  from: BusEndpoint;
  to: BusEndpoint;
  replicas: number;
  force: boolean;
}

/** Every flag checked before anything connects; a usage error names the flag. */
export function resolveStoreCopyFlags(f: StoreCopyFlags): ResolvedStoreCopy {
  const usage = (m: string): ExitError => new ExitError(ExitCode.Usage, m);
  if (!f.from) throw usage('store copy needs --from URL: the bus meshrun runs on now');
  if (!f.to) throw usage('store copy needs --to URL[,URL...]: the bus to copy to (every server of a cluster, comma-separated)');
  const from = busUrls('--from', f.from);
  const to = busUrls('--to', f.to);
  const same = from.filter((u) => to.some((v) => hostPort(v) === hostPort(u)));
  if (same.length > 0) throw usage(`--from and --to both name ${same.join(', ')}: the target must be another server`);
  const replicas = f.replicas === undefined ? 1 : Number(f.replicas);
  if (!/^\d+$/.test(f.replicas ?? '1') || replicas < 1 || replicas > MAX_REPLICAS) throw usage(`--replicas ${f.replicas}: expected a whole number from 1 to ${MAX_REPLICAS}`);
  let trust: { creds: string; ca: string } | undefined;
  if (f.trustDir !== undefined) {
    const p = trustRootPaths(f.trustDir);
    if (!existsSync(p.coordinatorCreds)) throw usage(`--trust-dir ${f.trustDir}: no ${p.coordinatorCreds} (the trust root meshrun init made holds it)`);
    trust = { creds: p.coordinatorCreds, ca: p.caCert };
  }
  const file = (flag: string, path: string | undefined): string | undefined => {
    if (path !== undefined && !existsSync(path)) throw usage(`${flag} ${path}: no such file`);
    return path;
  };
  return {
    from: { servers: from.join(','), credsFile: file('--from-creds', f.fromCreds) ?? trust?.creds, caFile: file('--from-ca', f.fromCa) ?? trust?.ca },
    to: { servers: to.join(','), credsFile: file('--to-creds', f.toCreds) ?? trust?.creds, caFile: file('--to-ca', f.toCa) ?? trust?.ca },
    replicas,
    force: f.force ?? false,
  };
}

/** host:port of a NATS URL (4222 when it names no port). */
function hostPort(u: string): string {
  const url = new URL(u.includes('://') ? u : `nats://${u}`);
  return `${url.hostname}:${url.port || '4222'}`;
}

/** `tls://host:port`, `nats://host:port` or `host:port`, comma-separated. */
function busUrls(flag: string, value: string): string[] {
  const urls = value.split(',').map((s) => s.trim());
  for (const u of urls) {
    let ok = false;
    try {
      const url = new URL(u.includes('://') ? u : `nats://${u}`);
      ok = (url.protocol === 'nats:' || url.protocol === 'tls:') && url.hostname !== '';
    } catch {
      ok = false;
    }
    if (!ok) throw new ExitError(ExitCode.Usage, `${flag} ${JSON.stringify(u)}: expected a NATS URL such as tls://host:4222 (several comma-separated)`);
  }
  return urls;
}

export async function storeCopyCmd(flags: StoreCopyFlags): Promise<number> {
  const o = resolveStoreCopyFlags(flags);
  const { copyStore } = await import('../../coordinator/store-copy.js');
  const out = (s: string): void => void process.stdout.write(s);
  if (!flags.json) out(`copying meshrun's store from ${o.from.servers} to ${o.to.servers} (${o.replicas} replica${o.replicas === 1 ? '' : 's'})\n`);
  const report = await copyStore({ ...o, onStream: flags.json ? undefined : (r) => out(table([streamRow(r)])) });
  if (flags.json) {
    out(JSON.stringify(report, null, 2) + '\n');
  } else {
    out(summary(report));
  }
  if (!report.verification.ok) {
    const bad = report.verification.streams.filter((s) => s.problems.length > 0);
    throw new ExitError(ExitCode.Error, `verification failed: ${bad.map((s) => `${s.stream}: ${s.problems.join('; ')}`).join(' | ')}`);
  }
  return ExitCode.Ok;
}

function streamRow(r: StreamCopyResult): string[] {
  const what = r.outcome === 'absent' ? 'not on the source: not made' : `${r.messages} messages, ${formatBytes(r.bytes)}`;
  const notes = [r.skipped > 0 && r.skippedWhy ? `${r.skipped} not copied: ${r.skippedWhy}` : '', r.duplicates > 0 ? `${r.duplicates} dropped as duplicates by the target` : '', r.dropped.length ? `config fields not taken: ${r.dropped.join(', ')}` : ''].filter(Boolean);
  return [r.stream.padEnd(16), what.padEnd(28), `${(r.ms / 1000).toFixed(1)}s`.padStart(6), notes.join('; ')];
}

function summary(r: StoreCopyReport): string {
  const t = r.totals;
  const lines = [`copied ${t.messages} messages, ${formatBytes(t.bytes)} in ${(t.ms / 1000).toFixed(1)} s (${t.messagesPerSecond} messages/s, ${formatBytes(t.bytesPerSecond)}/s)`];
  if (r.notCopied.length) lines.push(`not copied (not meshrun's): ${r.notCopied.join(', ')}`);
  lines.push(`the source's leader lease: ${r.sourceLease}`);
  const rows = [['STREAM', 'SOURCE', 'DUE', 'TARGET', 'KEYS', 'VERIFIED']];
  for (const s of r.verification.streams) {
    rows.push([s.stream, String(s.sourceMessages), String(s.targetExpected), String(s.targetMessages), s.keysCompared === null ? '-' : String(s.keysCompared), s.problems.length ? `NO: ${s.problems.join('; ')}` : 'ok']);
  }
  lines.push('', table(rows).trimEnd());
  lines.push(r.verification.ok ? 'verified: message counts equal on both sides, and the last value of every key' : 'verification FAILED (see above)');
  return escapeControls(lines.join('\n'), 'log') + '\n';
}
