// The CLI's unary calls to the coordinator, over whichever channel carries them: several
// addresses tried in turn, a deadline per try, gRPC statuses mapped to exit codes with one line.
// No gRPC library here: client.ts brings grpc-js (and streams), h2-channel.ts a lean channel.
import type { ClientTarget } from './client-target.js';
import type { WebLoginReply__Output as WebLoginMsg } from '../proto/generated/meshrun/v1/WebLoginReply.js';
import type { AddUserMsg, AuditEntryMsg, IdentityMsg, RemoveUserMsg, UserMsg, JobMsg, JoinMsg, JoinTokenMsg, NodeMsg, ScheduleMsg } from '../proto/grpc.js';
import type { MeshJoinMsg, MeshLeaveMsg, MeshRotateMsg, MeshStatusMsg, NodeRemoveMsg } from '../proto/mesh.js';
import { DEFAULT_COORDINATOR_ADDRESS } from '../proto/defaults.js';
import { ErrorCode } from '../lib/errors.js';
import { errorCodeOfStatus, GrpcStatus, isBusUnavailable } from '../lib/grpc-status.js';
import { ExitCode, ExitError } from './exit.js';

export const DEFAULT_COORDINATOR = DEFAULT_COORDINATOR_ADDRESS;

export function coordinatorAddress(flag?: string): string {
  return flag ?? process.env.MESHRUN_COORDINATOR ?? DEFAULT_COORDINATOR;
}

/** A failed call as both channels report it (grpc-js's ServiceError has the first three fields). */
export interface RpcError {
  code: number;
  details: string;
  message: string;
  /** A standby's answer: the leader's address it named (trailing metadata LEADER_METADATA). */
  leader?: string;
}

/** One connection to one coordinator address, for unary calls. */
export interface UnaryChannel {
  /** Resolves once connected; rejects when `deadline` (epoch ms) passes first. */
  waitForReady(deadline: number): Promise<void>;
  /** One call by method name (`ListNodes`); rejects with an RpcError. */
  unary<Res>(method: string, req: object, deadline: number | undefined): Promise<Res>;
  close(): void;
}

/** With several coordinator addresses: how long one try of a call may take before the next address is tried. */
const CALL_DEADLINE_MS = 10_000;

/**
 * How long a call waits for a coordinator whose bus does not answer (JetStream streams electing
 * after a server of the cluster went away: 8-30 s measured) before the command gives up, and
 * the pause between tries.
 */
export const BUS_WAIT_MS = 45_000;
const BUS_RETRY_MS = 1000;

/**
 * The calls asked again while the bus does not answer: reads, and changes that a second time
 * leaves as the first did (a submit names its id; cancel, drain and pause are states). A call
 * that makes something new each time (a retry's run, a run-now's firing, a key, a token) is not:
 * its first try may have landed late, so the command says so and stops.
 */
const REPEATED_WHILE_BUS_AWAY: ReadonlySet<string> = new Set([
  'GetJob', 'ListJobs', 'ListNodes', 'MeshStatus', 'WhoAmI', 'ListSchedules', 'GetSchedule', 'ListUsers', 'ListAudit', 'GetArtifacts',
  'Submit', 'PutBlob', 'CancelJob', 'DrainNode', 'UndrainNode', 'PauseSchedule', 'ResumeSchedule',
]);

export class RpcClient<C extends UnaryChannel = UnaryChannel> {
  protected channel: C;
  /** The coordinator now talked to: one of `addresses`. */
  address: string;
  /** Every coordinator address given (`a:7433,b:7433`): only the leader listens, so the one that answers leads. */
  readonly addresses: string[];
  private current = 0;
  protected readonly target: ClientTarget;

  /** A plain address is plain gRPC (a coordinator started --insecure). */
  constructor(
    target: string | ClientTarget,
    private readonly open: (address: string, target: ClientTarget) => C,
  ) {
    this.target = typeof target === 'string' ? { address: target, source: 'plain gRPC' } : target;
    this.addresses = this.target.address.split(',').map((a) => a.trim()).filter((a) => a !== '');
    if (this.addresses.length === 0) this.addresses.push(this.target.address);
    this.address = this.addresses[0]!;
    this.channel = this.open(this.address, this.target);
  }

  close(): void {
    this.channel.close();
  }

  /**
   * Moves on to another coordinator address, after the current one stopped answering (a
   * leader that died or stepped down) or said it is a standby: to the leader it named when
   * that is one of the addresses given, else to the next. False with one address.
   */
  rotate(err?: RpcError): boolean {
    if (this.addresses.length < 2) return false;
    this.channel.close();
    const at = err?.leader === undefined ? -1 : this.addresses.indexOf(err.leader);
    this.current = at >= 0 && at !== this.current ? at : (this.current + 1) % this.addresses.length;
    this.address = this.addresses[this.current]!;
    this.channel = this.open(this.address, this.target);
    return true;
  }

