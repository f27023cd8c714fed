// The gRPC types cannot drift from proto/meshrun.proto: the generated ones are what the
// generator writes today, and the hand-written shapes (request schemas, mesh replies) equal them.
// The expectTypeOf checks run in `tsc -p tsconfig.test.json` (part of npm test), the rest in vitest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { z } from 'zod';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  blobChunkSchema,
  jobRefSchema,
  joinRequestSchema,
  addUserRequestSchema,
  userRefSchema,
  auditRequestSchema,
  joinTokenRequestSchema,
  listJobsRequestSchema,
  logsRequestSchema,
  meshJoinRequestSchema,
  meshLeaveRequestSchema,
  nodeRefSchema,
  submitRequestSchema,
  type LogEventMsg,
} from '../proto/grpc.js';
import { createScheduleRequestSchema, listSchedulesRequestSchema, scheduleRefSchema } from '../proto/schedule.js';
import type { ScheduleRef__Output } from '../proto/generated/meshrun/v1/ScheduleRef.js';
import type { MeshEdgeMsg, MeshJoinMsg, MeshLeaveMsg, MeshMemberMsg, MeshPeerMsg, MeshRotateMsg, MeshStatusMsg, NodeRemoveMsg } from '../proto/mesh.js';
import type { BlobChunk__Output } from '../proto/generated/meshrun/v1/BlobChunk.js';
import type { JobRef__Output } from '../proto/generated/meshrun/v1/JobRef.js';
import type { JoinRequest__Output } from '../proto/generated/meshrun/v1/JoinRequest.js';
import type { JoinTokenRequest__Output } from '../proto/generated/meshrun/v1/JoinTokenRequest.js';
import type { ListJobsRequest__Output } from '../proto/generated/meshrun/v1/ListJobsRequest.js';
import type { LogsRequest__Output } from '../proto/generated/meshrun/v1/LogsRequest.js';
import type { MeshEdge__Output } from '../proto/generated/meshrun/v1/MeshEdge.js';
import type { MeshJoinReply__Output } from '../proto/generated/meshrun/v1/MeshJoinReply.js';
import type { MeshJoinRequest__Output } from '../proto/generated/meshrun/v1/MeshJoinRequest.js';
import type { MeshLeaveReply__Output } from '../proto/generated/meshrun/v1/MeshLeaveReply.js';
import type { MeshLeaveRequest__Output } from '../proto/generated/meshrun/v1/MeshLeaveRequest.js';
import type { MeshMember__Output } from '../proto/generated/meshrun/v1/MeshMember.js';
import type { MeshPeer__Output } from '../proto/generated/meshrun/v1/MeshPeer.js';
import type { MeshRotateReply__Output } from '../proto/generated/meshrun/v1/MeshRotateReply.js';
import type { MeshStatusReply__Output } from '../proto/generated/meshrun/v1/MeshStatusReply.js';
import type { NodeRef__Output } from '../proto/generated/meshrun/v1/NodeRef.js';
import type { NodeRemoveReply__Output } from '../proto/generated/meshrun/v1/NodeRemoveReply.js';
import type { StageHeader__Output } from '../proto/generated/meshrun/v1/StageHeader.js';
import type { SubmitRequest__Output } from '../proto/generated/meshrun/v1/SubmitRequest.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.set(relative(dir, p), readFileSync(p, 'utf8'));
  }
  return out;
}

