// The client API's message types and the validation of its requests (the service itself is
// loaded in grpc-service.ts, which the CLI imports without the schemas here).
import { z } from 'zod';
import { Limits } from '../lib/limits.js';
import { jobIdSchema, labelsSchema, nodeNameSchema, stageNameSchema } from './names.js';
import { meshEndpointSchema, wgKeySchema } from './mesh.js';
import type { ArtifactChunk__Output } from './generated/meshrun/v1/ArtifactChunk.js';
import type { Attempt__Output } from './generated/meshrun/v1/Attempt.js';
import type { Handoff__Output } from './generated/meshrun/v1/Handoff.js';
import type { Job__Output } from './generated/meshrun/v1/Job.js';
import type { JobRun__Output } from './generated/meshrun/v1/JobRun.js';
import type { LogData__Output } from './generated/meshrun/v1/LogData.js';
import type { LogEvent__Output } from './generated/meshrun/v1/LogEvent.js';
import type { Node__Output } from './generated/meshrun/v1/Node.js';
import type { Resources__Output } from './generated/meshrun/v1/Resources.js';
import type { PlaybookEvent__Output } from './generated/meshrun/v1/PlaybookEvent.js';
import type { Stage__Output } from './generated/meshrun/v1/Stage.js';
import type { StageHeader__Output } from './generated/meshrun/v1/StageHeader.js';
import type { JoinReply__Output } from './generated/meshrun/v1/JoinReply.js';
import type { JoinTokenReply__Output } from './generated/meshrun/v1/JoinTokenReply.js';
import type { Identity__Output } from './generated/meshrun/v1/Identity.js';
import type { AddUserReply__Output } from './generated/meshrun/v1/AddUserReply.js';
import type { RemoveUserReply__Output } from './generated/meshrun/v1/RemoveUserReply.js';
import type { User__Output } from './generated/meshrun/v1/User.js';
import type { AuditEntry__Output } from './generated/meshrun/v1/AuditEntry.js';
import type { Schedule__Output } from './generated/meshrun/v1/Schedule.js';
import type { ScheduleFiring__Output } from './generated/meshrun/v1/ScheduleFiring.js';
import { roleSchema, userNameSchema } from './roles.js';
import { secretValuesSchema } from './secrets.js';

export { LEADER_METADATA, MeshrunService, meshrunServiceDefinition } from './grpc-service.js';

// Messages as the loader hands them over (defaults filled in, 64-bit integers as numbers):
// the types generated from meshrun.proto (scripts/gen-proto-types.mjs), never typed by hand.
export type AttemptMsg = Attempt__Output;
export type StageMsg = Stage__Output;
export type JobMsg = Job__Output;
export type HandoffMsg = Handoff__Output;
export type JobRunMsg = JobRun__Output;
export type PlaybookEventMsg = PlaybookEvent__Output;
export type ArtifactChunkMsg = ArtifactChunk__Output;
export type NodeMsg = Node__Output;
export type ResourcesMsg = Resources__Output;
export type StageHeaderMsg = StageHeader__Output;
export type LogDataMsg = LogData__Output;
export type JoinTokenMsg = JoinTokenReply__Output;
export type JoinMsg = JoinReply__Output;
export type ScheduleMsg = Schedule__Output;
export type ScheduleFiringMsg = ScheduleFiring__Output;

/**
 * A oneof as a discriminated union: `{ event: 'header'; header: StageHeaderMsg } | ...`.
 * The generated type makes every member optional; with `oneofs: true` the loader sets
 * the discriminator and exactly the member it names.
 */
type OneofUnion<T, D extends keyof T> = {
  [K in NonNullable<T[D]> & keyof T]: { [P in D]: K } & { [P in K]: NonNullable<T[K]> };
}[NonNullable<T[D]> & keyof T];

export type LogEventMsg = OneofUnion<LogEvent__Output, 'event'>;

// Request validation at the gRPC door (the coordinator parses every request).
export const submitRequestSchema = z.object({
  id: jobIdSchema,
  specJson: z.string().min(2).max(Limits.jobSpecMaxBytes, { message: `job spec is over ${Limits.jobSpecMaxBytes} bytes (limit jobSpecMaxBytes)` }),
  workspace: z.union([z.literal(''), z.string().regex(/^[a-f0-9]{64}$/, { message: 'must be the sha256 of a stored workspace' })]).default(''),
  secrets: secretValuesSchema.default({}),
});
export const blobChunkSchema = z.object({
  sha256: z.string().max(64).default(''),
  data: z.instanceof(Buffer),
});
export const jobRefSchema = z.object({ id: jobIdSchema });
export const retryJobRequestSchema = z.object({
  id: jobIdSchema,
  from: z.union([z.literal(''), stageNameSchema]).default(''),
  secrets: secretValuesSchema.default({}),
});
export const nodeRefSchema = z.object({ name: nodeNameSchema });
/** `limit` 0: as many as one answer holds (Limits.listJobsMax). */
export const listJobsRequestSchema = z.object({
  limit: z.number().int().min(0).max(Limits.listJobsMax).default(0),
  withActive: z.boolean().default(false),
});
export const logsRequestSchema = z.object({
  id: jobIdSchema,
  follow: z.boolean().default(false),
  have: z.record(z.string(), z.number().int().min(0)).default({}),
});

// Mesh requests (message types in proto/mesh.ts).
export const meshJoinRequestSchema = z.object({
  client: nodeNameSchema,
  publicKey: wgKeySchema,
  endpoint: z.union([z.literal(''), meshEndpointSchema]).default(''),
});
export const meshLeaveRequestSchema = z.object({ client: nodeNameSchema });

// Enrollment.
export const joinTokenRequestSchema = z.object({
  labels: labelsSchema.default({}),
  ttlMs: z.number().int().min(1000, { message: 'a token must live at least 1s' }).max(30 * 86_400_000, { message: 'a token may live at most 30 days' }),
  uses: z.number().int().min(1).max(10_000),
});
/**
 * `mrj1.<id>.<secret>.<ca>`: the id finds the token, the secret proves it (only its hash is
 * stored), `ca` is the SHA-256 of the fleet CA certificate the node pins before sending it.
 */
export const joinTokenSchema = z.string().regex(/^mrj1\.[a-f0-9]{16}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/, { message: 'is not a meshrun join token (mrj1.<id>.<secret>.<ca-hash>)' });
export const joinRequestSchema = z.object({
  token: joinTokenSchema,
  node: nodeNameSchema,
  publicKey: z.string().regex(/^U[A-Z2-7]{55}$/, { message: 'must be a NATS user public key (nkey starting with U)' }),
});

// Users, roles and audit.
export type IdentityMsg = Identity__Output;
export type AddUserMsg = AddUserReply__Output;
export type RemoveUserMsg = RemoveUserReply__Output;
export type UserMsg = User__Output;
export type AuditEntryMsg = AuditEntry__Output;

export const addUserRequestSchema = z.object({
  name: userNameSchema,
  role: roleSchema,
  publicKeyPem: z.string().min(1, { message: 'is empty: the new user\'s public key (SPKI PEM) is needed' }).max(4096).regex(/^-----BEGIN PUBLIC KEY-----/, { message: 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)' }),
  validMs: z.number().int().min(3_600_000, { message: 'a user certificate must be valid at least 1h' }).max(5 * 366 * 86_400_000, { message: 'a user certificate may be valid at most 5 years' }),
});
export const userRefSchema = z.object({ name: userNameSchema });
export const auditRequestSchema = z.object({
  sinceMs: z.number().int().min(0).default(0),
  limit: z.number().int().min(0).max(100_000).default(0),
});
