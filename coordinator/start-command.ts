// Turns a placed stage into the start command its agent receives.
import type { StartCommand } from '../proto/bus.js';
import { resolveFailover, type StageSpec } from '../proto/job-spec.js';
import type { RunToken } from '../proto/names.js';
import type { JobRecord } from '../proto/records.js';

export function buildStartCommand(job: JobRecord, spec: StageSpec, token: RunToken): StartCommand {
  const failover = resolveFailover(spec.failover);
  const argv = spec.run.command ?? ['ansible-playbook', spec.run.playbook ?? ''];
  return {
    type: 'start',
    token,
    jobName: job.name,
    argv,
    env: { ...(spec.env ?? {}) },
    timeoutMs: spec.timeout,
    failover: failover.mode,
    failoverWaitMs: failover.mode === 'wait' ? failover.waitMs : undefined,
    workspace: job.workspace ?? undefined,
  };
}
