// One audit record: a mutating or refused gRPC call, as the coordinator writes it to the
// MR_AUDIT stream (and `meshrun audit` shows it).
import { z } from 'zod';

export const AUDIT_OUTCOMES = ['ok', 'denied', 'unauthenticated', 'error'] as const;

export const auditEntrySchema = z.object({
  at: z.number(),
  /** Empty when the caller had no valid certificate. */
  user: z.string().max(64),
  role: z.string().max(16),
  method: z.string().max(64),
  /** The job, node, user, client or token the call named. */
  target: z.string().max(256),
  peer: z.string().max(128),
  outcome: z.enum(AUDIT_OUTCOMES),
  detail: z.string().max(1024),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
