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
import { buildPlaybookCommand, varsFileContent } from './ansible/playbook-command.js';
import type { BlobClient } from './blob-client.js';
import type { SecretClient } from './secret-client.js';
import { writeFileAtomic } from '../lib/write-file-atomic.js';
import type { RunSupervisor } from './run-supervisor.js';
import { ensurePrivateDir, runPaths, type RunPaths } from './runner/run-files.js';

export interface RunPreparationOptions {
  node: string;
  stateDir: string;
  log: Logger;
  /** The coordinator's blob service (nodes never read the object store themselves). */
  blobs: Pick<BlobClient, 'getWorkspace'>;
  /** The coordinator's secret service: values for runs whose stage names secrets. */
  secrets: Pick<SecretClient, 'get'>;
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
    if (!cmd.workspace && !cmd.playbook && !cmd.secrets?.length) {
      this.launch({ cmd, secretEnv: {}, removeOnExit: [] });
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

  /**
   * Unpacks the job's workspace as the run's cwd, fetches the run's secrets, and turns a
   * playbook stage into its argv (its extra vars and secrets in a 0600 vars file, not argv).
   */
  private async prepare(cmd: StartCommand): Promise<Prepared> {
    const paths = runPaths(this.opts.stateDir, cmd.token);
    ensurePrivateDir(paths.dir);
    if (cmd.workspace) {
      const data = await this.opts.blobs.getWorkspace(cmd.token, cmd.workspace, Limits.workspaceMaxBytes);
      const sha = createHash('sha256').update(data).digest('hex');
      if (sha !== cmd.workspace) throw new InvalidInputError(`workspace ${cmd.workspace.slice(0, 12)} is damaged (content hash ${sha.slice(0, 12)})`);
      await unpackWorkspace(data, paths.work, { maxBytes: Limits.workspaceMaxBytes, maxFiles: Limits.workspaceMaxFiles });
    }
    const secretEnv = cmd.secrets?.length ? await this.opts.secrets.get(cmd.token) : {};
    if (!cmd.playbook) return { cmd, secretEnv, removeOnExit: [] };
    const vars = { ...(cmd.playbook.extraVars ?? {}), ...secretEnv };
    const varsFile = `${paths.dir}/${paths.stem}.vars.json`;
    const spec = { ...cmd.playbook, extraVars: vars };
    const pb = buildPlaybookCommand(spec, { cwd: paths.work, eventsFile: paths.events, varsFile });
    if (Object.keys(vars).length > 0) writeFileAtomic(varsFile, varsFileContent(vars), 0o600);
    return { cmd: { ...cmd, argv: pb.argv, env: { ...pb.env, ...cmd.env } }, secretEnv, removeOnExit: [varsFile] };
  }

  private launch(p: Prepared): void {
    // secrets reach the run through its environment only: never the runner files
    const r = this.opts.supervisor.start(p.cmd, { ...launchEnv(p.cmd, runPaths(this.opts.stateDir, p.cmd.token)), ...p.secretEnv }, p.removeOnExit);
    if (!r.known) this.opts.log.info('run started', { token: tokenKey(p.cmd.token), argv0: p.cmd.argv[0] });
  }
}

interface Prepared {
  cmd: StartCommand;
  secretEnv: Record<string, string>;
  removeOnExit: string[];
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
