// The one executable: `meshrun <command>`. Parses arguments, runs one command, and
// is the only place that turns errors into an exit code and one clear line. A command's code
// (and gRPC, the .proto, YAML, zod) is imported when it runs: --help and --version load
// commander and little else, and every spawn of the CLI pays only for what it uses.
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../lib/version.js';
import type { MeshrunClient } from './client.js';
import type { RpcClient } from './rpc-client.js';
import { clientTarget, type TargetFlags } from './client-target.js';
import { registerUserCommands } from './commands/users.js';
import { registerWebCommands } from './commands/web.js';
import { ExitCode } from './exit.js';
import { exitWith, reportError } from './report.js';
import { rpcClient } from './fast-read.js';
import { agentDefaults } from '../agent/defaults.js';
import { coordinatorDefaults } from '../coordinator/defaults.js';
import { formatDuration } from '../proto/duration.js';
import { registerMeshCommands } from './commands/mesh.js';
import { registerScheduleCommands } from './commands/schedule.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function buildProgram(run: (p: Promise<number>) => void): Command {
  const program = new Command('meshrun')
    .description('Run fleet operations (Ansible playbooks and commands) on the machines that should run them')
    .version(VERSION)
    .option('--coordinator <host:port>', 'coordinator gRPC address (default: $MESHRUN_COORDINATOR, else the client config\'s)')
    .option('--context <name>', 'the client config context to use (default: $MESHRUN_CONTEXT, else its currentContext)')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  /** A streaming command's client (grpc-js), made when the command runs: gRPC loads only then. */
  const client = async (): Promise<MeshrunClient> => {
    const target = await clientTarget(program.opts() as TargetFlags);
    const { MeshrunClient } = await import('./client.js');
    return new MeshrunClient(target);
  };
  /** A command of unary calls only: the lean channel over node:http2, without grpc-js (README, design notes). */
  const rpc = (): Promise<RpcClient> => rpcClient(program.opts() as TargetFlags);
  /** job, jobs, nodes, cancel, drain, undrain. */
  const read = () => import('./commands/read.js');

  program
    .command('coordinator')
    .description('run the coordinator daemon')
    .option('--nats <url>', 'NATS server URL(s), comma-separated')
    .option('--nats-creds <file>', 'NATS credential made by meshrun init (coordinator/coordinator.creds)')
    .option('--nats-ca <file>', 'the fleet CA certificate (ca.pem): connect to NATS with TLS')
    .option('--trust-dir <dir>', 'the trust root meshrun init made: TLS and users for clients, node enrollment')
    .option('--insecure', 'no TLS, no users, everyone an admin: loopback only, for trying meshrun out')
    .option('--listen <host:port>', 'gRPC listen address for clients')
    .option('--web-listen <host:port>', 'serve the web dashboard (HTTPS, users log in with meshrun web login) on this address')
    .option('--state-dir <dir>', 'local state directory')
    .option('--config <file>', 'YAML config file (flags override it)')
    .option('--suspect-after <duration>', `silence before a node is suspect (default ${formatDuration(coordinatorDefaults.suspectAfterMs)})`)
    .option('--down-after <duration>', `silence before a node is down and its work fails over (default ${formatDuration(coordinatorDefaults.downAfterMs)})`)
    .option('--restart-grace <duration>', `hold the runs of a node whose agent closed its connection (restart, crash) this long before they fail over (default ${formatDuration(coordinatorDefaults.restartGraceMs)})`)
    .option('--replicas <n>', `copies of every stream, bucket and object store on a nats-server cluster; an existing one is scaled to it (default ${coordinatorDefaults.replicas}; 3 on a 3-server cluster)`)
    .option('--leader-lease <duration>', `with several coordinators on one bus, one leads; a standby takes over once the leader has not renewed its lease for this long (default ${formatDuration(coordinatorDefaults.leaderLeaseMs)})`)
    .option('--retain-for <duration>', `remove an ended job (record, logs, artifacts, workspace, nodes' run dirs) this long after it ended (default ${formatDuration(coordinatorDefaults.retainForMs)})`)
    .option('--retain-jobs <n>', `keep at most this many ended jobs; the oldest are removed first (default ${coordinatorDefaults.retainJobs})`)
    .option('--retain-events <n>', `applied run events kept in the events stream as evidence (default ${coordinatorDefaults.retainEvents})`)
    .option('--mesh-cidr <cidr>', `IPv4 range mesh addresses are allocated from (default ${coordinatorDefaults.meshCidr})`)
    .option('--mesh-keepalive <duration>', `WireGuard persistent keepalive between nodes, 0 = off (default ${coordinatorDefaults.meshKeepaliveS}s)`)
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics at https://HOST:PORT/metrics to clients with a certificate of a fleet user (plain http, loopback only, with --insecure); default: off (docs/metrics.md)')
    .action((o) => run(import('./commands/daemons.js').then((d) => d.runCoordinator(o))));

  program
    .command('agent')
    .description('run the agent daemon on this machine')
    .option('--nats <url>', 'NATS server URL(s), comma-separated')
    .option('--nats-creds <file>', 'this node\'s NATS credential')
    .option('--nats-ca <file>', 'the fleet CA certificate: connect to NATS with TLS')
    .option('--join <token>', 'enroll with this join token (once; the credential is kept in the state dir); $MESHRUN_JOIN_TOKEN keeps it out of argv')
    .option('--insecure', 'connect to the bus without a credential (a bus without authentication; warned at every start)')
    .option('--node <name>', 'node name (default: hostname)')
    .option('--labels <k=v,...>', 'labels for placement')
    .option('--state-dir <dir>', 'runner files and agent state (default /var/lib/meshrun as root)')
    .option('--slots <n>', `runs at once (default ${agentDefaults.slots})`)
    .option('--standby', 'take work only when no ready non-standby node has the labels')
    .option('--reserve <cpu=N,memory=SIZE>', 'hold back this much of the machine\'s cpu and memory from stages\' resource requests (e.g. cpu=2,memory=4G)')
    .option('--config <file>', 'YAML config file (flags override it)')
    .option('--heartbeat <duration>', `heartbeat interval (default ${formatDuration(agentDefaults.heartbeatMs)})`)
    .option('--lease <duration>', `fence reassignable runs after this long without the coordinator (default ${formatDuration(agentDefaults.leaseMs)})`)
    .option('--kill-grace <duration>', `SIGTERM to SIGKILL grace (default ${formatDuration(agentDefaults.killGraceMs)})`)
    .option('--retain-runs-for <duration>', `remove a job's run directory untouched this long, if the coordinator's retention did not (default ${formatDuration(agentDefaults.retainRunsForMs)})`)
    .option('--mesh-if <name>', 'own this WireGuard interface and join the mesh (default: no mesh)')
    .option('--mesh-endpoint <ip:port>', 'where other nodes reach this node\'s mesh interface')
    .option('--mesh-port <n>', `UDP listen port of the mesh interface (default ${agentDefaults.meshPort})`)
    .action((o) => run(import('./commands/daemons.js').then((d) => d.runAgent({ ...o, coordinator: program.opts().coordinator as string | undefined }))));

  program
    .command('init')
    .description('make the fleet\'s trust root here: NATS operator and account, a CA, nats-server\'s TLS config, the coordinator\'s credentials')
    .option('--dir <dir>', 'where (default: <state dir>/trust)')
    .option('--nats-host <name|ip>', 'a name or address agents reach nats-server by (repeatable; default 127.0.0.1 and localhost)', collect)
    .option('--nats-listen <ip>', 'address nats-server listens on (default 127.0.0.1)')
    .option('--nats-port <n>', 'port nats-server listens on (default 4222)')
    .option('--nats-server <name=host[:port[:cluster-port]]>', 'one server of a nats-server cluster (repeat for 3 or more): a config each, routes over mutual TLS (cluster port default 6222)', collect)
    .option('--nats-cluster-name <name>', 'the cluster\'s name (default meshrun)')
    .option('--add-cluster', 'with --nats-server: add the cluster\'s configs to the existing trust root (growing from one server), keeping every credential')
    .option('--coordinator-host <name|ip>', 'a name or address clients reach the coordinator by (repeatable; default 127.0.0.1, localhost, ::1)', collect)
    .option('--coordinator-port <n>', 'the coordinator\'s gRPC port, for the admin\'s client config (default 7433)')
    .option('--force', 'replace an existing trust root (every credential issued from it stops working)')
    .option('--json', 'machine-readable output')
    .action((o) => run(import('./commands/init.js').then((m) => m.init(o))));

  program
    .command('submit')
    .description('submit a job file, or a command with --on/--label after --')
    .argument('[args...]', 'FILE.yaml, or -- ARGV...')
    .option('--on <node>', 'run the command on this node')
    .option('--label <k=v>', 'run the command on a node with this label (repeatable)', collect)
    .option('--all', 'with --label: run the command on every ready node with the labels (one attempt each)')
    .option('--max-parallel <n>', 'with --all: how many nodes run at once (default: all)')
    .option('--fail-tolerance <n|p%>', 'with --all: how many nodes may fail (or a percentage of them) while the job still succeeds (default 0)')
    .option('--name <name>', 'job name')
    .option('--id <id>', 'job id (default: generated); resubmitting an id returns the existing job')
    .option('--env <NAME=VALUE>', 'environment for the command (repeatable)', collect)
    .option('--secret <NAME>', 'a secret for the command, read from the environment variable NAME (repeatable; never stored or sent in clear)', collect)
    .option('--timeout <duration>', 'stage timeout for the command')
    .option('--workspace <dir>', 'pack DIR (honouring .gitignore and .meshrunignore) as every run\'s working directory')
    .option('-f, --follow', 'follow the log and exit with the job\'s exit code')
    .option('--raw', 'with --follow: print the job\'s bytes unchanged even on a terminal')
    .option('--json', 'machine-readable output')
    .action((args: string[], o) => run(import('./commands/submit.js').then(async (m) => m.submit(await client(), args, o))));

  program
    .command('logs')
    .description('print a job\'s log from the start; -f follows it to the end')
    .argument('<job>')
    .option('-f, --follow', 'follow until the job ends, then exit with its exit code')
    .option('--json', 'one JSON event per line')
    .option('--raw', 'print the job\'s bytes unchanged even on a terminal (default there: control characters escaped)')
    .option('--node <node>', 'only the bytes of runs on this node (a stage on all nodes prefixes each line with its node)')
    .action((id: string, o) => run(import('./commands/logs.js').then(async (m) => m.logs(await client(), id, o))));

  program
    .command('artifacts')
    .description('download the artifacts a job\'s stages stored')
    .argument('<job>')
    .option('-o, --output <dir>', 'where to unpack (default ./artifacts-JOB); one subdirectory per stage (and per node of a stage on all nodes)')
    .option('--json')
    .action((id: string, o) => run(import('./commands/artifacts.js').then(async (m) => m.artifactsCmd(await client(), id, o))));

  program.command('job').description('show one job').argument('<job>').option('--json').action((id: string, o) => run(read().then(async (m) => m.jobCmd(await rpc(), id, o))));
  program.command('jobs').description('list jobs').option('--json').option('--limit <n>', 'the newest N jobs (default 100; 0: as many as one listing holds, 10000)').action((o) => run(read().then(async (m) => m.jobsCmd(await rpc(), o))));
  program.command('nodes').description('list nodes').option('--json').action((o) => run(read().then(async (m) => m.nodesCmd(await rpc(), o))));
  program
    .command('retry')
    .description('a new run of an ended job: stages that did not succeed run again (and what depends on them); the others keep their results, outputs and artifacts')
    .argument('<job>')
    .option('--from <stage>', 'run this stage and every stage that depends on it again too (also for a job that succeeded)')
    .option('--secrets-from <file>', 'a job with secrets: read their values again from the sources this job file names (they were forgotten when the job ended)')
    .option('-f, --follow', 'follow the log (from the start, every run) and exit with the job\'s exit code')
    .option('--raw', 'with --follow: print the job\'s bytes unchanged even on a terminal')
    .option('--json', 'machine-readable output')
    .action((id: string, o) => run(import('./commands/retry.js').then(async (m) => m.retryCmd(o.follow ? await client() : await rpc(), id, o))));
  program.command('cancel').description('cancel a job').argument('<job>').option('--json').action((id: string, o) => run(read().then(async (m) => m.cancelCmd(await rpc(), id, o))));
  program.command('drain').description('stop placing work on a node; it is "drained" once its runs have ended').argument('<node>').option('--json').action((n: string, o) => run(read().then(async (m) => m.drainCmd(await rpc(), n, true, o))));
  program.command('undrain').description('place work on a drained node again').argument('<node>').option('--json').action((n: string, o) => run(read().then(async (m) => m.drainCmd(await rpc(), n, false, o))));
  program
    .command('watch')
    .description('a dashboard of nodes, jobs and one job\'s log tail with handoffs marked; q or Ctrl-C quits')
    .option('--job <id>', 'whose log to tail (default: the most recently started running job)')
    .option('--interval <duration>', 'refresh every (default 1s)')
    .option('--once', 'print one plain-text frame and exit (also what happens without a terminal)')
    .option('--lines <n>', 'log lines to show (default: what fits; 20 with --once)')
    .action((o) => run(import('./commands/watch.js').then(async (m) => m.watch(await client(), o))));
  registerMeshCommands(program, rpc, run);
  registerUserCommands(program, rpc, run);
  registerWebCommands(program, rpc, run);
  registerScheduleCommands(program, rpc, client, run);

  program
    .command('store')
    .description('meshrun\'s JetStream state (jobs, nodes, users, events, logs, artifacts)')
    .command('copy')
    .description('copy meshrun\'s whole JetStream state to another bus (e.g. from one nats-server to a cluster with replicas); coordinators and agents stopped')
    .option('--from <url>', 'the bus meshrun runs on now (tls://host:4222)')
    .option('--to <urls>', 'the bus to copy to: its server URLs, comma-separated')
    .option('--trust-dir <dir>', 'the trust root meshrun init made: its coordinator credential and CA, for both sides')
    .option('--from-creds <file>', 'NATS credential for the source (instead of --trust-dir\'s)')
    .option('--from-ca <file>', 'CA certificate for the source\'s TLS (instead of --trust-dir\'s)')
    .option('--to-creds <file>', 'NATS credential for the target (instead of --trust-dir\'s)')
    .option('--to-ca <file>', 'CA certificate for the target\'s TLS (instead of --trust-dir\'s)')
    .option('--replicas <n>', 'replicas of every stream made on the target (default 1; 3 for a 3-server cluster)')
    .option('--force', 'replace meshrun streams the target already holds (their messages are lost)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nRefused while a coordinator runs against the source (its leader lease is renewed) and when the target\n' +
        'already holds meshrun state. Run events the coordinator applied are not copied, nor the leader lease.\n' +
        'Every stream\'s message count and every key\'s last value are compared on both sides afterwards: exit 1\n' +
        'on any difference. Stop the coordinators and agents first; start them on the new URLs afterwards.',
    )
    .action((o) => run(import('./commands/store.js').then((m) => m.storeCopyCmd(o))));

  program
    .command('dev')
    .description('start a local fleet (nats-server, coordinator, agents alpha and beta) until Ctrl-C')
    .option('--demo', 'submit a sample two-stage job, follow it, then stop')
    .option('--port <port>', 'coordinator port (default 7433, or a free one)')
    .option('--keep', 'keep the temp directory with daemon logs')
    .action((o) => run(import('./commands/dev.js').then((m) => m.dev(o))));

  program
    .command('install')
    .description('write a systemd unit and config for the agent or the coordinator')
    .argument('<what>', 'agent | coordinator')
    .option('--dry-run', 'print the files instead of writing them')
    .option('--nats <url>')
    .option('--node <name>')
    .option('--labels <k=v,...>')
    .option('--slots <n>')
    .option('--standby')
    .option('--reserve <cpu=N,memory=SIZE>', 'agent: hold back cpu and memory from resource requests')
    .option('--state-dir <dir>')
    .option('--listen <host:port>')
    .option('--force', 'overwrite an existing config file')
    .option('--mesh-if <name>', 'agent: own this WireGuard interface (docs/mesh.md)')
    .option('--mesh-endpoint <ip:port>', 'agent: where other nodes reach its mesh interface')
    .option('--mesh-port <n>', 'agent: UDP port of the mesh interface')
    .option('--mesh-cidr <cidr>', 'coordinator: range of mesh addresses')
    .option('--trust-dir <dir>', 'coordinator: the trust root meshrun init made (NATS credential, CA, enrollment)')
    .option('--join <token>', 'agent: enroll with this join token at the first start (kept in /etc/meshrun/agent.env, 0600; with --coordinator; $MESHRUN_JOIN_TOKEN keeps it out of argv)')
    .option('--join-file <file>', 'agent: read the join token from this file, - for standard input (keeps it out of argv and the environment)')
    .addOption(new Option('--root <dir>', 'write below this root instead of /').hideHelp())
    .action((what: string, o) => run(import('./commands/install.js').then((m) => m.install(what, { ...o, coordinator: program.opts().coordinator as string | undefined }))));
  return program;
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.Ok;
    return ExitCode.Usage;
  }
  return reportError(err);
}

export async function main(argv: string[]): Promise<void> {
  let pending: Promise<number> | undefined;
  const program = buildProgram((p) => (pending = p));
  let code: number;
  try {
    await program.parseAsync(argv, { from: 'user' });
    code = pending ? await pending : ExitCode.Ok;
  } catch (err) {
    code = report(err);
  }
  await exitWith(code);
}
