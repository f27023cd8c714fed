// The coordinator daemon's entry: flags over the config file over `coordinatorDefaults`,
// resolved once (every flag checked before anything starts), then started in order.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoordinatorConfigFile, NatsAuth } from '../proto/config.js';
import { durationFlag } from '../proto/duration.js';
import { createLogger, type Logger } from '../lib/log.js';
import { connectNats } from '../lib/nats.js';
import { loadNatsTrust, trustRootPaths } from '../lib/trust/trust-root.js';
import { Coordinator } from './coordinator.js';
import type { RetentionPolicy } from './retention.js';
import { Enrollment } from './enrollment.js';
import { watchNodeConnections } from './node-connections.js';
import { startGrpcServer, type GrpcTls, type WebLogins } from './grpc-server.js';
import { splitListen as splitWebListen, startWebServer } from './web/web-server.js';
import { SessionStore } from './web/sessions.js';
import { MeshCoordinator } from './mesh/mesh-coordinator.js';
import { coordinatorDefaults } from './defaults.js';
import { AuditLog } from './audit.js';
import { startStandbyServer } from './standby-server.js';
import { UserRegistry } from './users.js';
import { loadSecretsKey, SecretService, SecretStore } from './secrets.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import { CoordinatorMetrics } from './metrics.js';
import { splitListen, startMetricsServer } from './metrics-server.js';

export { coordinatorDefaults };

/** The exit code of a coordinator that lost the lead (EX_TEMPFAIL): started again, it waits as a standby. */
export const LOST_LEAD_EXIT = 75;

/** `meshrun coordinator` flags, as commander hands them over. */
export interface CoordinatorFlags {
  nats?: string;
  trustDir?: string;
  natsCreds?: string;
  natsCa?: string;
  listen?: string;
  webListen?: string;
  stateDir?: string;
  config?: string;
  suspectAfter?: string;
  downAfter?: string;
  retainFor?: string;
  retainJobs?: string;
  retainEvents?: string;
  restartGrace?: string;
  leaderLease?: string;
  replicas?: string;
  meshCidr?: string;
  meshKeepalive?: string;
  metricsListen?: string;
  insecure?: boolean;
}

export interface MeshCoordinatorSettings {
  cidr: string;
  keepaliveS: number;
}

/** Where the coordinator's settings come from; the CLI reads the file and knows the machine. */
export interface CoordinatorSources {
  flags: CoordinatorFlags;
  /** The --config file's values (flags win over them). */
  file: Partial<CoordinatorConfigFile>;
  /** The state directory when none is named (depends on whether it runs as root). */
  machine: { stateDir(): string };
  /** The mesh settings, checked by the CLI's mesh module (which `install` shares). */
  mesh(): MeshCoordinatorSettings;
}

export interface CoordinatorDaemonOptions {
  nats: string;
  /** The trust root `meshrun init` made: with it, the coordinator enrolls nodes. */
  trustDir: string | undefined;
  natsAuth: NatsAuth;
  listen: string;
  /** The web dashboard's HTTPS address; undefined: no dashboard. */
  webListen: string | undefined;
  stateDir: string;
  suspectAfterMs: number;
  downAfterMs: number;
  retention: RetentionPolicy;
  restartGraceMs: number;
  /** Several coordinators on one bus: a standby takes over after the leader's lease lapses this long. */
  leaderLeaseMs: number;
  /** Copies of every stream, bucket and object store (3 on a 3-server nats-server cluster). */
  replicas: number;
  mesh: MeshCoordinatorSettings;
  /** No TLS and no users: every caller is an admin. Loopback only, warned at every start. */
  insecure: boolean;
  /** Where Prometheus scrapes /metrics (HTTPS with the fleet's client certificates; plain HTTP on loopback when --insecure). Off when undefined. */
  metricsListen: string | undefined;
  log: Logger;
}

