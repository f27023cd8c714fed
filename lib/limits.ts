// Every size and count limit meshrun enforces, in one place, so a client's check and a
// daemon's check can never disagree. Errors that hit one name it (see TooLargeError).

export const Limits = {
  /** A workspace archive, packed (client), uploaded (coordinator) or unpacked (agent). */
  workspaceMaxBytes: 1024 * 1024 * 1024,
  /** Files in one unpacked workspace. */
  workspaceMaxFiles: 100_000,
  /** The agent's outbox of events not yet relayed (agent config `outboxMaxBytes`). */
  outboxMaxBytes: 64 * 1024 * 1024,
  /** One stage's packed artifacts, collected (agent) or accepted (coordinator's blob service). */
  artifactsMaxBytes: 512 * 1024 * 1024,
  /** Artifact uploads one node may have open at once on the coordinator. */
  blobUploadsPerNode: 4,
  /** Artifact uploads open at once on the coordinator, all nodes together. */
  blobUploadsTotal: 64,
  /** Workspace reads one node may have in flight at once (an agent reads one chunk at a time). */
  blobReadsPerNode: 4,
  /** An upload that got no message for this long is dropped, and its bytes with it. */
  blobUploadIdleMs: 30_000,
  /** The job spec as submitted (bytes of its JSON). */
  jobSpecMaxBytes: 256 * 1024,
  /**
   * A job's record in the jobs KV bucket, checked before the job is accepted. Below NATS's
   * 1 MiB payload, with room for the attempts, reasons and outputs the record gathers as it runs.
   */
  jobRecordMaxBytes: 512 * 1024,
  /** Stages in one job. */
  stagesMax: 256,
  /** Nodes one stage on all nodes (`on: {labels, all: true}`) may target: each gets an attempt in the job's record. */
  fanoutNodesMax: 1000,
  /** One stage's `env`: the bytes of its names and values together. */
  stageEnvMaxBytes: 64 * 1024,
  /** One stage's outputs (KEY=VALUE lines of $MESHRUN_OUTPUT): the bytes of names and values together. */
  stageOutputsMaxBytes: 16 * 1024,
  /** Outputs one stage may set. */
  stageOutputsMaxKeys: 128,
  /** The outputs of all a job's stages together, as kept in its record. */
  jobOutputsMaxBytes: 64 * 1024,
  /** A playbook failure's message on the bus (longer ones are cut, with a marker). */
  failureMessageMaxChars: 2048,
  /** A failure's host or task name on the bus. */
  failureNameMaxChars: 256,
  /** Failed hosts one exit report names. */
  failuresMax: 20,
  /** A run's refusal or start error on the bus (longer ones are cut, with a marker). */
  busReasonMaxChars: 4096,
  /** Log bytes relayed per run; past it the log says so (`meshrun: log truncated ...`). */
  logMaxBytesPerRun: 64 * 1024 * 1024,
  /** Workspace uploads (`PutBlob`) open at once on the coordinator, all callers together. */
  workspaceUploadsTotal: 4,
  /** Workspace uploads one caller (user) may have open at once. */
  workspaceUploadsPerCaller: 2,
  /**
   * Jobs one ListJobs answers at most (`meshrun jobs --limit 0` too): the coordinator reads each
   * finished one from the store, so "all" of 100,000 is not one answer. Older ones: `more` says so.
   */
  listJobsMax: 10_000,
  /** Schedules the coordinator holds (each carries its job spec, up to jobSpecMaxBytes). */
  schedulesMax: 500,
  /** A schedule's name: its firings' job ids are `<name>-<yyyymmddThhmmss>` (at most 63 characters). */
  scheduleNameMaxChars: 40,
  /** A cron expression (five fields, six with seconds first, or a nickname such as `@daily`). */
  scheduleCronMaxChars: 128,
  /** An IANA time zone name (`Europe/Berlin`). */
  scheduleTimeZoneMaxChars: 64,
  /** Decisions a schedule's record keeps (fired, skipped, queued, missed), newest first. */
  scheduleHistoryMax: 20,
  /** CPUs a stage may request, or an agent may report, reserve or be given (`resources.cpu`). */
  resourceCpuMax: 4096,
  /** Memory a stage may request, or an agent may report, reserve or be given (`resources.memory`): 256 TiB. */
  resourceMemoryMaxBytes: 256 * 2 ** 40,
  /** A stage's `retry: {attempts}`: tries of the stage in one run of its job, the first included. */
  stageRetryAttemptsMax: 20,
  /** A stage's `retry: {delay}`: the wait before each new try. */
  stageRetryDelayMaxMs: 24 * 60 * 60 * 1000,
  /** Runs of one job (`meshrun retry` starts the next): its record keeps every run's attempts. */
  jobRunsMax: 50,
} as const;

export type LimitName = keyof typeof Limits;

/** `s` cut to at most `max` characters, ending in a marker that names the limit when cut. */
export function clip(s: string, max: number, limit: LimitName): string {
  if (s.length <= max) return s;
  const marker = ` [... cut at ${max} characters (limit ${limit})]`;
  return s.slice(0, Math.max(0, max - marker.length)) + marker;
}

/** The line that ends a relayed log cut at `max` bytes (`logMaxBytesPerRun`). */
export function logTruncatedLine(max: number): string {
  return `\nmeshrun: log truncated at ${max} bytes (limit logMaxBytesPerRun)\n`;
}

/** Bytes of a run's log that are relayed: all of it up to the limit, else the limit and the line saying so. */
export function relayedLogBytes(logBytes: number, max: number = Limits.logMaxBytesPerRun): number {
  return logBytes <= max ? logBytes : max + Buffer.byteLength(logTruncatedLine(max));
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * What each JetStream store may hold. Retention (the coordinator's `--retain-for` and
 * `--retain-jobs`) removes an ended job's record, logs, artifacts and workspace long before
 * these are reached; they are the backstop that keeps a store from filling the disk whatever
 * happens. Streams drop their oldest messages at the limit; KV buckets and the object store
 * refuse a write past it ("maximum bytes exceeded"), which the caller reports.
 */
export const StoreLimits = {
  /** MR_LOGS: log bytes and playbook events of every run (purged per job by retention). */
  logsMaxBytes: 4 * GiB,
  logsMaxAgeMs: 30 * DAY_MS,
  /** MR_EVENTS: run events; the coordinator purges applied ones beyond the latest `--retain-events`. */
  eventsMaxBytes: 256 * MiB,
  eventsMaxAgeMs: 7 * DAY_MS,
  /** The object store (workspaces and artifacts). */
  blobsMaxBytes: 16 * GiB,
  /** Each KV bucket (one value per key, no history). */
  kvMaxBytes: {
    mr_jobs: 1 * GiB,
    /** About 150 bytes per finished job: well over what mr_jobs can hold. */
    mr_job_index: 256 * MiB,
    mr_nodes: 64 * MiB,
    mr_mesh: 64 * MiB,
    mr_tokens: 16 * MiB,
    mr_users: 16 * MiB,
    mr_secrets: 256 * MiB,
    mr_leader: 1 * MiB,
    /** schedulesMax records of at most a job spec each (256 KiB) and their history. */
    mr_schedules: 256 * MiB,
  },
} as const;

/** How long and how many ended jobs are kept (coordinator `--retain-for`, `--retain-jobs`). */
export const RetentionDefaults = {
  retainForMs: 7 * DAY_MS,
  retainJobs: 1000,
  /** Run events the coordinator has applied stay in MR_EVENTS as evidence, the latest this many. */
  retainEvents: 10_000,
} as const;
