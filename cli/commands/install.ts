// `meshrun install agent|coordinator`: writes a systemd unit and a config file under
// /etc/meshrun (or prints them with --dry-run). The agent unit uses KillMode=process
// so restarting the agent never kills the runs it started. `install agent --join TOKEN`
// puts the token in a 0600 environment file the unit reads, never on a command line.
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_NATS_PORT, DEFAULT_NATS_URL, DEFAULT_SECURE_NATS_URL } from '../../proto/config.js';
import { joinTokenSchema } from '../../proto/grpc.js';
import { trustRootPaths } from '../../lib/trust/paths.js';
import { writeFileAtomic } from '../../lib/write-file-atomic.js';
import { parseLabelList } from '../../proto/names.js';
import { parseResourceList } from '../../proto/resources-schema.js';
import { ExitCode, ExitError } from '../exit.js';
import { selfCommand } from '../self.js';
import { agentMeshOptions, coordinatorMeshSettings } from './mesh-daemons.js';

/** The agent's mesh config keys, checked like the agent's own flags. */
function installMeshAgent(o: InstallOptions): Record<string, unknown> {
  const m = agentMeshOptions({ meshIf: o.meshIf, meshEndpoint: o.meshEndpoint, meshPort: o.meshPort }, {});
  if (!m) return {};
  return { meshIf: m.ifname, ...(m.endpoint ? { meshEndpoint: m.endpoint } : {}), ...(o.meshPort ? { meshPort: m.listenPort } : {}) };
}

export interface InstallOptions {
  dryRun?: boolean;
  root?: string;
  nats?: string;
  node?: string;
  labels?: string;
  slots?: string;
  standby?: boolean;
  reserve?: string;
  stateDir?: string;
  listen?: string;
  force?: boolean;
  /** Mesh (docs/mesh.md): the agent's interface and endpoint, the coordinator's range. */
  meshIf?: string;
  meshEndpoint?: string;
  meshPort?: string;
  meshCidr?: string;
  /** Coordinator: the trust root `meshrun init` made; its credentials and CA go into the config. */
  trustDir?: string;
  /** Agent: enroll with this join token at its first start (kept in a 0600 environment file). */
  join?: string;
  /** Agent: read the join token from this file (`-`: standard input), keeping it out of argv and the environment (Ansible). */
  joinFile?: string;
  /** Agent: the coordinator's gRPC address, where the token is exchanged (`host:port`). */
  coordinator?: string;
}

export interface InstallFile {
  path: string;
  content: string;
  mode: number;
  /** A file the admin may have edited (configs): an existing one is kept unless --force. */
  keep?: boolean;
  /** Holds a secret: --dry-run does not print its content. */
  secret?: boolean;
}

/** The environment file of the agent unit; it holds the join token, so root alone reads it. */
export const AGENT_ENV_FILE = '/etc/meshrun/agent.env';

/** `install agent --join`: the token checked, the coordinator's address required, the bus on its host by default. */
function installJoin(o: InstallOptions, env: NodeJS.ProcessEnv): { token: string; coordinator: string; nats: string } | undefined {
  // as for `meshrun agent`, $MESHRUN_JOIN_TOKEN keeps the token out of this command's argv
  if (o.join && o.joinFile) throw new ExitError(ExitCode.Usage, '--join and --join-file contradict each other: pick one');
  const [token, from] = o.join ? [o.join, '--join'] : o.joinFile ? [readJoinFile(o.joinFile), `--join-file ${o.joinFile}`] : [env.MESHRUN_JOIN_TOKEN, '$MESHRUN_JOIN_TOKEN'];
  if (token === undefined || token === '') return undefined;
  const t = joinTokenSchema.safeParse(token);
  if (!t.success) throw new ExitError(ExitCode.Usage, `${from}: ${t.error.issues[0]!.message}`);
  const coordinator = o.coordinator;
  if (!coordinator) throw new ExitError(ExitCode.Usage, `${from} needs --coordinator host:port: where the agent exchanges the token for its credential`);
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(coordinator);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new ExitError(ExitCode.Usage, `--coordinator ${coordinator}: expected host:port`);
  // the bus is set up beside the coordinator (`meshrun init`); a secured bus is TLS only
  return { token: t.data, coordinator, nats: o.nats ?? `tls://${m[1]}:${DEFAULT_NATS_PORT}` };
}

/** The token in a file (`-`: standard input), surrounding white space dropped; a usage error naming the file when unreadable or empty. */
function readJoinFile(file: string): string {
  let text: string;
  try {
    // a token is some 150 bytes: more is not a token file
    text = readFileSync(file === '-' ? 0 : file, 'utf8').slice(0, 4096).trim();
  } catch (err) {
    throw new ExitError(ExitCode.Usage, `--join-file ${file}: ${(err as Error).message}`);
  }
  if (text === '') throw new ExitError(ExitCode.Usage, `--join-file ${file}: empty (expected a join token from meshrun node token create)`);
  return text;
}

/** `meshrun init`'s directory when run as root (the state dir's `trust`). */
const DEFAULT_TRUST_DIR = '/var/lib/meshrun/trust';