/** Every setting resolved once; a bad flag is a usage error naming it. */
export function resolveCoordinatorOptions({ flags: f, file, machine, mesh }: CoordinatorSources): CoordinatorDaemonOptions {
  const nats = f.nats ?? file.nats ?? coordinatorDefaults.nats;
  const listen = f.listen ?? file.listen ?? coordinatorDefaults.listen;
  const stateDir = f.stateDir ?? file.stateDir ?? machine.stateDir();
  const log = createLogger({ daemon: 'coordinator' });
  const meshSettings = mesh();
  const trustDir = f.trustDir ?? file.trustDir;
  const insecure = f.insecure ?? file.insecure ?? false;
  if (!trustDir && !insecure) {
    throw new MeshrunError(ErrorCode.Usage, 'the coordinator needs --trust-dir (the trust root meshrun init made: TLS, users, node enrollment); --insecure runs it without any, on loopback only');
  }
  if (trustDir && insecure) throw new MeshrunError(ErrorCode.Usage, '--insecure and --trust-dir contradict each other: pick one');
  const webListen = f.webListen ?? file.webListen;
  if (webListen !== undefined) {
    splitWebListen(webListen);
    // no users to log in as: a dashboard there would be anonymous
    if (insecure) throw new MeshrunError(ErrorCode.Usage, '--web-listen needs --trust-dir: the dashboard logs users in with their certificates, and --insecure has no users');
  }
  if (insecure && !isLoopbackListen(listen)) {
    throw new MeshrunError(ErrorCode.Usage, `--insecure refuses to listen on ${listen}: without TLS anyone who reaches it could run commands as root on every node; listen on 127.0.0.1 or use --trust-dir`);
  }
  const metricsListen = f.metricsListen ?? file.metricsListen;
  if (metricsListen !== undefined) {
    splitListen(metricsListen);
    if (insecure && !isLoopbackListen(metricsListen)) {
      throw new MeshrunError(ErrorCode.Usage, `--insecure refuses to serve metrics on ${metricsListen}: without TLS they would be open to anyone who reaches it; use 127.0.0.1 or --trust-dir (then scrapers need a client certificate of the fleet)`);
    }
  }
  return {
    nats,
    natsAuth: { credsFile: f.natsCreds ?? file.natsCreds, caFile: f.natsCa ?? file.natsCa },
    trustDir,
    insecure,
    metricsListen,
    listen,
    webListen,
    stateDir,
    suspectAfterMs: durationFlag('suspect-after', f.suspectAfter) ?? file.suspectAfter ?? coordinatorDefaults.suspectAfterMs,
    downAfterMs: durationFlag('down-after', f.downAfter) ?? file.downAfter ?? coordinatorDefaults.downAfterMs,
    restartGraceMs: durationFlag('restart-grace', f.restartGrace) ?? file.restartGrace ?? coordinatorDefaults.restartGraceMs,
    leaderLeaseMs: durationFlag('leader-lease', f.leaderLease) ?? file.leaderLease ?? coordinatorDefaults.leaderLeaseMs,
    replicas: replicasFlag(f.replicas) ?? file.replicas ?? coordinatorDefaults.replicas,
    retention: {
      retainForMs: durationFlag('retain-for', f.retainFor) ?? file.retainFor ?? coordinatorDefaults.retainForMs,
      retainJobs: countFlag('retain-jobs', f.retainJobs) ?? file.retainJobs ?? coordinatorDefaults.retainJobs,
      retainEvents: countFlag('retain-events', f.retainEvents) ?? file.retainEvents ?? coordinatorDefaults.retainEvents,
    },
    mesh: meshSettings,
    log,
  };
}

/**
 * Starts the coordinator, its mesh half and its gRPC server, writes coordinator.json to the
 * state directory, then waits for `untilStopped` (the CLI: SIGINT or SIGTERM) to close them
 * in the reverse order. The exit code is the caller's.
 */
