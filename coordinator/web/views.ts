// What the dashboard's JSON API answers: the gRPC API's messages (toJobMsg, toNodeMsg, the mesh
// status, schedules), with the little a page needs beside them (a stage's dependencies).
import type { JobMsg } from '../../proto/grpc.js';
import { dependenciesOf } from '../../proto/job-spec.js';
import type { JobRecord } from '../../proto/records.js';
import { toJobMsg } from '../grpc-server.js';

export type JobView = JobMsg & { stages: (JobMsg['stages'][number] & { needs: string[]; always: boolean })[] };

export function jobView(job: JobRecord): JobView {
  const msg = toJobMsg(job);
  const deps = dependenciesOf(job.spec.stages);
  return {
    ...msg,
    stages: msg.stages.map((s, i) => ({ ...s, needs: deps.get(s.name) ?? [], always: job.spec.stages[i]?.always ?? false })),
  };
}
