// Every NATS subject, stream, bucket and durable name meshrun uses, in one place.
import type { RunToken } from './names.js';

export const Subjects = {
  /** agent -> coordinator request: registration and heartbeat (reply: HeartbeatReply). */
  heartbeat: (node: string) => `mr.node.${node}.hb`,
  heartbeatWildcard: 'mr.node.*.hb',
  /** coordinator -> agent request: start / cancel / supersede (reply: CommandReply). */
  agentCommand: (node: string) => `mr.agent.${node}.cmd`,
  /** agent -> JetStream: run lifecycle events, one subject per node. */
  runEvents: (node: string) => `mr.evt.${node}`,
  runEventsWildcard: 'mr.evt.>',
  /** agent -> JetStream: log bytes of one attempt. */
  log: (t: RunToken) => `mr.log.${t.job}.${t.stage}.${t.attempt}`,
  jobLogs: (job: string) => `mr.log.${job}.>`,
  logWildcard: 'mr.log.>',
} as const;

export const Streams = {
  events: 'MR_EVENTS',
  logs: 'MR_LOGS',
} as const;

export const Buckets = {
  jobs: 'mr_jobs',
  nodes: 'mr_nodes',
  blobs: 'mr_blobs',
} as const;

export const Durables = {
  coordinatorEvents: 'mr-coordinator-events',
} as const;

/** Parses `mr.log.<job>.<stage>.<attempt>` back into a token. */
export function tokenFromLogSubject(subject: string): RunToken | undefined {
  const p = subject.split('.');
  if (p.length !== 5 || p[0] !== 'mr' || p[1] !== 'log') return undefined;
  const attempt = Number(p[4]);
  if (!Number.isInteger(attempt) || attempt < 1) return undefined;
  return { job: p[2]!, stage: p[3]!, attempt };
}
