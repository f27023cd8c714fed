// The mesh's gRPC calls (status, node remove, rotate-key, join, leave): requests validated with
// proto/grpc.ts schemas, errors mapped to gRPC statuses (lib/grpc-status.ts) with the message as the detail.
import * as grpc from '@grpc/grpc-js';
import type { z } from 'zod';
import { meshJoinRequestSchema, meshLeaveRequestSchema, nodeRefSchema } from '../../proto/grpc.js';
import { formatIssues } from '../../proto/validation.js';
import { ErrorCode, isMeshrunError, MeshrunError } from '../../lib/errors.js';
import { toGrpcStatus } from '../../lib/grpc-status.js';
import type { Logger } from '../../lib/log.js';
import type { Coordinator } from '../coordinator.js';
import type { Enrollment } from '../enrollment.js';
import type { MeshCoordinator } from './mesh-coordinator.js';

function parse<T>(schema: z.ZodType<T>, req: unknown): T {
  const r = schema.safeParse(req);
  if (!r.success) throw new MeshrunError(ErrorCode.InvalidInput, formatIssues(r.error).join('; '));
  return r.data;
}

function unary<Res>(log: Logger, fn: (req: unknown) => Promise<Res> | Res): grpc.handleUnaryCall<unknown, Res> {
  return (call, cb) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then((res) => cb(null, res))
      .catch((err: unknown) => {
        if (!isMeshrunError(err)) log.error('mesh request failed', { err });
        cb(toGrpcStatus(err));
      });
  };
}

export function meshHandlers(c: Coordinator, mesh: MeshCoordinator | undefined, log: Logger, enrollment?: Enrollment): grpc.UntypedServiceImplementation {
  const need = (): MeshCoordinator => {
    if (!mesh) throw new MeshrunError(ErrorCode.Conflict, 'this coordinator runs without the mesh');
    return mesh;
  };
  return {
    MeshStatus: unary(log, () => need().status()),
    RemoveNode: unary(log, async (req) => {
      const { name } = parse(nodeRefSchema, req);
      const t0 = Date.now();
      // The key first: revocation is what must reach every peer within seconds.
      const r = mesh ? await mesh.removeNode(name) : { name, meshMember: false, releasedAddress: '', peersAcked: 0, peersPending: [], tookMs: 0 };
      // then its bus credential: the servers disconnect it, and it cannot heartbeat its way back
      const cred = enrollment ? await enrollment.revokeNode(name) : { revoked: false, tookMs: 0 };
      const wasNode = await c.removeNode(name);
      if (!wasNode && !r.meshMember && !cred.revoked) throw new MeshrunError(ErrorCode.NotFound, `no node ${name}`);
      if (cred.revoked) log.info('node removed with its credential revoked', { node: name, revokeMs: cred.tookMs });
      return { ...r, tookMs: Date.now() - t0 };
    }),
    MeshRotateKey: unary(log, (req) => need().rotateKey(parse(nodeRefSchema, req).name)),
    MeshJoin: unary(log, (req) => {
      const r = parse(meshJoinRequestSchema, req);
      return need().join(r.client, r.publicKey, r.endpoint === '' ? null : r.endpoint);
    }),
    MeshLeave: unary(log, (req) => need().leave(parse(meshLeaveRequestSchema, req).client)),
  };
}