export async function runCoordinatorDaemon(o: CoordinatorDaemonOptions, untilStopped: (close: () => Promise<void>) => Promise<number>): Promise<number> {
  const { log } = o;
  if (o.insecure) log.warn('running --insecure: no TLS, no users, every local caller is an admin; never do this on a machine others can log in to');
  const coordinator = new Coordinator({
    nats: o.nats,
    natsAuth: o.natsAuth,
    suspectAfterMs: o.suspectAfterMs,
    downAfterMs: o.downAfterMs,
    restartGraceMs: o.restartGraceMs,
    retention: o.retention,
    leaderLeaseMs: o.leaderLeaseMs,
    replicas: o.replicas,
    address: o.listen,
    // another coordinator leads now: stop acting at once, without a drain that could still
    // write; the service manager starts this one again, as a standby
    onLeadershipLost: () => process.exit(LOST_LEAD_EXIT),
    log,
  });
  // before start(): the held jobs it loads on taking the lead are where its counting begins
  const metrics = o.metricsListen !== undefined ? new CoordinatorMetrics(coordinator) : undefined;
  log.info('coordinator starting; it serves once it holds the leader lease (a standby waits here)', { leaderLeaseMs: o.leaderLeaseMs });
  const paths = o.trustDir ? trustRootPaths(o.trustDir) : undefined;
  const tls = paths ? { certFile: paths.grpcCert, keyFile: paths.grpcKey, caFile: paths.caCert } : undefined;
  // until it leads (and has loaded), its port tells clients where the leader is
  const standby = await startStandbyServer({ listen: o.listen, tls, leader: () => coordinator.leader, takingOver: () => coordinator.leads, log });
  try {
    await coordinator.start();
  } catch (err) {
    standby.server.forceShutdown();
    throw err;
  }
  // Leading now. A step the bus does not answer yet (a cluster electing stream leaders after a
  // server went away) is tried again, not fatal: exiting would hand the lead round and round.
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const r = await slowStepWarned(what, log, () => coordinator.untilBusAnswers(what, fn));
    if (r === undefined) throw new MeshrunError(ErrorCode.Unreachable, `stopped while starting (${what})`);
    return r;
  };
  const mesh = await step('mesh', () => startMeshCoordinator(coordinator, o.mesh, log));
  const enrolling = o.trustDir ? await step('enrollment', () => startEnrollment(o, coordinator, o.trustDir!, log)) : undefined;
  const users = o.trustDir ? await step('users', () => startUsers(coordinator, o.trustDir!, log)) : undefined;
  const secrets = o.trustDir ? await step('secrets', () => startSecrets(coordinator, o.trustDir!, log)) : undefined;
  const audit = new AuditLog(coordinator.connection, log.child({ part: 'audit' }));
  await step('audit', () => audit.start().then(() => true));
  standby.server.forceShutdown();
  metrics?.useMesh(() => mesh.status());
  // served from here (leading, users loaded): a standby has no user registry to check scrapers against
  const metricsServer = metrics && (await slowStepWarned('metrics port', log, () => startMetricsServer({ listen: o.metricsListen!, tls, authenticate: users && ((cert) => users.authenticate(cert)), render: () => metrics.render(), log: log.child({ part: 'metrics' }) })));
  const web = o.webListen && tls && users ? await slowStepWarned('web port', log, () => startWeb(coordinator, o.webListen!, tls, users, audit, mesh, log)) : undefined;
  const { server, port } = await slowStepWarned('gRPC port', log, () => startGrpcServer(coordinator, { listen: o.listen, log, tls, users, audit, mesh, enrollment: enrolling?.enrollment, web }));
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(o.stateDir, 'coordinator.json'), JSON.stringify({ pid: process.pid, listen: o.listen, port, nats: o.nats, ...(metricsServer ? { metricsPort: metricsServer.port } : {}) }) + '\n');
  log.info('coordinator listening', { listen: o.listen, port, nats: o.nats });
  return untilStopped(async () => {
    await new Promise<void>((r) => server.tryShutdown(() => r()));
    await web?.close();
    await metricsServer?.close();
    metrics?.close();
    await mesh.close();
    await enrolling?.close();
    users?.stop();
    secrets?.stop();
    await coordinator.close();
  });
}

/** Every this long a start-up step is still waiting, it says so: a start that stalls must name its step. */
const SLOW_STEP_WARN_MS = 10_000;

