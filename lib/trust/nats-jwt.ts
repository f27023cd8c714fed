// The NATS half of a fleet's trust root: an operator, a system account and the meshrun
// account as nkeys and JWTs (decentralized auth), user credentials issued by the account
// with per-user subject permissions, revocation by an account JWT update, and the
// nats-server configuration that trusts the operator. nats-server enforces all of it.
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type Account, type Permissions } from '@nats-io/jwt';

export interface NatsTrust {
  operator: { name: string; seed: string; jwt: string; publicKey: string };
  /** The system account: server events, and pushing account JWT updates (revocations). */
  system: { seed: string; jwt: string; publicKey: string };
  /** The meshrun account: every node, coordinator and client connection lives here. */
  account: { name: string; seed: string; jwt: string; publicKey: string; revocations: Record<string, number> };
}

/** What one connection may do on the bus: subjects it may publish and subscribe to. */
export interface BusPermissions {
  pub: { allow: string[]; deny?: string[] };
  sub: { allow: string[]; deny?: string[] };
  /** Replies to requests it received (heartbeat answers, command answers). */
  allowResponses?: boolean;
}

// Without limits an account JWT from this library allows no connection at all; the system
// account must not have JetStream.
const UNLIMITED_NATS: Account['limits'] = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const UNLIMITED_ACCOUNT: Account['limits'] = {
  ...UNLIMITED_NATS,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

const seedOf = (kp: KeyPair): string => new TextDecoder().decode(kp.getSeed());

/** A new trust root: fresh operator, system and meshrun account keys, each account JWT signed by the operator. */
export async function createNatsTrust(name = 'meshrun'): Promise<NatsTrust> {
  const op = createOperator();
  const sys = createAccount();
  const acc = createAccount();
  const operatorJwt = await encodeOperator(name, op, { system_account: sys.getPublicKey() });
  const systemJwt = await encodeAccount('SYS', sys, { limits: UNLIMITED_NATS }, { signer: op });
  const trust: NatsTrust = {
    operator: { name, seed: seedOf(op), jwt: operatorJwt, publicKey: op.getPublicKey() },
    system: { seed: seedOf(sys), jwt: systemJwt, publicKey: sys.getPublicKey() },
    account: { name, seed: seedOf(acc), jwt: '', publicKey: acc.getPublicKey(), revocations: {} },
  };
  trust.account.jwt = await signAccount(trust);
  return trust;
}

/** The meshrun account's JWT as it stands (limits, JetStream, revocations), signed by the operator. */
export async function signAccount(trust: NatsTrust): Promise<string> {
  const op = fromSeed(new TextEncoder().encode(trust.operator.seed));
  const acc = fromSeed(new TextEncoder().encode(trust.account.seed));
  return encodeAccount(trust.account.name, acc, { limits: UNLIMITED_ACCOUNT, revocations: trust.account.revocations }, { signer: op });
}

export interface IssuedUser {
  publicKey: string;
  /** The `.creds` file: the user JWT and its seed. Secret: write it 0600. */
  creds: Uint8Array;
}

/** A user of the meshrun account with these permissions; `expiresAt` in ms since the epoch. */
export async function issueUser(trust: NatsTrust, name: string, perms: BusPermissions | 'all', expiresAt?: number): Promise<IssuedUser> {
  const u = createUser();
  const jwt = await signUserJwt(trust, name, u.getPublicKey(), perms, expiresAt);
  return { publicKey: u.getPublicKey(), creds: fmtCreds(jwt, u) };
}

/**
 * The user JWT for a key pair made elsewhere (a node enrolling keeps its seed): signed by the
 * meshrun account with these permissions. Only the public key is needed here.
 */
export async function signUserJwt(trust: NatsTrust, name: string, userPublicKey: string, perms: BusPermissions | 'all', expiresAt?: number): Promise<string> {
  const acc = fromSeed(new TextEncoder().encode(trust.account.seed));
  const p: Permissions = perms === 'all' ? {} : { pub: perms.pub, sub: perms.sub, ...(perms.allowResponses ? { resp: { max: 1, ttl: 0 } } : {}) };
  return encodeUser(name, userPublicKey, acc, p, expiresAt ? { exp: Math.floor(expiresAt / 1000) } : {});
}

/** A system-account user: it may push account JWT updates (revocations) to the servers. */
export async function issueSystemUser(trust: NatsTrust, name: string): Promise<IssuedUser> {
  const sys = fromSeed(new TextEncoder().encode(trust.system.seed));
  const u = createUser();
  const jwt = await encodeUser(name, u, sys, {});
  return { publicKey: u.getPublicKey(), creds: fmtCreds(jwt, u) };
}

/**
 * Revokes every credential of `userPublicKey` issued up to now and returns the new account
 * JWT; the caller pushes it to the servers (`pushAccountUpdate`), which disconnect the user.
 */
export async function revokeUser(trust: NatsTrust, userPublicKey: string, now = Date.now()): Promise<string> {
  trust.account.revocations[userPublicKey] = Math.floor(now / 1000);
  trust.account.jwt = await signAccount(trust);
  return trust.account.jwt;
}

/** The subject a system user publishes an account JWT on to update the servers' full resolver. */
export function accountUpdateSubject(accountPublicKey: string): string {
  return `$SYS.REQ.ACCOUNT.${accountPublicKey}.CLAIMS.UPDATE`;
}

export interface ServerConfigOptions {
  host?: string;
  port: number;
  storeDir: string;
  /** Directory of the full resolver's account JWTs (updates pushed at run time land here). */
  resolverDir: string;
  tls?: { certFile: string; keyFile: string; caFile: string; verify: boolean };
  /** One server of a JetStream cluster: its unique name and its routes to the others. */
  cluster?: ClusterConfigOptions;
}

export interface ClusterConfigOptions {
  serverName: string;
  /** The cluster's name (the same on every server). */
  name: string;
  /** `host:port` the route listener binds. */
  listen: string;
  /** `host:port` of every server's route listener (this one's included: nats-server skips itself). */
  routes: string[];
  /**
   * Routes are mutual TLS with certificates of the routes' own CA, which signs nothing else: a
   * user's or node's certificate from the fleet CA cannot join the cluster.
   */
  tls: { certFile: string; keyFile: string; caFile: string };
}

/** A nats-server (2.9) configuration that trusts only this operator: no anonymous connection. */
export function natsServerConfig(trust: NatsTrust, o: ServerConfigOptions): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    `host: ${q(o.host ?? '127.0.0.1')}`,
    `port: ${o.port}`,
    `operator: ${q(trust.operator.jwt)}`,
    `system_account: ${q(trust.system.publicKey)}`,
    `resolver: { type: full, dir: ${q(o.resolverDir)}, allow_delete: false, interval: "2m" }`,
    `resolver_preload: {`,
    `  ${trust.system.publicKey}: ${q(trust.system.jwt)}`,
    `  ${trust.account.publicKey}: ${q(trust.account.jwt)}`,
    `}`,
    `jetstream: { store_dir: ${q(o.storeDir)} }`,
  ];
  if (o.tls) lines.push(`tls: { cert_file: ${q(o.tls.certFile)}, key_file: ${q(o.tls.keyFile)}, ca_file: ${q(o.tls.caFile)}, verify: ${o.tls.verify} }`);
  const c = o.cluster;
  if (c) {
    lines.unshift(`server_name: ${q(c.serverName)}`);
    // A route to a server behind a pulled cable is only found dead by missed pings (2 min by
    // default, so requests and interest would go into it for minutes): ping every 2 s, drop
    // after 3 missed. Clients get the same; meshrun's reconnect in half a second.
    lines.push(`ping_interval: "2s"`, `ping_max: 3`);
    lines.push(
      `cluster: {`,
      `  name: ${q(c.name)}`,
      `  listen: ${q(c.listen)}`,
      `  routes: [${c.routes.map((r) => q(`nats-route://${r}`)).join(', ')}]`,
      `  tls: { cert_file: ${q(c.tls.certFile)}, key_file: ${q(c.tls.keyFile)}, ca_file: ${q(c.tls.caFile)}, verify: true, timeout: 5 }`,
      `}`,
    );
  }
  return lines.join('\n') + '\n';
}
