// Every NATS subject, stream, bucket and durable name meshrun uses, in one place.
import type { RunToken } from './names.js';

export const Subjects = {
  /** agent -> coordinator request: registration and heartbeat (reply: HeartbeatReply). */
  heartbeat: (node: string) => `mr.node.${node}.hb`,
  heartbeatWildcard: 'mr.node.*.hb',
  /** coordinator -> agent request: start / cancel / supersede (reply: CommandReply). */
  agentCommand: (node: string) => `mr.agent.${node}.cmd`,
  /** coordinator -> agent request: desired mesh peer set, key rotation (reply: MeshCommandReply). */
  meshCommand: (node: string) => `mr.agent.${node}.mesh`,
  /** agent -> JetStream: run lifecycle events, one subject per node. */
  runEvents: (node: string) => `mr.evt.${node}`,
  runEventsWildcard: 'mr.evt.>',
  /** agent -> JetStream: log bytes of one attempt, under the name of the node that ran it. */
  log: (t: RunToken, node: string) => `mr.out.${t.job}.${t.stage}.${t.attempt}.${node}.log`,
  /** agent -> JetStream: structured playbook events (<stem>.events.jsonl bytes) of one attempt. */
  playbookEvents: (t: RunToken, node: string) => `mr.out.${t.job}.${t.stage}.${t.attempt}.${node}.pev`,
  /** Every output subject a node may publish: those carrying its own name. */
  nodeOutput: (node: string) => `mr.out.*.*.*.${node}.*`,
  /** A job's log bytes and playbook events, in one ordered stream for followers. */
  jobOutput: (job: string) => `mr.out.${job}.>`,
  outputWildcard: 'mr.out.>',
  /** agent -> coordinator request: a chunk of the workspace of a run it holds (reply: BlobGetReply). */
  blobGet: (node: string) => `mr.blob.${node}.get`,
  /** agent -> coordinator request: begin, chunk or commit of a run's artifacts upload (reply: BlobPutReply). */
  blobPut: (node: string) => `mr.blob.${node}.put`,
  blobWildcard: 'mr.blob.*.*',
  /** agent -> coordinator request: the secrets of a run the node holds, sealed to a one-time key. */
  secretGet: (node: string) => `mr.secret.${node}.get`,
  secretWildcard: 'mr.secret.*.get',
  /** coordinator -> JetStream: one audit record per mutating or refused gRPC call. */
  audit: 'mr.audit',
} as const;

export const Streams = {
  events: 'MR_EVENTS',
  logs: 'MR_LOGS',
  /** Who did what through the gRPC API (meshrun audit). */
  audit: 'MR_AUDIT',
} as const;

export const Buckets = {
  jobs: 'mr_jobs',
  /** One small entry per finished job (proto/records.ts jobIndexEntrySchema): read at start-up instead of every record. */
  jobIndex: 'mr_job_index',
  nodes: 'mr_nodes',
  blobs: 'mr_blobs',
  /** Mesh members (address, public key), desired-set versions and revoked keys. */
  mesh: 'mr_mesh',
  /** Join tokens: a hash of each secret, labels, expiry and uses left. */
  tokens: 'mr_tokens',
  /** Users of the gRPC API: role and the fingerprints of their client certificates. */
  users: 'mr_users',
  /** Job secrets, encrypted with the trust root's secrets key; removed when the job ends. */
  secrets: 'mr_secrets',
  /** The coordinators' leader lease (one key, renewed by compare-and-set). */
  leader: 'mr_leader',
  /** Schedules: cron, job spec, policies, and the ticks decided (proto/schedule.ts). */
  schedules: 'mr_schedules',
} as const;

export const Durables = {
  coordinatorEvents: 'mr-coordinator-events',
} as const;

/** Parses `mr.out.<job>.<stage>.<attempt>.<node>.<log|pev>` back into a token, the node named and the channel. */
export function parseOutputSubject(subject: string): { token: RunToken; node: string; channel: 'log' | 'pev' } | undefined {
  const p = subject.split('.');
  if (p.length !== 7 || p[0] !== 'mr' || p[1] !== 'out' || (p[6] !== 'log' && p[6] !== 'pev')) return undefined;
  const attempt = Number(p[4]);
  if (!Number.isInteger(attempt) || attempt < 1 || !p[2] || !p[3] || !p[5]) return undefined;
  return { token: { job: p[2], stage: p[3], attempt }, node: p[5], channel: p[6] };
}

/** The token of a log subject (`mr.out.<job>.<stage>.<attempt>.<node>.log`). */
export function tokenFromLogSubject(subject: string): RunToken | undefined {
  const r = parseOutputSubject(subject);
  return r?.channel === 'log' ? r.token : undefined;
}

/** Parses `mr.blob.<node>.<get|put>`: which node asks, and for what. */
export function parseBlobSubject(subject: string): { node: string; op: 'get' | 'put' } | undefined {
  const p = subject.split('.');
  if (p.length !== 4 || p[0] !== 'mr' || p[1] !== 'blob' || !p[2] || (p[3] !== 'get' && p[3] !== 'put')) return undefined;
  return { node: p[2], op: p[3] };
}