describe('gRPC types from proto/meshrun.proto', () => {
  it('proto/generated is what scripts/gen-proto-types.mjs writes now (run it after editing the .proto)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshrun-gen-'));
    try {
      const r = spawnSync(process.execPath, [join(root, 'scripts', 'gen-proto-types.mjs'), join(dir, 'out')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const fresh = files(join(dir, 'out'));
      const checkedIn = files(join(root, 'proto', 'generated'));
      expect([...checkedIn.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [name, text] of fresh) expect(checkedIn.get(name), name).toBe(text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every request schema has exactly the fields of its message', () => {
    const def = protoLoader.loadSync(join(root, 'proto', 'meshrun.proto'), { keepCase: false });
    const fields = (msg: string): string[] => {
      // the loader's descriptor keeps the .proto's snake_case names
      const t = def[`meshrun.v1.${msg}`] as unknown as { type: { field: { name: string }[] } };
      const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      return t.type.field.map((f) => camel(f.name)).sort();
    };
    const pairs: [z.ZodObject, string][] = [
      [submitRequestSchema, 'SubmitRequest'],
      [blobChunkSchema, 'BlobChunk'],
      [jobRefSchema, 'JobRef'],
      [nodeRefSchema, 'NodeRef'],
      [listJobsRequestSchema, 'ListJobsRequest'],
      [logsRequestSchema, 'LogsRequest'],
      [meshJoinRequestSchema, 'MeshJoinRequest'],
      [meshLeaveRequestSchema, 'MeshLeaveRequest'],
      [joinTokenRequestSchema, 'JoinTokenRequest'],
      [joinRequestSchema, 'JoinRequest'],
      [addUserRequestSchema, 'AddUserRequest'],
      [userRefSchema, 'UserRef'],
      [auditRequestSchema, 'AuditRequest'],
      [createScheduleRequestSchema, 'CreateScheduleRequest'],
      [scheduleRefSchema, 'ScheduleRef'],
      [listSchedulesRequestSchema, 'ListSchedulesRequest'],
    ];
    for (const [schema, msg] of pairs) expect(Object.keys(schema.shape).sort(), msg).toEqual(fields(msg));
  });

  it('hand-written shapes equal the generated ones (checked by tsc)', () => {
    expectTypeOf<z.output<typeof submitRequestSchema>>().toEqualTypeOf<SubmitRequest__Output>();
    expectTypeOf<z.output<typeof blobChunkSchema>>().toEqualTypeOf<BlobChunk__Output>();
    expectTypeOf<z.output<typeof jobRefSchema>>().toEqualTypeOf<JobRef__Output>();
    expectTypeOf<z.output<typeof nodeRefSchema>>().toEqualTypeOf<NodeRef__Output>();
    expectTypeOf<z.output<typeof listJobsRequestSchema>>().toEqualTypeOf<ListJobsRequest__Output>();
    expectTypeOf<z.output<typeof logsRequestSchema>>().toEqualTypeOf<LogsRequest__Output>();
    expectTypeOf<z.output<typeof meshJoinRequestSchema>>().toEqualTypeOf<MeshJoinRequest__Output>();
    expectTypeOf<z.output<typeof meshLeaveRequestSchema>>().toEqualTypeOf<MeshLeaveRequest__Output>();
    expectTypeOf<z.output<typeof joinTokenRequestSchema>>().toEqualTypeOf<JoinTokenRequest__Output>();
    expectTypeOf<z.output<typeof joinRequestSchema>>().toEqualTypeOf<JoinRequest__Output>();
    expectTypeOf<z.output<typeof scheduleRefSchema>>().toEqualTypeOf<ScheduleRef__Output>();

    expectTypeOf<MeshEdgeMsg>().toEqualTypeOf<MeshEdge__Output>();
    expectTypeOf<MeshMemberMsg>().toEqualTypeOf<MeshMember__Output>();
    expectTypeOf<MeshStatusMsg>().toEqualTypeOf<MeshStatusReply__Output>();
    expectTypeOf<MeshPeerMsg>().toEqualTypeOf<MeshPeer__Output>();
    expectTypeOf<MeshJoinMsg>().toEqualTypeOf<MeshJoinReply__Output>();
    expectTypeOf<MeshLeaveMsg>().toEqualTypeOf<MeshLeaveReply__Output>();
    expectTypeOf<MeshRotateMsg>().toEqualTypeOf<MeshRotateReply__Output>();
    expectTypeOf<NodeRemoveMsg>().toEqualTypeOf<NodeRemoveReply__Output>();

    // the oneof as a union: narrowing on `event` gives the member, never null
    expectTypeOf<Extract<LogEventMsg, { event: 'header' }>['header']>().toEqualTypeOf<StageHeader__Output>();
    expectTypeOf<LogEventMsg['event']>().toEqualTypeOf<'header' | 'data' | 'end' | 'playbook' | 'gap'>();
  });
});
