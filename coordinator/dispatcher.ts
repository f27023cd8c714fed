// Commands to agents (start, stop, handoff marker, prune, forget) as NATS requests, with the
// bookkeeping for at-least-once delivery: when each was last sent, so the coordinator's
// sweep re-sends what got no answer. Agents de-duplicate by run token.
import type { NatsConnection } from '@nats-io/transport-node';
import { commandReplySchema, type AgentCommand } from '../proto/bus.js';
import { decode } from '../proto/decode.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import type { JobRecord } from '../proto/records.js';
import { Subjects } from '../proto/subjects.js';
import type { Logger } from '../lib/log.js';
import { handoffKey, stageSpec, type Handoff, type StopIntent } from './job-machine.js';
import { buildStartCommand } from './start-command.js';

/** A command with no answer within this long is sent again by the sweep. */
export const RESEND_AFTER_MS = 2000;
const REQUEST_TIMEOUT_MS = 2000;

export class Dispatcher {
  private readonly startSentAt = new Map<string, number>();
  private readonly otherSentAt = new Map<string, number>();

  constructor(
    private readonly nc: () => NatsConnection,
    private readonly log: Logger,
  ) {}

  /** Sends the start of a placed attempt; true when the agent accepted it. */
  start(job: JobRecord, token: RunToken, node: string): Promise<boolean> {
    this.startSentAt.set(tokenKey(token), Date.now());
    return this.command(node, buildStartCommand(job, stageSpec(job, token.stage), token));
  }

  startDue(token: RunToken, now: number): boolean {
    return now - (this.startSentAt.get(tokenKey(token)) ?? 0) >= RESEND_AFTER_MS;
  }

  /** Stops are fire-and-forget: a run the agent still reports is stopped again by the heartbeat reply. */
  stops(stops: readonly StopIntent[]): void {
    for (const s of stops) void this.command(s.node, { type: 'stop', token: s.token, reason: s.reason });
  }

  /** Asks the earlier node to write its handoff marker; true when it did. */
  handoff(jobId: string, h: Handoff): Promise<boolean> {
    this.otherSentAt.set(handoffKey(jobId, h), Date.now());
    return this.command(h.from.node, {
      type: 'handoff',
      token: { job: jobId, stage: h.from.stage, attempt: h.from.attempt },
      remote: { node: h.to.node, runDir: h.to.runDir, log: h.to.log, token: { job: jobId, stage: h.to.stage, attempt: h.to.attempt } },
    });
  }

  handoffSent(jobId: string, h: Handoff): boolean {
    return this.otherSentAt.has(handoffKey(jobId, h));
  }

  handoffDue(jobId: string, h: Handoff, now: number): boolean {
    return now - (this.otherSentAt.get(handoffKey(jobId, h)) ?? 0) >= RESEND_AFTER_MS;
  }

  /** Asks a node to prune the ended job's files; true when it accepted. */
  prune(job: JobRecord, node: string): Promise<boolean> {
    this.otherSentAt.set(pruneKey(job.id, node), Date.now());
    return this.command(node, { type: 'prune', job: job.id, globs: job.spec.prune ?? [] });
  }

  pruneDue(jobId: string, node: string, now: number): boolean {
    return now - (this.otherSentAt.get(pruneKey(jobId, node)) ?? 0) >= RESEND_AFTER_MS;
  }

  /** Tells a node that retention removed the job (best effort: the agent's own retention is the backstop). */
  forget(jobId: string, node: string): Promise<boolean> {
    return this.command(node, { type: 'forget', job: jobId });
  }

  /** Drops the send times kept for removed jobs (every key starts with the job id). */
  forgetJobs(ids: ReadonlySet<string>): void {
    for (const m of [this.startSentAt, this.otherSentAt]) for (const k of m.keys()) if (ids.has(k.slice(0, k.indexOf('/')))) m.delete(k);
  }

  private async command(node: string, cmd: AgentCommand): Promise<boolean> {
    try {
      const msg = await this.nc().request(Subjects.agentCommand(node), JSON.stringify(cmd), { timeout: REQUEST_TIMEOUT_MS });
      const r = decode(commandReplySchema, msg.data);
      const ok = r.ok && r.value.ok;
      if (!ok) this.log.warn('agent refused command', { node, type: cmd.type, error: r.ok ? r.value.error : 'malformed reply' });
      return ok;
    } catch (err) {
      // retried by the sweep (starts, handoffs, prunes) or the heartbeat reply (stops)
      this.log.debug('command not delivered', { node, type: cmd.type, err });
      return false;
    }
  }
}

function pruneKey(jobId: string, node: string): string {
  return `${jobId}/prune/${node}`;
}
