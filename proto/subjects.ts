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
  /** agent -> JetStream: log bytes of one attempt. */
  log: (t: RunToken) => `mr.out.${t.job}.${t.stage}.${t.attempt}.log`,
  /** agent -> JetStream: structured playbook events (<stem>.events.jsonl bytes) of one attempt. */
  playbookEvents: (t: RunToken) => `mr.out.${t.job}.${t.stage}.${t.attempt}.pev`,
  /** A job's log bytes and playbook events, in one ordered stream for followers. */
  jobOutput: (job: string) => `mr.out.${job}.>`,
  outputWildcard: 'mr.out.>',
} as const;

export const Streams = {
  events: 'MR_EVENTS',
  logs: 'MR_LOGS',
} as const;

export const Buckets = {
  jobs: 'mr_jobs',
  nodes: 'mr_nodes',
  blobs: 'mr_blobs',
  /** Mesh members (address, public key), desired-set versions and revoked keys. */
  mesh: 'mr_mesh',
  /** Join tokens: a hash of each secret, labels, expiry and uses left. */
  tokens: 'mr_tokens',
} as const;

export const Durables = {
  coordinatorEvents: 'mr-coordinator-events',
} as const;

/** Parses `mr.out.<job>.<stage>.<attempt>.<log|pev>` back into a token and channel. */
export function parseOutputSubject(subject: string): { token: RunToken; channel: 'log' | 'pev' } | undefined {
  const p = subject.split('.');
  if (p.length !== 6 || p[0] !== 'mr' || p[1] !== 'out' || (p[5] !== 'log' && p[5] !== 'pev')) return undefined;
  const attempt = Number(p[4]);
  if (!Number.isInteger(attempt) || attempt < 1) return undefined;
  return { token: { job: p[2]!, stage: p[3]!, attempt }, channel: p[5] };
}

/** The token of a log subject (`mr.out.<job>.<stage>.<attempt>.log`). */
export function tokenFromLogSubject(subject: string): RunToken | undefined {
  const r = parseOutputSubject(subject);
  return r?.channel === 'log' ? r.token : undefined;
}
