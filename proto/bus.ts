// Schemas of every message on the NATS bus between coordinator and agents.
// Receivers parse with these and drop (with a log line) anything that does not fit.
import { z } from 'zod';
import { jobIdSchema, labelsSchema, nodeNameSchema, runTokenSchema } from './names.js';
import { playbookRunSchema } from './job-spec.js';
import { resourcesWireSchema } from './resources-schema.js';
import { clip, Limits, type LimitName } from '../lib/limits.js';

/** A string a receiver cuts (with a marker naming the limit) rather than drops its message for. */
const clipped = (max: number, limit: LimitName) => z.string().transform((s) => clip(s, max, limit));

export const attemptOutcomeSchema = z.enum(['succeeded', 'failed', 'timeout', 'cancelled', 'lost', 'stale']);
export type AttemptOutcome = z.infer<typeof attemptOutcomeSchema>;

/** A stage's stored artifacts: object-store name, archive hash, the files in it. */
export const artifactsRefSchema = z.object({ object: z.string(), sha256: z.string(), files: z.array(z.string()) });
/** A playbook host that failed: at which task, with what message. */
export const hostFailureSchema = z.object({
  host: clipped(Limits.failureNameMaxChars, 'failureNameMaxChars'),
  task: clipped(Limits.failureNameMaxChars, 'failureNameMaxChars'),
  msg: clipped(Limits.failureMessageMaxChars, 'failureMessageMaxChars'),
});

/** What an agent knows about one of its runs, reported in every heartbeat. */
export const runReportSchema = z.object({
  token: runTokenSchema,
  state: z.enum(['starting', 'running', 'exited']),
});
export type RunReport = z.infer<typeof runReportSchema>;

/** An agent's outbox as its heartbeat reports it: a backlog that grows means events are not reaching the bus. */
export const agentOutboxSchema = z.object({
  /** Run events appended and not yet acknowledged by JetStream. */
  events: z.number().int().min(0),
  bytes: z.number().int().min(0),
  /** How long the oldest of them has waited (0 when there are none): the relay's lag. */
  oldestAgeMs: z.number().int().min(0),
});
export type AgentOutbox = z.infer<typeof agentOutboxSchema>;

export const heartbeatSchema = z.object({
  node: nodeNameSchema,
  instance: z.string().min(1).max(64),
  labels: labelsSchema,
  slots: z.number().int().min(1).max(1024),
  standby: z.boolean(),
  version: z.string().max(64),
  runs: z.array(runReportSchema).max(10_000),
  sentAt: z.number(),
  /**
   * The agent's lease is live: a heartbeat was answered since it last (re)connected, within
   * its --lease. It takes starts only then; the coordinator places nothing on it until then.
   */
  leaseLive: z.boolean().default(true),
  /** Where this agent keeps run directories (`<runRoot>/<job>/`), for handoff markers. */
  runRoot: z.string().max(4096).optional(),
  mesh: z.unknown().optional(),
  /**
   * The agent's --lease and --kill-grace, so the coordinator can say when they do not fit its
   * own timings (fencing needs lease + kill grace < --down-after). Absent from older agents.
   */
  leaseMs: z.number().int().positive().optional(),
  killGraceMs: z.number().int().min(0).optional(),
  /** The machine's cpu (millicpu) and memory (bytes) as the agent detected them (or its config overrides). Absent from older agents. */
  capacity: resourcesWireSchema.optional(),
  /** What stages may request of it: capacity less the agent's --reserve. Absent from older agents: no stage with a request goes there. */
  allocatable: resourcesWireSchema.optional(),
  /** The agent's outbox: run events not yet relayed, and how long the oldest has waited (metrics). Absent from older agents. */
  outbox: agentOutboxSchema.optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const heartbeatReplySchema = z.object({
  ok: z.boolean(),
  /** Tokens of this node's runs that another attempt has replaced: stop them. */
  superseded: z.array(runTokenSchema),
  /** Tokens the coordinator wants cancelled (cancel issued while the agent was away). */
  cancel: z.array(runTokenSchema).default([]),
  draining: z.boolean().default(false),
  /**
   * A coordinator has just taken the lead and is still loading its state: keep every run (the
   * previous leader can no longer reassign anything, and this one gives every node a full grace
   * before it does), but this is no confirmation to start new runs on.
   */
  hold: z.boolean().default(false),
  error: z.string().optional(),
});
export type HeartbeatReply = z.infer<typeof heartbeatReplySchema>;

export const failoverModeSchema = z.enum(['reassign', 'fail', 'wait']);

export const startCommandSchema = z.object({
  type: z.literal('start'),
  token: runTokenSchema,
  jobName: z.string(),
  argv: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()),
  timeoutMs: z.number().int().positive().optional(),
  failover: failoverModeSchema,
  /** For failover `wait`: how long the coordinator waits before reassigning. */
  failoverWaitMs: z.number().int().min(0).optional(),
  playbook: playbookRunSchema.optional(),
  /** sha256 of the job's workspace archive in the object store; unpacked as the run's cwd. */
  workspace: z.string().regex(/^[a-f0-9]{64}$/).optional(),
  artifacts: z.array(z.string().min(1)).optional(),
  /** The job's prune globs: files matching them are never packed as artifacts. */
  prune: z.array(z.string().min(1)).optional(),
  /** Names of the job secrets this run gets: the agent asks the coordinator for their values. */
  secrets: z.array(z.string().min(1).max(128)).max(64).optional(),
});
export type StartCommand = z.infer<typeof startCommandSchema>;

export const stopReasonSchema = z.enum(['cancelled', 'timeout', 'superseded', 'fenced']);
export type StopReason = z.infer<typeof stopReasonSchema>;

export const stopCommandSchema = z.object({
  type: z.literal('stop'),
  token: runTokenSchema,
  reason: stopReasonSchema,
});
export type StopCommand = z.infer<typeof stopCommandSchema>;

/** The job moved on to another node: write `<stem>.remote.env` in the earlier run's directory. */
export const handoffCommandSchema = z.object({
  type: z.literal('handoff'),
  token: runTokenSchema,
  remote: z.object({
    node: nodeNameSchema,
    runDir: z.string().max(4096),
    log: z.string().max(4096),
    token: runTokenSchema,
  }),
});
export type HandoffCommand = z.infer<typeof handoffCommandSchema>;

/** The job ended: remove files matching the globs from this node's run directories of it. */
export const pruneCommandSchema = z.object({
  type: z.literal('prune'),
  job: jobIdSchema,
  globs: z.array(z.string().min(1)).min(1),
});
export type PruneCommand = z.infer<typeof pruneCommandSchema>;

/**
 * Retention removed the job: delete this node's run directories of it. A run of it that is
 * still alive or still relaying its log keeps its files until it has relayed them.
 */
export const forgetCommandSchema = z.object({
  type: z.literal('forget'),
  job: jobIdSchema,
});
export type ForgetCommand = z.infer<typeof forgetCommandSchema>;

export const agentCommandSchema = z.discriminatedUnion('type', [startCommandSchema, stopCommandSchema, handoffCommandSchema, pruneCommandSchema, forgetCommandSchema]);
export type AgentCommand = z.infer<typeof agentCommandSchema>;

export const commandReplySchema = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  /** For start: true when the token was already known (idempotent re-send). */
  known: z.boolean().optional(),
});
export type CommandReply = z.infer<typeof commandReplySchema>;

