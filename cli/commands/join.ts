// Enrollment from the node's side: `meshrun node token create` (an admin) and
// `meshrun agent --join TOKEN`, which makes the node's NATS key pair here, exchanges the token
// for a credential signed by the fleet, and stores it 0600 next to the fleet's CA certificate.
// The seed never leaves this machine; a node that already holds a credential keeps it.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { fmtCreds } from '@nats-io/jwt';
import type { AgentOptions } from '../../agent/index.js';
import { parseDuration } from '../../proto/duration.js';
import { parseLabelList } from '../../proto/names.js';
import { writeFileAtomic } from '../../lib/write-file-atomic.js';
import { MeshrunClient } from '../client.js';
import type { RpcClient } from '../rpc-client.js';
import { joinTokenSchema, type JoinMsg } from '../../proto/grpc.js';
import { fetchPinnedCa } from '../../lib/trust/pin.js';
import { ExitCode, ExitError } from '../exit.js';

export interface TokenCreateOptions {
  labels?: string;
  ttl?: string;
  uses?: string;
  json?: boolean;
}

export async function tokenCreateCmd(client: RpcClient, o: TokenCreateOptions): Promise<number> {
  const ttlMs = parseDuration(o.ttl ?? '1h');
  if (ttlMs === undefined) throw new ExitError(ExitCode.Usage, `--ttl ${o.ttl}: expected a duration like 30m, 1h or 7d`);
  const uses = Number(o.uses ?? '1');
  if (!Number.isInteger(uses) || uses < 1) throw new ExitError(ExitCode.Usage, `--uses ${o.uses}: expected a whole number >= 1`);
  let labels: Record<string, string> = {};
  try {
    labels = o.labels ? parseLabelList(o.labels) : {};
  } catch (err) {
    throw new ExitError(ExitCode.Usage, `--labels: ${(err as Error).message}`);
  }
  await client.ready();
  const t = await client.createJoinToken(labels, ttlMs, uses);
  if (o.json) process.stdout.write(JSON.stringify({ token: t.token, id: t.id, expiresAt: new Date(Number(t.expiresAtMs)).toISOString(), uses: t.uses }) + '\n');
  else process.stdout.write(`${t.token}\n`);
  return ExitCode.Ok;
}

/** Where an enrolled agent keeps its credential and the fleet's CA certificate. */
export function enrolledPaths(stateDir: string): { creds: string; ca: string; token: string } {
  return { creds: join(stateDir, 'nats.creds'), ca: join(stateDir, 'fleet-ca.pem'), token: join(stateDir, 'joined-with') };
}

/**
 * Exchanges `token` for this node's credential unless it already has one, and points the
 * agent's bus connection at it. The token's labels apply when none were given.
 */
export async function enrollAgent(opts: AgentOptions, token: string, coordinator: string, labelsGiven: boolean): Promise<AgentOptions> {
  const p = enrolledPaths(opts.stateDir);
  // the id of the token the credential came from: the same --join on every start (a unit file)
  // enrolls once; a new token enrolls again (after `node remove` revoked the old credential)
  const tokenId = token.split('.')[1] ?? '';
  const joinedWith = existsSync(p.token) ? readFileSync(p.token, 'utf8').trim() : '';
  if (!existsSync(p.creds) || joinedWith !== tokenId) {
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    const parsed = joinTokenSchema.safeParse(token);
    if (!parsed.success) throw new ExitError(ExitCode.Usage, `--join: ${parsed.error.issues[0]!.message}`);
    const kp = createUser();
    const ca = await fetchPinnedCa(coordinator, token.split('.')[3]!);
    const client = new MeshrunClient({ address: coordinator, tls: { ca: Buffer.from(ca) }, source: 'the CA the join token names' });
    let r: JoinMsg;
    try {
      await client.ready();
      r = await client.join(token, opts.node, kp.getPublicKey());
    } finally {
      client.close();
    }
    writeFileAtomic(p.creds, new TextDecoder().decode(fmtCreds(r.jwt, kp)), 0o600);
    writeFileAtomic(p.ca, r.caPem, 0o644);
    writeFileAtomic(p.token, `${tokenId}\n`, 0o600);
    if (!labelsGiven && Object.keys(r.labels).length > 0) writeFileAtomic(join(opts.stateDir, 'labels.json'), JSON.stringify(r.labels) + '\n', 0o600);
    opts.log.info('enrolled with a join token', { node: opts.node, labels: r.labels });
  }
  let labels = opts.labels;
  if (!labelsGiven && existsSync(join(opts.stateDir, 'labels.json'))) {
    labels = JSON.parse(readFileSync(join(opts.stateDir, 'labels.json'), 'utf8')) as Record<string, string>;
  }
  return { ...opts, labels, natsAuth: { credsFile: opts.natsAuth?.credsFile ?? p.creds, caFile: opts.natsAuth?.caFile ?? p.ca } };
}
