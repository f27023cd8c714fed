// `meshrun watch` on a terminal: polls nodes and jobs every interval, keeps one log stream
// per shown job, and redraws on the alternate screen until q, Ctrl-C or a signal.
import type { JobMsg, NodeMsg } from '../../proto/grpc.js';
import { formatDuration } from '../../proto/duration.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode } from '../exit.js';
import { newestRunning, pickJob, renderFrame, shownJobs, WATCH_LIST_NEWEST } from './frame.js';
import { LogTail } from './log-tail.js';
import { Screen } from './screen.js';
import { attemptsOf, WatchedJob } from './watched-job.js';

/** Lines of the selected job's log held without --lines: more than any terminal shows. */
const TAIL_KEEP = 500;

export async function live(client: MeshrunClient, jobId: string | undefined, intervalMs: number, lines: number | undefined): Promise<number> {
  const out = process.stdout;
  const screen = new Screen(out, process.stdin);
  const streams = new Map<string, WatchedJob>();
  const tails = new Map<string, LogTail>();
  let nodes: NodeMsg[] | undefined;
  let jobs: JobMsg[] | undefined;
  let problem: string | undefined;
  let selectedProblem: string | undefined;
  let selected: JobMsg | undefined;
  let stopped = false;
  let tickTimer: NodeJS.Timeout | undefined;
  let drawTimer: NodeJS.Timeout | undefined;
  let lastDraw = 0;

  let quit!: (code: number) => void;
  let crash!: (err: unknown) => void;
  const finished = new Promise<number>((resolve, reject) => {
    quit = resolve;
    crash = reject;
  });

  const draw = (): void => {
    if (stopped) return;
    clearTimeout(drawTimer);
    drawTimer = undefined;
    lastDraw = Date.now();
    try {
      drawFrame();
    } catch (err) {
      crash(err); // reported after the terminal is restored, not lost on the alternate screen
    }
  };
  const drawFrame = (): void => {
    const height = out.rows || 24;
    const width = out.columns || 80;
    const selectedId = jobId ?? selected?.id;
    const stream = selectedId ? streams.get(selectedId) : undefined;
    const streamProblem = stream?.error && !stream.connected ? `log stream: ${stream.error}; reconnecting` : undefined;
    screen.draw(
      renderFrame(
        {
          address: client.address,
          now: Date.now(),
          intervalMs,
          nodes,
          jobs,
          problem,
          selectedId,
          selectedAuto: !jobId,
          selectedJob: selected,
          selectedProblem: selectedProblem ?? streamProblem,
          tail: selectedId ? tails.get(selectedId) : undefined,
          progress: (id) => streams.get(id)?.progress,
        },
        { width, height, tailLines: lines ?? height, tty: true },
      ),
    );
  };
  // log bytes arrive in bursts: redraw at most ten times a second
  const soon = (): void => {
    if (stopped || drawTimer) return;
    drawTimer = setTimeout(draw, Math.max(0, 100 - (Date.now() - lastDraw)));
  };

  const reconcile = (): void => {
    const want = new Map<string, boolean>(); // id -> carries the tail
    const selectedId = jobId ?? selected?.id;
    if (selectedId) want.set(selectedId, true);
    if (jobs) for (const j of shownJobs(jobs).active) if (!want.has(j.id)) want.set(j.id, false);
    const recentlyEnded = new Set(jobs ? shownJobs(jobs).ended.map((j) => j.id) : []);
    for (const [id, s] of streams) {
      const withTail = want.get(id);
      let drop: boolean;
      if (s.failed) drop = true; // opened again below
      else if (withTail === undefined) drop = !(s.ended && recentlyEnded.has(id)); // an ended stream keeps the final progress
      else drop = withTail !== (s.tail !== undefined);
      if (!drop) continue;
      s.close();
      streams.delete(id);
      if (id !== selectedId) tails.delete(id);
    }
    for (const [id, withTail] of want) {
      if (streams.has(id) || !jobs?.some((j) => j.id === id)) continue;
      let tail: LogTail | undefined;
      if (withTail) {
        // switching jobs starts that job's log from the start (the tail keeps only the last lines)
        tail = new LogTail(Math.max(lines ?? TAIL_KEEP, 1));
        tails.set(id, tail);
      }
      const get = (): JobMsg | undefined => jobs?.find((j) => j.id === id);
      streams.set(id, new WatchedJob(client, id, tail, true, () => attemptsOf(get())(), soon));
    }
  };

  const tick = async (): Promise<void> => {
    try {
      const [n, listed] = await Promise.all([client.listNodes(), client.listJobPage(WATCH_LIST_NEWEST, true).then((p) => p.jobs)]);
      // the job asked for may be an old one that ended: not in the listing, asked for by itself
      const named = jobId && !listed.some((j) => j.id === jobId) ? await client.getJob(jobId).catch(() => undefined) : undefined;
      const js = named ? [...listed, named] : listed;
      nodes = n;
      jobs = js;
      problem = undefined;
      selectedProblem = undefined;
      if (jobId) {
        selected = js.find((j) => j.id === jobId);
        if (!selected) selectedProblem = `no job ${jobId} (yet)`;
      } else {
        // the newest running job; once it ends it stays on screen until another one runs
        const prev = selected?.id;
        selected = newestRunning(js) ?? js.find((j) => j.id === prev) ?? pickJob(js);
      }
      reconcile();
    } catch (err) {
      problem = `${(err as Error).message}; retrying every ${formatDuration(intervalMs)}`;
    }
    if (!stopped) {
      draw();
      tickTimer = setTimeout(() => void tick(), intervalMs);
    }
  };

  const onSignal = (sig: NodeJS.Signals): void => quit(sig === 'SIGINT' ? ExitCode.Ok : 128 + (sig === 'SIGTERM' ? 15 : 1));
  const onResize = (): void => draw();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  try {
    for (const s of signals) process.on(s, onSignal);
    out.on('resize', onResize);
    screen.enter((key) => {
      if (key.includes('\x03') || key === 'q' || key === 'Q') quit(ExitCode.Ok);
      else if (key === '\x0c') {
        out.write('\x1b[2J');
        draw();
      }
    });
    void tick();
    return await finished;
  } finally {
    stopped = true;
    clearTimeout(tickTimer);
    clearTimeout(drawTimer);
    for (const s of streams.values()) s.close();
    out.off('resize', onResize);
    for (const s of signals) process.off(s, onSignal);
    screen.leave();
    client.close();
  }
}