/** A lifecycle event of one run, published to JetStream via the agent's outbox. */
export const runEventSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('started'),
    node: nodeNameSchema,
    token: runTokenSchema,
    pid: z.number().int(),
    startedAt: z.number(),
  }),
  z.object({
    kind: z.literal('exited'),
    node: nodeNameSchema,
    token: runTokenSchema,
    exitCode: z.number().int(),
    signal: z.string().nullable(),
    endedAt: z.number(),
    logBytes: z.number().int().min(0),
    /** The playbook events the run wrote (bytes): a follow waits for them as for the log's. 0: none, or an older agent. */
    eventsBytes: z.number().int().min(0).default(0),
    stopReason: stopReasonSchema.nullable(),
    /** The process is gone without an exit status (wrapper killed, machine rebooted). */
    vanished: z.boolean().default(false),
    /** KEY=VALUE lines the run wrote to $MESHRUN_OUTPUT. */
    outputs: z.record(z.string(), z.string()).default({}),
    /** The stage's artifacts, stored in the object store before this event was sent. */
    artifacts: artifactsRefSchema.nullable().default(null),
    /** For playbooks: which hosts failed, at which task, with what message. */
    failures: z
      .array(hostFailureSchema)
      .transform((f) => f.slice(0, Limits.failuresMax))
      .default([]),
    /** Why the run could not start (workspace refused, bad playbook path...). */
    error: clipped(Limits.busReasonMaxChars, 'busReasonMaxChars').nullable().default(null),
  }),
  z.object({
    kind: z.literal('rejected'),
    node: nodeNameSchema,
    token: runTokenSchema,
    reason: clipped(Limits.busReasonMaxChars, 'busReasonMaxChars'),
  }),
]);
export type RunEvent = z.infer<typeof runEventSchema>;

/** Envelope written to the outbox and published; `seq` orders and de-duplicates. */
export const outboxRecordSchema = z.object({
  id: z.string(),
  seq: z.number().int().min(1),
  event: runEventSchema,
  /** When the agent appended it (its clock): the relay lag is measured from the oldest one pending. Absent from older agents. */
  at: z.number().optional(),
});
export type OutboxRecord = z.infer<typeof outboxRecordSchema>;