export function renderInstall(kind: 'agent' | 'coordinator', o: InstallOptions, env: NodeJS.ProcessEnv = process.env): InstallFile[] {
  const [node, bin] = selfCommand();
  const configPath = `/etc/meshrun/${kind}.yaml`;
  const config: Record<string, unknown> = { nats: o.nats ?? DEFAULT_NATS_URL };
  if (kind === 'coordinator' && (o.join || o.joinFile)) throw new ExitError(ExitCode.Usage, '--join is for install agent (a coordinator does not enroll)');
  const join = kind === 'agent' ? installJoin(o, env) : undefined;
  if (kind === 'agent') {
    if (join) Object.assign(config, { nats: join.nats, coordinator: join.coordinator });
    if (o.node) config.node = o.node;
    if (o.labels) {
      try {
        config.labels = parseLabelList(o.labels);
      } catch (err) {
        throw new ExitError(ExitCode.Usage, `--labels: ${(err as Error).message}`);
      }
    }
    if (o.slots) config.slots = Number(o.slots);
    if (o.standby) config.standby = true;
    if (o.reserve) {
      try {
        config.reserve = parseResourceList(o.reserve);
      } catch (err) {
        throw new ExitError(ExitCode.Usage, `--reserve ${o.reserve}: ${(err as Error).message}`);
      }
    }
    config.stateDir = o.stateDir ?? '/var/lib/meshrun';
    Object.assign(config, installMeshAgent(o));
  } else {
    config.listen = o.listen ?? '0.0.0.0:7433';
    config.stateDir = o.stateDir ?? '/var/lib/meshrun/coordinator';
    if (o.meshCidr) config.meshCidr = coordinatorMeshSettings({ meshCidr: o.meshCidr }, {}).cidr;
    // the coordinator runs on a trust root (it refuses to start without one): the one named, else
    // where `meshrun init` puts it by default as root
    const t = trustRootPaths(resolve(o.trustDir ?? DEFAULT_TRUST_DIR));
    if (!o.nats) config.nats = DEFAULT_SECURE_NATS_URL;
    Object.assign(config, { natsCreds: t.coordinatorCreds, natsCa: t.caCert, trustDir: t.dir });
  }
  const unit =
    kind === 'agent'
      ? `[Unit]
Description=meshrun agent: runs fleet operations on this machine
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
${join ? `# The join token, for enrolling at the first start (then the credential in the state dir is used).\nEnvironmentFile=-${AGENT_ENV_FILE}\n` : ''}ExecStart=${node} ${bin} agent --config ${configPath}
# Back at once after any exit: while it is away its runs are held only for the
# coordinator's --restart-grace (30 s by default).
Restart=always
RestartSec=500ms
# Runs are started detached under their own wrapper and re-adopted on start:
# stopping or restarting the agent must not kill them.
KillMode=process
StateDirectory=meshrun
StateDirectoryMode=0700
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`
      : `[Unit]
Description=meshrun coordinator: places jobs on agents and hands runs over
After=network-online.target nats-server.service
Wants=network-online.target nats-server.service

[Service]
Type=simple
ExecStart=${node} ${bin} coordinator --config ${configPath}
Restart=on-failure
RestartSec=2
StateDirectory=meshrun
StateDirectoryMode=0700

[Install]
WantedBy=multi-user.target
`;
  const files: InstallFile[] = [
    { path: `/etc/systemd/system/meshrun-${kind}.service`, content: unit, mode: 0o644 },
    { path: configPath, content: `# meshrun ${kind} configuration (flags given on the command line override these)\n${stringify(config)}`, mode: 0o600, keep: true },
  ];
  if (join) {
    files.push({
      path: AGENT_ENV_FILE,
      content: `# meshrun agent: the join token it enrolls with at its first start (may be deleted once it has)\nMESHRUN_JOIN_TOKEN=${join.token}\n`,
      mode: 0o600,
      keep: true,
      secret: true,
    });
  }
  return files;
}

export function install(kind: string, o: InstallOptions): number {
  if (kind !== 'agent' && kind !== 'coordinator') throw new ExitError(ExitCode.Usage, `install what? expected "agent" or "coordinator", got "${kind}"`);
  const files = renderInstall(kind, o);
  if (o.dryRun) {
    for (const f of files) process.stdout.write(f.secret ? `# ${f.path} (mode ${f.mode.toString(8)}, holds a secret: not shown)\n\n` : `# ${f.path}\n${f.content}\n`);
    return ExitCode.Ok;
  }
  const root = o.root ?? '/';
  for (const f of files) {
    const target = join(root, f.path);
    if (existsSync(target) && !o.force && f.keep) {
      process.stderr.write(`${target} exists, kept (use --force to overwrite)\n`);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    // the mode holds also when a file is replaced (an existing one keeps its own otherwise)
    writeFileAtomic(target, f.content, f.mode);
    chmodSync(target, f.mode);
    process.stdout.write(`wrote ${target}\n`);
  }
  process.stdout.write(`next: systemctl daemon-reload && systemctl enable --now meshrun-${kind}\n`);
  return ExitCode.Ok;
}
