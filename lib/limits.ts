// Every size and count limit meshrun enforces, in one place, so a client's check and a
// daemon's check can never disagree. Errors that hit one name it (see TooLargeError).

export const Limits = {
  /** A workspace archive, packed (client), uploaded (coordinator) or unpacked (agent). */
  workspaceMaxBytes: 1024 * 1024 * 1024,
  /** Files in one unpacked workspace. */
  workspaceMaxFiles: 100_000,
  /** The agent's outbox of events not yet relayed (agent config `outboxMaxBytes`). */
  outboxMaxBytes: 64 * 1024 * 1024,
} as const;