/** Log bytes of one attempt at a byte offset; readers skip bytes they already have. */
export const logChunkHeaderSchema = z.object({
  offset: z.coerce.number().int().min(0),
});

export const nodeRecordSchema = z.object({
  name: nodeNameSchema,
  instance: z.string(),
  labels: labelsSchema,
  slots: z.number().int(),
  standby: z.boolean(),
  draining: z.boolean(),
  removed: z.boolean().default(false),
  /** When the record was last written: at a change, else every 5 to 10 minutes while the node heartbeats (liveness is in the coordinator's memory). */
  lastSeenAt: z.number(),
  version: z.string(),
  runRoot: z.string().optional(),
  mesh: z.unknown().optional(),
  /** As the node's heartbeat last said (millicpu, bytes). */
  capacity: resourcesWireSchema.optional(),
  allocatable: resourcesWireSchema.optional(),
});
export type NodeRecord = z.infer<typeof nodeRecordSchema>;

// ---- blobs: a run's workspace and artifacts through the coordinator (mr.blob.<node>.get|put) ----

/** Most bytes one blob message carries (before base64): base64 and JSON stay under NATS's 1 MiB payload. */
export const BLOB_CHUNK_MAX_BYTES = 512 * 1024;

const sha256Schema = z.string().regex(/^[a-f0-9]{64}$/, { message: 'must be a sha256 in hex' });
const chunkDataSchema = z.base64().max(Math.ceil(BLOB_CHUNK_MAX_BYTES / 3) * 4, { message: `must be at most ${BLOB_CHUNK_MAX_BYTES} bytes` });
const uploadIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);

/** A refusal: what is wrong, and whether asking again later may work (busy, storage away). */
export const blobRefusalSchema = z.object({ ok: z.literal(false), error: z.string(), retry: z.boolean() });
export type BlobRefusal = z.infer<typeof blobRefusalSchema>;

/** Pulls `length` bytes at `offset` of the workspace of a run the asking node holds. */
export const blobGetRequestSchema = z.object({
  token: runTokenSchema,
  /** The job's workspace by content hash, as the start command named it. */
  workspace: sha256Schema,
  offset: z.number().int().min(0),
  length: z.number().int().min(1).max(BLOB_CHUNK_MAX_BYTES),
});
export type BlobGetRequest = z.infer<typeof blobGetRequestSchema>;

export const blobGetReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), size: z.number().int().min(0), offset: z.number().int().min(0), data: chunkDataSchema }),
  blobRefusalSchema,
]);
export type BlobGetReply = z.infer<typeof blobGetReplySchema>;

/**
 * Uploads the artifacts of a run the asking node holds: `begin` (size and hash declared),
 * `chunk`s numbered from 0 in order (a repeat of the last one is acknowledged again),
 * `commit` (stored only when size and hash match).
 */
export const blobPutRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('begin'), token: runTokenSchema, sha256: sha256Schema, size: z.number().int().min(0) }),
  z.object({ op: z.literal('chunk'), upload: uploadIdSchema, seq: z.number().int().min(0), data: chunkDataSchema }),
  z.object({ op: z.literal('commit'), upload: uploadIdSchema }),
]);
export type BlobPutRequest = z.infer<typeof blobPutRequestSchema>;

/** `upload` is null when the artifacts are stored already (nothing to send). */
export const blobBeginReplySchema = z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), object: z.string(), upload: uploadIdSchema.nullable() }), blobRefusalSchema]);
export const blobChunkReplySchema = z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), received: z.number().int().min(0) }), blobRefusalSchema]);
export const blobCommitReplySchema = z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), object: z.string() }), blobRefusalSchema]);
export type BlobBeginReply = z.infer<typeof blobBeginReplySchema>;
export type BlobChunkReply = z.infer<typeof blobChunkReplySchema>;
export type BlobCommitReply = z.infer<typeof blobCommitReplySchema>;

/** agent -> coordinator (`mr.secret.<node>.get`): the secrets of a run it holds, sealed to `box`. */
export const secretRequestSchema = z.object({
  token: runTokenSchema,
  /** A one-time NATS curve public key (X...) the reply is sealed to. */
  box: z.string().regex(/^X[A-Z2-7]{55}$/, { message: 'must be a NATS curve public key' }),
});
export type SecretRequest = z.infer<typeof secretRequestSchema>;

export const secretReplySchema = z.union([
  z.object({
    ok: z.literal(true),
    /** The coordinator's one-time curve public key: the sender to open `sealed` with. */
    sender: z.string().regex(/^X[A-Z2-7]{55}$/),
    /** base64 of the sealed JSON `{NAME: value}`. */
    sealed: z.string().max(512 * 1024),
  }),
  z.object({ ok: z.literal(false), error: z.string().max(1000) }),
]);
export type SecretReply = z.infer<typeof secretReplySchema>;