  /**
   * Fails fast with exit code 3 when nothing answers at any of the addresses. With several,
   * it then asks which one leads (a standby's port accepts too, and names the leader), so the
   * streams a command opens next go to the leader.
   */
  async ready(timeoutMs = 3000): Promise<void> {
    const each = this.addresses.length > 1 ? Math.max(1000, timeoutMs / this.addresses.length) : timeoutMs;
    for (let i = 0; ; i++) {
      try {
        await this.channel.waitForReady(Date.now() + each);
        break;
      } catch (err) {
        if (i + 1 >= this.addresses.length || !this.rotate()) throw this.unreachable(err as Error);
      }
    }
    if (this.addresses.length > 1) await this.findLeader();
  }

  /** One cheap call per address at most: any answer but "unavailable" (a standby's) or silence comes from the leader. */
  private async findLeader(): Promise<void> {
    for (let tries = 0; tries <= this.addresses.length; tries++) {
      try {
        await this.channel.unary('WhoAmI', {}, Date.now() + CALL_DEADLINE_MS);
        return;
      } catch (err) {
        const e = err as RpcError;
        if (e.code !== GrpcStatus.UNAVAILABLE && e.code !== GrpcStatus.DEADLINE_EXCEEDED) return;
        this.rotate(e);
      }
    }
  }

  unreachable(err?: Error): ExitError {
    const where = this.addresses.length > 1 ? `any of ${this.addresses.join(', ')}` : this.address;
    return new ExitError(ExitCode.Unreachable, `cannot reach the coordinator at ${where}${err ? `: ${err.message}` : ''} (address: --coordinator or MESHRUN_COORDINATOR; credential: ${this.target.source})`);
  }

  /**
   * One call; when the coordinator is unreachable, the same call at each other address once
   * (every call is safe to repeat: submit ids are chosen by the client). With several
   * addresses each try has a deadline, so a leader that froze (its port still accepts, nothing
   * answers) does not hold the call forever: the next address may lead by now.
   */
  protected async call<Res>(method: string, req: object): Promise<Res> {
    const several = this.addresses.length > 1;
    let busWaitUntil: number | undefined;
    for (let tries = 1; ; tries++) {
      try {
        return await this.channel.unary<Res>(method, req, several ? Date.now() + CALL_DEADLINE_MS : undefined);
      } catch (err) {
        const e = err as RpcError;
        // "not now, nothing written" (the bus does not answer, or this coordinator cannot confirm
        // its lead): another address may lead by now; with none, wait for the bus, bounded
        const busy = isBusUnavailable(e) && REPEATED_WHILE_BUS_AWAY.has(method);
        if (busy && busWaitUntil === undefined) {
          busWaitUntil = Date.now() + BUS_WAIT_MS;
          process.stderr.write(`meshrun: ${e.details}; waiting up to ${BUS_WAIT_MS / 1000} s for it\n`);
        }
        const gone = e.code === GrpcStatus.UNAVAILABLE || (several && e.code === GrpcStatus.DEADLINE_EXCEEDED);
        // one more try than addresses: a standby's answer names the leader to go to
        if (gone && tries <= this.addresses.length && this.rotate(e)) continue;
        if (busy && Date.now() + BUS_RETRY_MS < busWaitUntil!) {
          await new Promise((r) => setTimeout(r, BUS_RETRY_MS));
          tries = 0;
          continue;
        }
        throw this.mapError(e);
      }
    }
  }

  mapError(err: RpcError): ExitError {
    switch (errorCodeOfStatus(err.code)) {
      case ErrorCode.Unreachable:
        return this.unreachable(new Error(err.details || err.message));
      case ErrorCode.InvalidInput:
        return new ExitError(ExitCode.Usage, err.details);
      case ErrorCode.NotFound:
        return new ExitError(ExitCode.NotFound, err.details);
      case ErrorCode.Unauthenticated:
        return new ExitError(ExitCode.Denied, `not authenticated: ${err.details} (credential: ${this.target.source})`);
      case ErrorCode.Denied:
        return new ExitError(ExitCode.Denied, `permission denied: ${err.details}`);
      default:
        return new ExitError(ExitCode.Error, `coordinator error: ${err.details || err.message}`);
    }
  }

