// The --json shapes of jobs and nodes: a contract other tools rely on
// ({id, name, state, exitCode, stages: [{name, state, node, attempt, exitCode}]}).
import type { JobMsg, NodeMsg } from '../proto/grpc.js';

const nz = (n: number): number | null => (n > 0 ? n : null);
const code = (c: number | null | undefined): number | null => (c === undefined ? null : c);

export function jobJson(j: JobMsg): Record<string, unknown> {
  return {
    id: j.id,
    name: j.name,
    state: j.state,
    exitCode: code(j.exitCode),
    reason: j.reason,
    authoritativeNode: j.authoritativeNode || null,
    workspace: j.workspace || null,
    handoffs: j.handoffs.map((h) => ({
      from: { stage: h.fromStage, attempt: h.fromAttempt, node: h.fromNode },
      to: { stage: h.toStage, attempt: h.toAttempt, node: h.toNode, runDir: h.toRunDir || null, log: h.toLog || null },
      at: nz(h.atMs),
      markerWritten: h.acked,
    })),
    submittedAt: nz(j.submittedAtMs),
    startedAt: nz(j.startedAtMs),
    endedAt: nz(j.endedAtMs),
    stages: j.stages.map((s) => ({
      name: s.name,
      state: s.state,
      node: s.node || null,
      attempt: s.attempt,
      exitCode: code(s.exitCode),
      reason: s.reason,
      attempts: s.attempts.map((a) => ({
        attempt: a.attempt,
        node: a.node,
        state: a.state,
        outcome: a.state,
        exitCode: code(a.exitCode),
        reason: a.reason,
        staleResult: a.staleResult || null,
        failures: a.failures,
        artifacts: a.artifacts,
        assignedAt: nz(a.assignedAtMs),
        startedAt: nz(a.startedAtMs),
        endedAt: nz(a.endedAtMs),
      })),
    })),
  };
}

export function nodeJson(n: NodeMsg): Record<string, unknown> {
  return {
    name: n.name,
    labels: n.labels,
    state: n.state,
    lastSeenMs: n.lastSeenMs,
    slots: n.slots,
    running: n.running,
    standby: n.standby,
    draining: n.draining,
  };
}
