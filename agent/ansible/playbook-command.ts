// Builds the argv and environment that run one playbook with the meshrun_events callback;
// pure apart from locating the plugin directory once. The detached runner execs the result.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, MeshrunError, ErrorCode } from '../../lib/errors.js';

export interface PlaybookRunSpec {
  /** Path of the playbook relative to the job's workspace. */
  playbook: string;
  /** Inventory path relative to the workspace, or an inline host list such as `web1,web2,`. */
  inventory?: string;
  extraVars?: Record<string, unknown>;
  limit?: string;
  tags?: string[];
  check?: boolean;
}

export interface PlaybookCommandOptions {
  /** The job's workspace (absolute); the run's working directory. */
  cwd: string;
  /** Where the callback appends events; relative paths resolve against cwd. */
  eventsFile: string;
  /** @default the directory holding meshrun_events.py, found from the package root */
  pluginDir?: string;
  /** @default 'ansible-playbook' */
  executable?: string;
  /**
   * Extra vars go through this file (`--extra-vars=@FILE`, which the caller writes 0600 with
   * `varsFileContent`) instead of the command line, where every local user could read them.
   */
  varsFile?: string;
}

export interface PlaybookCommand {
  argv: string[];
  /** Variables to set on top of the agent's own environment (execa extendEnv). */
  env: Record<string, string>;
  cwd: string;
}

export const CALLBACK_NAME = 'meshrun_events';

// Without an inventory the node runs the playbook against itself, like ansible-pull:
// `-i localhost, -c local`. The alternative (no -i) silently matches no hosts for
// `hosts: all` and exits 0. Note this also overrides an `inventory =` line in the
// workspace's ansible.cfg: a run that targets other machines names its inventory.
const LOCAL_INVENTORY = ['--inventory=localhost,', '--connection=local'];

export function buildPlaybookCommand(spec: PlaybookRunSpec, opts: PlaybookCommandOptions): PlaybookCommand {
  if (!path.isAbsolute(opts.cwd)) throw new InvalidInputError(`cwd must be an absolute path, got "${opts.cwd}"`);
  const playbook = checkWorkspacePath('run.playbook', spec.playbook);
  const argv = [opts.executable ?? 'ansible-playbook'];

  if (spec.inventory === undefined) {
    argv.push(...LOCAL_INVENTORY);
  } else if (spec.inventory.includes(',')) {
    argv.push(`--inventory=${checkHostList('run.inventory', spec.inventory)}`);
  } else {
    argv.push(`--inventory=${path.join(opts.cwd, checkWorkspacePath('run.inventory', spec.inventory))}`);
  }
  // `--opt=value` keeps a value that starts with '-' from being read as an option.
  if (spec.limit !== undefined) argv.push(`--limit=${checkToken('run.limit', spec.limit)}`);
  for (const [i, tag] of (spec.tags ?? []).entries()) argv.push(`--tags=${checkToken(`run.tags[${i}]`, tag)}`);
  if (spec.extraVars !== undefined && Object.keys(spec.extraVars).length > 0) {
    argv.push(opts.varsFile ? `--extra-vars=@${opts.varsFile}` : `--extra-vars=${extraVarsJson(spec.extraVars)}`);
  }
  if (spec.check === true) argv.push('--check');
  argv.push('--', path.join(opts.cwd, playbook));

  // Env beats ansible.cfg, so a workspace's callbacks_enabled/callback_plugins lines are
  // replaced; a playbook-adjacent callback_plugins/ directory still loads.
  const env: Record<string, string> = {
    ANSIBLE_CALLBACK_PLUGINS: opts.pluginDir ?? callbackPluginDir(),
    ANSIBLE_CALLBACKS_ENABLED: CALLBACK_NAME,
    MESHRUN_EVENTS_FILE: path.resolve(opts.cwd, opts.eventsFile),
    // The log is for humans; the events file is the machine channel. Pin the stdout
    // callback so a workspace ansible.cfg (e.g. stdout_callback=json) cannot change that.
    ANSIBLE_STDOUT_CALLBACK: 'default',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    PYTHONUNBUFFERED: '1',
    // Importing the plugin must not drop __pycache__ into the source tree.
    PYTHONDONTWRITEBYTECODE: '1',
    // ansible-core refuses to start without a UTF-8 locale, and systemd units have none.
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
  };
  return { argv, env, cwd: opts.cwd };
}

function checkWorkspacePath(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidInputError(`${field}: must be a non-empty path`);
  if (value.includes('\0')) throw new InvalidInputError(`${field}: must not contain NUL bytes`);
  if (path.isAbsolute(value)) {
    throw new InvalidInputError(`${field}: "${value}" is absolute; give a path relative to the job workspace`);
  }
  // Segment-wise, so `site..v2.yml` is a fine name while `a/../../etc` is not.
  if (value.split(/[\\/]/).includes('..')) {
    throw new InvalidInputError(`${field}: "${value}" contains "..", which could leave the job workspace`);
  }
  return path.normalize(value);
}

function checkHostList(field: string, value: string): string {
  if (/[\0\s]/.test(value)) throw new InvalidInputError(`${field}: host list must not contain whitespace or NUL`);
  return value;
}

function checkToken(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new InvalidInputError(`${field}: must be a non-empty string without NUL bytes`);
  }
  return value;
}

/** The vars file's content: the spec's extra vars, checked like those on a command line. */
export function varsFileContent(vars: Record<string, unknown>): string {
  return extraVarsJson(vars);
}

function extraVarsJson(vars: Record<string, unknown>): string {
  if (typeof vars !== 'object' || vars === null || Array.isArray(vars)) {
    throw new InvalidInputError('run.extraVars: must be an object');
  }
  try {
    return JSON.stringify(vars);
  } catch (err) {
    throw new InvalidInputError(`run.extraVars: not serialisable as JSON (${(err as Error).message})`, { cause: err });
  }
}

let pluginDirCache: string | undefined;

/**
 * The plugin stays in the source tree (`agent/ansible/`) and is not copied to dist/,
 * so resolve it from the package root: walk up from this module to package.json.
 * Works for `agent/ansible/*.ts` under vitest and `dist/agent/ansible/*.js` alike.
 */
export function callbackPluginDir(fromUrl: string = import.meta.url): string {
  if (fromUrl === import.meta.url && pluginDirCache !== undefined) return pluginDirCache;
  let dir = path.dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) {
      const plugin = path.join(dir, 'agent', 'ansible');
      if (!existsSync(path.join(plugin, `${CALLBACK_NAME}.py`))) {
        throw new MeshrunError(ErrorCode.Internal, `callback plugin ${CALLBACK_NAME}.py missing from ${plugin}`);
      }
      if (fromUrl === import.meta.url) pluginDirCache = plugin;
      return plugin;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new MeshrunError(ErrorCode.Internal, `no package.json above ${fileURLToPath(fromUrl)}`);
    dir = parent;
  }
}
