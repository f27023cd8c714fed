// Loads proto/meshrun.proto for both ends of the client API and names its types.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { z } from 'zod';
import { jobIdSchema, nodeNameSchema } from './names.js';
import { meshEndpointSchema, wgKeySchema } from './mesh.js';

/** The .proto stays in the source tree; find it from src (vitest) or dist. */
function protoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'proto', 'meshrun.proto');
    if (existsSync(p)) return p;
    const here = join(dir, 'meshrun.proto');
    if (existsSync(here)) return here;
    dir = dirname(dir);
  }
  throw new Error('proto/meshrun.proto not found next to the meshrun installation');
}

const definition = protoLoader.loadSync(protoPath(), {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  meshrun: { v1: { Meshrun: grpc.ServiceClientConstructor } };
};

export const MeshrunService = pkg.meshrun.v1.Meshrun;
export const meshrunServiceDefinition = MeshrunService.service;

export interface AttemptMsg {
  attempt: number;
  node: string;
  state: string;
  exitCode?: number | null;
  reason: string;
  assignedAtMs: number;
  startedAtMs: number;
  endedAtMs: number;
  staleResult: string;
  failures: { host: string; task: string; msg: string }[];
  artifacts: string[];
}
export interface StageMsg {
  name: string;
  state: string;
  node: string;
  attempt: number;
  exitCode?: number | null;
  reason: string;
  attempts: AttemptMsg[];
}
export interface JobMsg {
  id: string;
  name: string;
  state: string;
  exitCode?: number | null;
  reason: string;
  stages: StageMsg[];
  submittedAtMs: number;
  startedAtMs: number;
  endedAtMs: number;
  authoritativeNode: string;
  handoffs: HandoffMsg[];
  workspace: string;
}
export interface HandoffMsg {
  fromStage: string;
  fromAttempt: number;
  fromNode: string;
  toStage: string;
  toAttempt: number;
  toNode: string;
  toRunDir: string;
  toLog: string;
  atMs: number;
  acked: boolean;
}
export interface PlaybookEventMsg {
  stage: string;
  attempt: number;
  json: string;
}
export interface ArtifactChunkMsg {
  stage: string;
  attempt: number;
  files: string[];
  data: Buffer;
  last: boolean;
}
export interface NodeMsg {
  name: string;
  labels: Record<string, string>;
  state: string;
  lastSeenMs: number;
  slots: number;
  running: number;
  standby: boolean;
  draining: boolean;
}
export interface StageHeaderMsg {
  stage: string;
  attempt: number;
  node: string;
}
export interface LogDataMsg {
  stage: string;
  attempt: number;
  offset: number;
  data: Buffer;
}
export type LogEventMsg =
  | { event: 'header'; header: StageHeaderMsg }
  | { event: 'data'; data: LogDataMsg }
  | { event: 'end'; end: JobMsg }
  | { event: 'playbook'; playbook: PlaybookEventMsg };

// Request validation at the gRPC door (the coordinator parses every request).
export const submitRequestSchema = z.object({
  id: jobIdSchema,
  specJson: z.string().min(2).max(1_000_000),
  workspace: z.union([z.literal(''), z.string().regex(/^[a-f0-9]{64}$/, { message: 'must be the sha256 of a stored workspace' })]).default(''),
});
export const blobChunkSchema = z.object({
  sha256: z.string().max(64).default(''),
  data: z.instanceof(Buffer),
});
export const jobRefSchema = z.object({ id: jobIdSchema });
export const nodeRefSchema = z.object({ name: nodeNameSchema });
export const listJobsRequestSchema = z.object({ limit: z.number().int().min(0).max(10_000).default(0) });
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