async function slowStepWarned<T>(what: string, log: Logger, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const timer = setInterval(() => log.warn('start-up step still waiting', { step: what, waitedMs: Date.now() - t0 }), SLOW_STEP_WARN_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The web dashboard on its own port, with the gRPC port's certificate; logins are issued over gRPC (CreateWebLogin). */
async function startWeb(c: Coordinator, listen: string, tls: GrpcTls, users: UserRegistry, audit: AuditLog, mesh: MeshCoordinator, log: Logger): Promise<WebLogins & { close(): Promise<void> }> {
  const sessions = new SessionStore();
  const web = await startWebServer(c, { listen, tls, users, audit, mesh, sessions, log: log.child({ part: 'web' }) });
  return { sessions, port: web.port, close: () => web.close() };
}

/** Enrollment with the trust root's keys, on the coordinator's own bus connection. */
async function startEnrollment(o: CoordinatorDaemonOptions, c: Coordinator, trustDir: string, log: Logger): Promise<{ enrollment: Enrollment; close(): Promise<void> }> {
  const paths = trustRootPaths(trustDir);
  const caPem = readFileSync(paths.caCert, 'utf8');
  // the server the coordinator's own connection is on first: it answers (a cut-off one would not)
  const systemNc = await connectNats({ servers: o.nats, name: 'meshrun-coordinator-system', log, credsFile: paths.coordinatorSystemCreds, caFile: o.natsAuth.caFile ?? paths.caCert, prefer: c.connection.getServer() });
  const enrollment = new Enrollment({ nc: c.connection, systemNc, trust: loadNatsTrust(trustDir), trustFile: paths.trust, caPem, log: log.child({ part: 'enrollment' }) });
  try {
    await enrollment.start();
  } catch (err) {
    // the step is tried again with a connection of its own: this one must not linger
    await systemNc.close().catch(() => undefined);
    throw err;
  }
  c.bindLabels((node) => enrollment.boundLabels(node));
  // the server says when an agent's process closed its connection: a restart, held, not failed over
  const closes = watchNodeConnections(systemNc, loadNatsTrust(trustDir).account.publicKey, (node) => c.nodeConnectionClosed(node), log);
  return {
    enrollment,
    close: async () => {
      closes.unsubscribe();
      enrollment.stop();
      await systemNc.drain().catch(() => undefined);
    },
  };
}

/** The user registry, with the users meshrun init issued registered on the first start. */
async function startUsers(c: Coordinator, trustDir: string, log: Logger): Promise<UserRegistry> {
  const paths = trustRootPaths(trustDir);
  for (const f of [paths.grpcCert, paths.grpcKey]) {
    if (!existsSync(f)) throw new MeshrunError(ErrorCode.NotFound, `${f} is missing: this trust root predates TLS for clients (meshrun init --force makes a new one)`);
  }
  const ca = { certPem: readFileSync(paths.caCert, 'utf8'), keyPem: readFileSync(paths.caKey, 'utf8') };
  const users = new UserRegistry(c.connection, ca, log.child({ part: 'users' }));
  await users.start();
  const added = await users.importBootstrap(paths.usersBootstrap);
  if (added.length > 0) log.info('users from meshrun init registered', { users: added });
  return users;
}

/** Job secrets: encrypted at rest with the trust root's key, handed sealed to the node running a stage. */
async function startSecrets(c: Coordinator, trustDir: string, log: Logger): Promise<SecretService> {
  const store = new SecretStore(c.connection, loadSecretsKey(trustRootPaths(trustDir).secretsKey));
  await store.start();
  c.useSecrets(store);
  // a job that ended while no coordinator ran still had its secrets stored
  for (const id of await store.jobs()) if (!c.isActiveJob(id)) await store.remove(id);
  // only the node holding a current attempt gets them: a job that has not ended, held in memory
  const service = new SecretService({ nc: c.connection, store, job: (id) => c.peekJob(id), log: log.child({ part: 'secrets' }) });
  service.start();
  return service;
}

/** 127.0.0.1:P, localhost:P, [::1]:P: reachable from this machine only. */
export function isLoopbackListen(listen: string): boolean {
  const host = listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Starts the mesh half of the coordinator on the coordinator's own bus connection. */
export async function startMeshCoordinator(c: Coordinator, s: MeshCoordinatorSettings, log: Logger): Promise<MeshCoordinator> {
  const mesh = new MeshCoordinator({
    nc: c.connection,
    cidr: s.cidr,
    keepaliveS: s.keepaliveS,
    log: log.child({ part: 'mesh' }),
    nodeState: (name) => {
      const e = c.nodes.entries.get(name);
      return e && !e.record.removed ? c.nodes.liveness(e, Date.now()) : undefined;
    },
    ackWaitMs: 5000,
    pushTimeoutMs: 2000,
    observeHeartbeats: (fn) => c.observeHeartbeats(fn),
  });
  await mesh.start();
  return mesh;
}

/** `--replicas N`: 1 to 5 (JetStream's limit), a usage error naming the flag otherwise. */
function replicasFlag(v: string | undefined): number | undefined {
  const n = countFlag('replicas', v);
  if (n !== undefined && (n < 1 || n > 5)) throw new MeshrunError(ErrorCode.Usage, `--replicas ${v}: expected 1 to 5 (3 on a 3-server nats-server cluster)`);
  return n;
}

/** A whole-number flag (`--retain-jobs 500`): undefined when not given, a usage error naming the flag when unreadable. */
function countFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new MeshrunError(ErrorCode.Usage, `--${name} ${v}: expected a whole number`);
  return n;
}
