// Turns a placed stage into the start command its agent receives.
import type { StartCommand } from '../proto/bus.js';
import { resolveFailover, type StageSpec } from '../proto/job-spec.js';
import type { RunToken } from '../proto/names.js';
import type { JobRecord } from '../proto/records.js';

/** Outputs of the stages that ended before this one (file order; later ones win). */
export function inheritedOutputs(job: JobRecord, stage: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of job.stages) {
    if (s.name === stage) break;
    Object.assign(env, s.outputs);
  }
  return env;
}

export function buildStartCommand(job: JobRecord, spec: StageSpec, token: RunToken): StartCommand {
  const failover = resolveFailover(spec.failover);
  const r = spec.run;
  // a playbook's argv is built on the node, where its workspace and events file live
  const argv = r.command ?? ['ansible-playbook'];
  const playbook = r.playbook !== undefined ? { playbook: r.playbook, inventory: r.inventory, extraVars: r.extraVars, limit: r.limit, tags: r.tags, check: r.check } : undefined;
  return {
    type: 'start',
    token,
    jobName: job.name,
    argv,
    playbook,
    artifacts: spec.artifacts,
    prune: spec.artifacts?.length && job.spec.prune?.length ? job.spec.prune : undefined,
    env: { ...inheritedOutputs(job, spec.name), ...(spec.env ?? {}) },
    timeoutMs: spec.timeout,
    failover: failover.mode,
    failoverWaitMs: failover.mode === 'wait' ? failover.waitMs : undefined,
    workspace: job.workspace ?? undefined,
    secrets: spec.secrets?.length ? spec.secrets : undefined,
  };
}
