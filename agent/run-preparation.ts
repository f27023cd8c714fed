// From a start command to a launched run: fetches the job's workspace and checks its hash,
// unpacks it as the run's cwd, turns a playbook stage into its argv, sets the run's env, and
// writes what the wrapper masks in the output of a run with secrets.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
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
import { maskValues } from './runner/mask.js';
import { writeMaskFile } from './runner/mask-file.js';
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
  /** A run prepared while the lease ran out is not launched (the coordinator sends its start again). */
  leaseLive(): boolean;
  /** A run that cannot be prepared is refused with a `rejected` event. */
  emit(event: RunEvent): void;
}

export class RunPreparation {
  /** Runs whose workspace is being fetched: reported as starting. */
  private readonly preparing = new Map<string, RunToken>();
  /** Per job: the unpack in progress (runs of one job unpack one after another). */
  private readonly unpacking = new Map<string, Promise<void>>();

  constructor(private readonly opts: RunPreparationOptions) {}

  /** A start for this token was taken before (being prepared, or its runner files exist). */
  isKnown(token: RunToken): boolean {
    return this.preparing.has(tokenKey(token)) || existsSync(runPaths(this.opts.stateDir, token).json);
  }

  /** A run of the job is being prepared here. */
  holdsJob(job: string): boolean {
    for (const t of this.preparing.values()) if (t.job === job) return true;
    return false;
  }

  reports(): RunReport[] {
    return [...this.preparing.values()].map((token) => ({ token, state: 'starting' as const }));
  }

  /** Launches now when there is nothing to fetch; otherwise prepares in the background and reports start or refusal as events. */
  begin(cmd: StartCommand): void {
    if (!cmd.workspace && !cmd.playbook && !cmd.secrets?.length) {
      this.launch({ cmd, secretEnv: {}, removeOnExit: [], maskFile: null });
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
   * Unpacks the job's workspace as the run's cwd, fetches the run's secrets (and writes the
   * values to mask in its output to a 0600 mask file), and turns a playbook stage into its argv
   * (its extra vars and secrets in a 0600 vars file, not argv).
   */
  private async prepare(cmd: StartCommand): Promise<Prepared> {
    const paths = runPaths(this.opts.stateDir, cmd.token);
    ensurePrivateDir(paths.dir);
    if (cmd.workspace) await this.unpackOnce(cmd.token, cmd.workspace, paths);
    const secretEnv = cmd.secrets?.length ? await this.opts.secrets.get(cmd.token) : {};
    // a secret the run prints shows as *** in its log: the wrapper masks the values in this file
    const masks = maskValues(Object.values(secretEnv));
    const maskFile = masks.length > 0 ? `${paths.dir}/${paths.stem}.mask.json` : null;
    if (!cmd.playbook) {
      if (maskFile) writeMaskFile(maskFile, masks);
      return { cmd, secretEnv, removeOnExit: maskFile ? [maskFile] : [], maskFile };
    }
    const vars = { ...(cmd.playbook.extraVars ?? {}), ...secretEnv };
    const varsFile = `${paths.dir}/${paths.stem}.vars.json`;
    const spec = { ...cmd.playbook, extraVars: vars };
    const pb = buildPlaybookCommand(spec, { cwd: paths.work, eventsFile: paths.events, varsFile });
    if (Object.keys(vars).length > 0) writeFileAtomic(varsFile, varsFileContent(vars), 0o600);
    if (maskFile) writeMaskFile(maskFile, masks);
    // the events callback masks what it writes too (after the stage's env: that cannot unset it)
    const env = { ...pb.env, ...cmd.env, ...(maskFile ? { MESHRUN_MASK_FILE: maskFile } : {}) };
    return { cmd: { ...cmd, argv: pb.argv, env }, secretEnv, removeOnExit: maskFile ? [varsFile, maskFile] : [varsFile], maskFile };
  }

  /**
   * The job's workspace is unpacked once on this node, into the job's working directory that
   * all its runs here share; a later run (another stage, a retry) finds it there and fetches
   * nothing. Runs of one job prepare one at a time here, so two never unpack at once. A
   * different workspace for the same job (not made today) is unpacked afresh; the old tree is
   * moved aside, not deleted under a run that may still use it.
   */
  private unpackOnce(token: RunToken, sha256: string, paths: RunPaths): Promise<void> {
    const job = token.job;
    const next = (this.unpacking.get(job) ?? Promise.resolve()).catch(() => undefined).then(async () => {
      const marker = `${paths.work}.sha256`;
      if (readText(marker) === sha256 && existsSync(paths.work)) return;
      const data = await this.opts.blobs.getWorkspace(token, sha256, Limits.workspaceMaxBytes);
      const sha = createHash('sha256').update(data).digest('hex');
      if (sha !== sha256) throw new InvalidInputError(`workspace ${sha256.slice(0, 12)} is damaged (content hash ${sha.slice(0, 12)})`);
      const fresh = `${paths.work}.new`;
      rmSync(fresh, { recursive: true, force: true });
      await unpackWorkspace(data, fresh, { maxBytes: Limits.workspaceMaxBytes, maxFiles: Limits.workspaceMaxFiles });
      if (existsSync(paths.work)) renameSync(paths.work, `${paths.work}.${Date.now()}`);
      renameSync(fresh, paths.work);
      writeFileAtomic(marker, sha256);
      this.opts.log.info('workspace unpacked', { job, sha256: sha256.slice(0, 12), bytes: data.length });
    });
    this.unpacking.set(job, next);
    void next.finally(() => {
      if (this.unpacking.get(job) === next) this.unpacking.delete(job);
    }).catch(() => undefined);
    return next;
  }

  private launch(p: Prepared): void {
    if (!this.opts.leaseLive()) {
      // files made for it (vars, mask: they hold secrets) go; its start comes again
      for (const f of p.removeOnExit) rmSync(f, { force: true });
      this.opts.log.warn('prepared run not started: lease not live', { token: tokenKey(p.cmd.token) });
      return;
    }
    // secrets reach the run through its environment only: never the runner files
    const r = this.opts.supervisor.start(p.cmd, { ...launchEnv(p.cmd, runPaths(this.opts.stateDir, p.cmd.token)), ...p.secretEnv }, p.removeOnExit, p.maskFile);
    if (!r.known) this.opts.log.info('run started', { token: tokenKey(p.cmd.token), argv0: p.cmd.argv[0] });
  }
}

interface Prepared {
  cmd: StartCommand;
  secretEnv: Record<string, string>;
  removeOnExit: string[];
  /** Values to mask in the run's output (a run with secrets), for the wrapper. */
  maskFile: string | null;
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

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
