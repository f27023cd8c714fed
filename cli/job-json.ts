// The --json shapes of jobs and nodes: a contract other tools rely on
// ({id, name, state, exitCode, stages: [{name, state, node, attempt, exitCode}]}).
import type { JobMsg, NodeMsg, ResourcesMsg } from '../proto/grpc.js';

const nz = (n: number): number | null => (n > 0 ? n : null);
const code = (c: number | null | undefined): number | null => (c === undefined ? null : c);
const cpus = (r: ResourcesMsg | null): number | null => (r ? r.cpuMilli / 1000 : null);
const bytes = (r: ResourcesMsg | null): number | null => (r ? r.memoryBytes : null);

export function jobJson(j: JobMsg): Record<string, unknown> {
  return {
    id: j.id,
    name: j.name,
    state: j.state,
    exitCode: code(j.exitCode),
    reason: j.reason,
    authoritativeNode: j.authoritativeNode || null,
    workspace: j.workspace || null,
    // the schedule that fired it, and the tick (null: a run-now)
    schedule: j.schedule ? { name: j.schedule, tick: nz(j.scheduleTickMs) } : null,
    // the current run (meshrun retry starts the next) and, once retried, every run oldest first
    run: j.run || 1,
    runs: (j.runs ?? []).map((r) => ({ run: r.run, at: nz(r.atMs), by: r.by || null, from: r.from || null, rerun: r.rerun, state: r.state || null, exitCode: r.state ? code(r.exitCode) : null, reason: r.reason, endedAt: nz(r.endedAtMs) })),
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
      /** The stage's request: cpu in CPUs, memory in bytes (null for what it does not ask for); null without one. */
      resources: s.request ? { cpu: s.request.cpuMilli > 0 ? cpus(s.request) : null, memory: s.request.memoryBytes > 0 ? bytes(s.request) : null } : null,
      /** The tries its `retry` policy allows in one run (1 without one), and when the next is due while it waits (else null). */
      retry: { attempts: s.retryAttempts || 1, at: nz(s.retryAtMs) },
      /** A stage on all nodes: one row per target node (null for a stage on one node). */
      nodes: s.nodes.length
        ? s.nodes.map((n) => ({
            node: n.node,
            state: n.state,
            attempt: n.attempt || null,
            exitCode: code(n.exitCode),
            startedAt: nz(n.startedAtMs),
            endedAt: nz(n.endedAtMs),
            durationMs: n.startedAtMs > 0 && n.endedAtMs > 0 ? n.endedAtMs - n.startedAtMs : null,
            reason: n.reason,
          }))
        : null,
      attempts: s.attempts.map((a) => ({
        attempt: a.attempt,
        /** The job's run it belongs to, and which try of the stage in that run (a failover reassign keeps the try). */
        run: a.run || 1,
        try: a.tryNumber || 1,
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
    // cpu in CPUs, memory in bytes; null from an agent that reports neither
    cpu: n.allocatable ? { capacity: cpus(n.capacity), allocatable: cpus(n.allocatable), allocated: cpus(n.allocated) ?? 0 } : null,
    memory: n.allocatable ? { capacity: bytes(n.capacity), allocatable: bytes(n.allocatable), allocated: bytes(n.allocated) ?? 0 } : null,
  };
}
