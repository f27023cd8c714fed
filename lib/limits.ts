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
} as const;
