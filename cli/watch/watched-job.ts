// A job on the dashboard, fed by its log stream: the selected job's bytes go to the tail,
// the others skip their bytes and only fold playbook events into per-stage progress.
import type { JobMsg, LogEventMsg } from '../../proto/grpc.js';
import { parseEventLine } from '../../proto/ansible-events.js';
import { isTerminalJob, type JobState } from '../../proto/records.js';
import { initialProgress, reduceProgress, type ProgressState } from '../../lib/playbook-progress.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode } from '../exit.js';
import { JobStream } from '../job-stream.js';
import type { LogTail } from './log-tail.js';

/** The progress of a stage's newest attempt seen. */
export interface StageProgress {
  attempt: number;
  state: ProgressState;
}

/** Every attempt the job record knows (`stage/attempt`), for skipping their log bytes. */
export const attemptsOf = (j: JobMsg | undefined) => (): string[] => (j ? j.stages.flatMap((s) => s.attempts.map((a) => `${s.name}/${a.attempt}`)) : []);

export class WatchedJob {
  readonly progress = new Map<string, StageProgress>();
  ended: JobMsg | undefined;
  /** Gave up: a one-pass stream that failed, or the job is gone. */
  failed = false;
  /** Settles when a one-pass stream (follow=false) has delivered everything. */
  readonly done: Promise<void>;
  private readonly stream: JobStream;

  constructor(
    client: MeshrunClient,
    readonly id: string,
    readonly tail: LogTail | undefined,
    follow: boolean,
    knownAttempts: () => string[],
    private readonly changed: () => void,
  ) {
    this.stream = new JobStream(client, id, {
      follow,
      logBytes: tail !== undefined,
      knownAttempts,
      // the dashboard keeps trying, unless the job is not there at all
      retryable: (err) => err.exitCode !== ExitCode.NotFound,
      onEvent: (ev) => this.onEvent(ev),
      onDrop: () => changed(),
    });
    this.done = this.stream.done.then(
      (end) => {
        if (end && isTerminalJob(end.state as JobState)) {
          this.ended = end;
          this.tail?.end(end);
        }
        changed();
      },
      (err: unknown) => {
        this.failed = true;
        changed();
        throw err;
      },
    );
    this.done.catch(() => undefined);
  }

  /** The current connection has delivered an event. */
  get connected(): boolean {
    return this.stream.connected;
  }

  /** Why the last connection failed, until events flow again. */
  get error(): string | undefined {
    return this.stream.error;
  }

  close(): void {
    this.stream.close();
  }

  private onEvent(ev: LogEventMsg): void {
    switch (ev.event) {
      case 'header':
        this.tail?.header(ev.header.stage, ev.header.attempt, ev.header.node);
        break;
      case 'data':
        if (!this.tail) return;
        this.tail.data(ev.data.stage, ev.data.attempt, ev.data.data);
        break;
      case 'playbook': {
        const p = parseEventLine(ev.playbook.json);
        if (!p.ok) return;
        const { stage, attempt } = ev.playbook;
        let sp = this.progress.get(stage);
        if (!sp || sp.attempt < attempt) this.progress.set(stage, (sp = { attempt, state: initialProgress() }));
        if (sp.attempt === attempt) sp.state = reduceProgress(sp.state, p.event);
        break;
      }
      case 'end':
        break;
    }
    this.changed();
  }
}
