// `meshrun watch --once` (or stdout is not a terminal): the streams of the shown jobs read
// once, then one plain-text frame on stdout.
import type { MeshrunClient } from '../client.js';
import { ExitCode } from '../exit.js';
import { pickJob, renderFrame, shownJobs, WATCH_LIST_NEWEST } from './frame.js';
import { LogTail } from './log-tail.js';
import { attemptsOf, WatchedJob } from './watched-job.js';

const STREAM_TIMEOUT_MS = 15_000;

export async function once(client: MeshrunClient, jobId: string | undefined, lines: number): Promise<number> {
  let jobs = await client.listJobPage(WATCH_LIST_NEWEST, true).then((p) => p.jobs);
  let selected = jobId ? (jobs.find((j) => j.id === jobId) ?? (await client.getJob(jobId))) : pickJob(jobs);
  const tail = new LogTail(Math.max(lines, 1));
  const streams = new Map<string, WatchedJob>();
  const noop = (): void => undefined;
  if (selected) streams.set(selected.id, new WatchedJob(client, selected.id, tail, false, () => [], noop));
  for (const j of shownJobs(jobs).active) {
    if (!streams.has(j.id)) streams.set(j.id, new WatchedJob(client, j.id, undefined, false, attemptsOf(j), noop));
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all([...streams.values()].map((s) => s.done)),
      new Promise((r) => (timer = setTimeout(r, STREAM_TIMEOUT_MS))),
    ]);
  } finally {
    clearTimeout(timer);
    for (const s of streams.values()) s.close();
  }
  // the tables are at least as new as the log above them
  const [nodes, fresh] = await Promise.all([client.listNodes(), client.listJobPage(WATCH_LIST_NEWEST, true).then((p) => p.jobs)]);
  jobs = fresh;
  if (selected) selected = jobs.find((j) => j.id === selected!.id) ?? selected;
  if (selected) {
    // a stage that started but printed nothing yet still gets its marker: that silence is the point
    const started = selected.stages
      .flatMap((s) => {
        const a = s.attempts[s.attempts.length - 1];
        return a && a.startedAtMs > 0 && a.state !== 'stale' && !tail.has(s.name, a.attempt) ? [{ stage: s.name, attempt: a.attempt, node: a.node, at: a.startedAtMs }] : [];
      })
      .sort((a, b) => a.at - b.at);
    for (const s of started) tail.header(s.stage, s.attempt, s.node);
  }
  const frame = renderFrame(
    {
      address: client.address,
      now: Date.now(),
      nodes,
      jobs,
      selectedId: selected?.id,
      selectedAuto: !jobId,
      selectedJob: selected,
      tail: selected ? tail : undefined,
      progress: (id) => streams.get(id)?.progress,
    },
    { tailLines: lines, tty: false },
  );
  process.stdout.write(frame.join('\n') + '\n');
  return ExitCode.Ok;
}
