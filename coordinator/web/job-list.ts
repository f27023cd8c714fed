// The dashboard's job list: the newest jobs (and every one that has not ended) filtered by state,
// name, node and schedule, one page at a time. A finished job's row never changes, so it is read
// from the store once and kept (bounded by the scan); a running job's row comes from memory.
import type { JobRecord } from '../../proto/records.js';
import { isTerminalJob } from '../../proto/records.js';
import { WebLimits, type JobsQuery } from '../../proto/web.js';
import { mapBounded } from '../../lib/map-bounded.js';
import { authoritativeNode } from '../job-machine.js';

export interface JobRow {
  id: string;
  name: string;
  state: string;
  exitCode: number | null;
  submittedAtMs: number;
  endedAtMs: number;
  nodes: string[];
  authoritativeNode: string;
  schedule: string;
  stages: number;
}

export interface JobSource {
  jobIds(limit: number): { newest: string[]; more: boolean; active: string[] };
  peekJob(id: string): JobRecord | undefined;
  getJob(id: string): Promise<JobRecord | undefined>;
}

export interface JobPage {
  jobs: JobRow[];
  /** Jobs that match, on every page. */
  total: number;
  page: number;
  size: number;
  /** Older jobs exist than the list looked at (WebLimits.jobsScanMax): the CLI lists them. */
  more: boolean;
}

export function rowOf(job: JobRecord): JobRow {
  const nodes = new Set<string>();
  for (const s of job.stages) for (const a of s.attempts) nodes.add(a.node);
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    exitCode: job.exitCode,
    submittedAtMs: job.submittedAt,
    endedAtMs: job.endedAt ?? 0,
    nodes: [...nodes].sort(),
    authoritativeNode: authoritativeNode(job),
    schedule: job.schedule?.name ?? '',
    stages: job.stages.length,
  };
}

/** The filter, pure: what the list shows for a query. */
export function matches(r: JobRow, q: JobsQuery): boolean {
  if (q.state === 'active' ? r.endedAtMs !== 0 || isTerminalJob(r.state as JobRecord['state']) : q.state === 'ended' ? !isTerminalJob(r.state as JobRecord['state']) : q.state !== '' && r.state !== q.state) return false;
  const has = (v: string, want: string): boolean => want === '' || v.toLowerCase().includes(want.toLowerCase());
  if (!has(r.name, q.name) && !has(r.id, q.name)) return false;
  if (q.node !== '' && !r.nodes.some((n) => has(n, q.node))) return false;
  if (q.schedule !== '' && !has(r.schedule, q.schedule)) return false;
  return true;
}

export class JobList {
  private readonly finished = new Map<string, JobRow>();

  constructor(
    private readonly src: JobSource,
    private readonly scanMax: number = WebLimits.jobsScanMax,
  ) {}

  async page(q: JobsQuery): Promise<JobPage> {
    const { newest, more, active } = this.src.jobIds(this.scanMax);
    const ids = [...newest];
    const listed = new Set(ids);
    for (const id of active) if (!listed.has(id)) ids.push(id);
    const wanted = new Set(ids);
    // forget rows of jobs retention removed (or that fell out of the scan)
    for (const id of this.finished.keys()) if (!wanted.has(id)) this.finished.delete(id);
    const rows = await mapBounded(ids, 16, async (id) => {
      const held = this.src.peekJob(id);
      if (held) return this.keep(rowOf(held));
      const known = this.finished.get(id);
      if (known) return known;
      const job = await this.src.getJob(id).catch(() => undefined);
      return job ? this.keep(rowOf(job)) : undefined;
    });
    const hits = rows.filter((r): r is JobRow => r !== undefined && matches(r, q));
    hits.sort((a, b) => b.submittedAtMs - a.submittedAtMs || (a.id < b.id ? -1 : 1));
    return { jobs: hits.slice(q.page * q.size, (q.page + 1) * q.size), total: hits.length, page: q.page, size: q.size, more };
  }

  private keep(r: JobRow): JobRow {
    if (r.endedAtMs !== 0) this.finished.set(r.id, r);
    return r;
  }
}