  submit(id: string, specJson: string, workspace = '', secrets: Record<string, string> = {}): Promise<{ job: JobMsg; created: boolean }> {
    return this.call('Submit', { id, specJson, workspace, secrets });
  }
  getJob(id: string): Promise<JobMsg> {
    return this.call('GetJob', { id });
  }
  /** The newest `limit` jobs (0: as many as one answer holds, 10,000), oldest first. */
  async listJobs(limit = 0): Promise<JobMsg[]> {
    return (await this.listJobPage(limit)).jobs;
  }
  /** As listJobs, and whether older jobs exist; `withActive`: every job not ended too, however old. */
  async listJobPage(limit: number, withActive = false): Promise<{ jobs: JobMsg[]; more: boolean }> {
    const r = await this.call<{ jobs: JobMsg[]; more?: boolean }>('ListJobs', { limit, withActive });
    return { jobs: r.jobs, more: r.more ?? false };
  }
  cancelJob(id: string): Promise<JobMsg> {
    return this.call('CancelJob', { id });
  }
  /** A new run of an ended job; `from` '' for none; `secrets`: the values the job declares, needed again. */
  retryJob(id: string, from = '', secrets: Record<string, string> = {}): Promise<JobMsg> {
    return this.call('RetryJob', { id, from, secrets });
  }
  async listNodes(): Promise<NodeMsg[]> {
    return (await this.call<{ nodes: NodeMsg[] }>('ListNodes', {})).nodes;
  }
  drainNode(name: string): Promise<NodeMsg> {
    return this.call('DrainNode', { name });
  }
  undrainNode(name: string): Promise<NodeMsg> {
    return this.call('UndrainNode', { name });
  }
  removeNode(name: string): Promise<NodeRemoveMsg> {
    return this.call('RemoveNode', { name });
  }
  meshStatus(): Promise<MeshStatusMsg> {
    return this.call('MeshStatus', {});
  }
  meshRotateKey(name: string): Promise<MeshRotateMsg> {
    return this.call('MeshRotateKey', { name });
  }
  meshJoin(client: string, publicKey: string, endpoint = ''): Promise<MeshJoinMsg> {
    return this.call('MeshJoin', { client, publicKey, endpoint });
  }
  meshLeave(client: string): Promise<MeshLeaveMsg> {
    return this.call('MeshLeave', { client });
  }
  createJoinToken(labels: Record<string, string>, ttlMs: number, uses: number): Promise<JoinTokenMsg> {
    return this.call('CreateJoinToken', { labels, ttlMs, uses });
  }
  join(token: string, node: string, publicKey: string): Promise<JoinMsg> {
    return this.call('Join', { token, node, publicKey });
  }
  createWebLogin(): Promise<WebLoginMsg> {
    return this.call('CreateWebLogin', {});
  }
  whoAmI(): Promise<IdentityMsg> {
    return this.call('WhoAmI', {});
  }
  addUser(name: string, role: string, publicKeyPem: string, validMs: number): Promise<AddUserMsg> {
    return this.call('AddUser', { name, role, publicKeyPem, validMs });
  }
  removeUser(name: string): Promise<RemoveUserMsg> {
    return this.call('RemoveUser', { name });
  }
  async listUsers(): Promise<UserMsg[]> {
    return (await this.call<{ users: UserMsg[] }>('ListUsers', {})).users;
  }
  async listAudit(sinceMs: number, limit: number): Promise<AuditEntryMsg[]> {
    return (await this.call<{ entries: AuditEntryMsg[] }>('ListAudit', { sinceMs, limit })).entries;
  }
  createSchedule(req: { name: string; cron: string; timeZone: string; specJson: string; workspace: string; overlap: string; catchUp: string; catchUpWindowMs: number }): Promise<ScheduleMsg> {
    return this.call('CreateSchedule', req);
  }
  async listSchedules(): Promise<ScheduleMsg[]> {
    return (await this.call<{ schedules: ScheduleMsg[] }>('ListSchedules', {})).schedules;
  }
  getSchedule(name: string): Promise<ScheduleMsg> {
    return this.call('GetSchedule', { name });
  }
  pauseSchedule(name: string): Promise<ScheduleMsg> {
    return this.call('PauseSchedule', { name });
  }
  resumeSchedule(name: string): Promise<ScheduleMsg> {
    return this.call('ResumeSchedule', { name });
  }
  deleteSchedule(name: string): Promise<ScheduleMsg> {
    return this.call('DeleteSchedule', { name });
  }
  runSchedule(name: string): Promise<{ schedule: ScheduleMsg; job: JobMsg; created: boolean }> {
    return this.call('RunSchedule', { name });
  }
}
