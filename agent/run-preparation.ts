// From a start command to a launched run: fetches the job's workspace and checks its hash,
// unpacks it as the run's cwd, turns a playbook stage into its argv, and sets the run's env.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { RunEvent, RunReport, StartCommand } from '../proto/bus.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { InvalidInputError } from '../lib/errors.js';
import { Limits } from '../lib/limits.js';
import type { Logger } from '../lib/log.js';
import { unpackWorkspace } from '../lib/workspace/index.js';
import { buildPlaybookCommand } from './ansible/playbook-command.js';
import type { BlobClient } from './blob-client.js';
import type { RunSupervisor } from './run-supervisor.js';
import { ensurePrivateDir, runPaths, type RunPaths } from './runner/run-files.js';

export interface RunPreparationOptions {
  node: string;
  stateDir: string;
  log: Logger;
  /** The coordinator's blob service (nodes never read the object store themselves). */
  blobs: Pick<BlobClient, 'getWorkspace'>;
  supervisor: Pick<RunSupervisor, 'start'>;
  /** A run that cannot be prepared is refused with a `rejected` event. */
  emit(event: RunEvent): void;
}

export class RunPreparation {
  /** Runs whose workspace is being fetched: reported as starting. */
  private readonly preparing = new Map<string, RunToken>();

  constructor(private readonly opts: RunPreparationOptions) {}

  /** A start for this token was taken before (being prepared, or its runner files exist). */
  isKnown(token: RunToken): boolean {
    return this.preparing.has(tokenKey(token)) || existsSync(runPaths(this.opts.stateDir, token).json);
  }

  reports(): RunReport[] {
    return [...this.preparing.values()].map((token) => ({ token, state: 'starting' as const }));
  }

  /** Launches now when there is nothing to fetch; otherwise prepares in the background and reports start or refusal as events. */
  begin(cmd: StartCommand): void {
    if (!cmd.workspace && !cmd.playbook) {
      this.launch(cmd);
      return;
    }
    const key = tokenKey(cmd.token);
    this.preparing.set(key, cmd.token);
    void this.prepare(cmd)
      .then((prepared) => this.launch(prepared))
      .catch((err) => {
        this.opts.log.warn('run refused', { token: key, error: (err as Error).message });
        this.opts.emit({ kind: 'rejected', node: this.opts.node, token: cmd.token, reason: (err as Error).message });
      })
      .finally(() => this.preparing.delete(key));
  }

  /** Unpacks the job's workspace as the run's cwd and turns a playbook stage into its argv. */
  private async prepare(cmd: StartCommand): Promise<StartCommand> {
    const paths = runPaths(this.opts.stateDir, cmd.token);
    ensurePrivateDir(paths.dir);
    if (cmd.workspace) {
      const data = await this.opts.blobs.getWorkspace(cmd.token, cmd.workspace, Limits.workspaceMaxBytes);
      const sha = createHash('sha256').update(data).digest('hex');
      if (sha !== cmd.workspace) throw new InvalidInputError(`workspace ${cmd.workspace.slice(0, 12)} is damaged (content hash ${sha.slice(0, 12)})`);
      await unpackWorkspace(data, paths.work, { maxBytes: Limits.workspaceMaxBytes, maxFiles: Limits.workspaceMaxFiles });
    }
    if (!cmd.playbook) return cmd;
    const pb = buildPlaybookCommand(cmd.playbook, { cwd: paths.work, eventsFile: paths.events });
    return { ...cmd, argv: pb.argv, env: { ...pb.env, ...cmd.env } };
  }

  private launch(cmd: StartCommand): void {
    const r = this.opts.supervisor.start(cmd, launchEnv(cmd, runPaths(this.opts.stateDir, cmd.token)));
    if (!r.known) this.opts.log.info('run started', { token: tokenKey(cmd.token), argv0: cmd.argv[0] });
  }
}

/** What a run learns about itself from its environment (besides the job's own `env`). */
export function launchEnv(cmd: StartCommand, paths: RunPaths): Record<string, string> {
  return {
    MESHRUN_JOB_ID: cmd.token.job,
    MESHRUN_JOB_NAME: cmd.jobName,
    MESHRUN_STAGE: cmd.token.stage,
    MESHRUN_ATTEMPT: String(cmd.token.attempt),
    MESHRUN_RUN_DIR: paths.dir,
    MESHRUN_OUTPUT: paths.output,
  };
}
