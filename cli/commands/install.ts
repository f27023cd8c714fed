// `meshrun install agent|coordinator`: writes a systemd unit and a config file under
// /etc/meshrun (or prints them with --dry-run). The agent unit uses KillMode=process
// so restarting the agent never kills the runs it started.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_NATS_URL, DEFAULT_SECURE_NATS_URL } from '../../proto/config.js';
import { trustRootPaths } from '../../lib/trust/paths.js';
import { parseLabelList } from '../../proto/names.js';
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
}

export interface InstallFile {
  path: string;
  content: string;
  mode: number;
}

export function renderInstall(kind: 'agent' | 'coordinator', o: InstallOptions): InstallFile[] {
  const [node, bin] = selfCommand();
  const configPath = `/etc/meshrun/${kind}.yaml`;
  const config: Record<string, unknown> = { nats: o.nats ?? DEFAULT_NATS_URL };
  if (kind === 'agent') {
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
    config.stateDir = o.stateDir ?? '/var/lib/meshrun';
    Object.assign(config, installMeshAgent(o));
  } else {
    config.listen = o.listen ?? '0.0.0.0:7433';
    config.stateDir = o.stateDir ?? '/var/lib/meshrun/coordinator';
    if (o.meshCidr) config.meshCidr = coordinatorMeshSettings({ meshCidr: o.meshCidr }, {}).cidr;
    if (o.trustDir) {
      const t = trustRootPaths(resolve(o.trustDir));
      if (!o.nats) config.nats = DEFAULT_SECURE_NATS_URL;
      Object.assign(config, { natsCreds: t.coordinatorCreds, natsCa: t.caCert, trustDir: t.dir });
    }
  }
  const unit =
    kind === 'agent'
      ? `[Unit]
Description=meshrun agent: runs fleet operations on this machine
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${node} ${bin} agent --config ${configPath}
Restart=on-failure
RestartSec=2
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
  return [
    { path: `/etc/systemd/system/meshrun-${kind}.service`, content: unit, mode: 0o644 },
    { path: configPath, content: `# meshrun ${kind} configuration (flags given on the command line override these)\n${stringify(config)}`, mode: 0o600 },
  ];
}

export function install(kind: string, o: InstallOptions): number {
  if (kind !== 'agent' && kind !== 'coordinator') throw new ExitError(ExitCode.Usage, `install what? expected "agent" or "coordinator", got "${kind}"`);
  const files = renderInstall(kind, o);
  if (o.dryRun) {
    for (const f of files) process.stdout.write(`# ${f.path}\n${f.content}\n`);
    return ExitCode.Ok;
  }
  const root = o.root ?? '/';
  for (const f of files) {
    const target = join(root, f.path);
    if (existsSync(target) && !o.force && f.path.endsWith('.yaml')) {
      process.stderr.write(`${target} exists, kept (use --force to overwrite)\n`);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, f.content, { mode: f.mode });
    process.stdout.write(`wrote ${target}\n`);
  }
  process.stdout.write(`next: systemctl daemon-reload && systemctl enable --now meshrun-${kind}\n`);
  return ExitCode.Ok;
}
