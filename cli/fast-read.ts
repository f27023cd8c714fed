// `meshrun nodes`, `jobs` and `job ID`, the commands an operator runs most, started without
// commander: its import and the program's ~60 commands cost ~15 ms of a ~130 ms start. This
// reads exactly the arguments they take (--json; jobs --limit N; the global --coordinator and
// --context, as commander reads them: anywhere, `--opt value` or `--opt=value`) and runs the
// same command code as cli/index.ts. Anything else - --help, an unknown option, a missing or an
// extra argument - goes to cli/index.ts, whose commander answers it as always.
// bin/meshrun.js sends these three commands here.
import type { TargetFlags } from './client-target.js';
import type { RpcClient } from './rpc-client.js';
import { exitWith, reportError } from './report.js';

export interface FastRead {
  command: 'nodes' | 'jobs' | 'job';
  flags: TargetFlags;
  json: boolean;
  /** jobs: --limit, as given (the command checks it). */
  limit?: string;
  /** job: the job's id. */
  id?: string;
}

const GLOBAL: Record<string, keyof TargetFlags> = { '--coordinator': 'coordinator', '--context': 'context' };

/** The command and its options, or undefined when anything in argv is not one this file reads. */
export function parseFastRead(argv: string[]): FastRead | undefined {
  const flags: TargetFlags = {};
  const positional: string[] = [];
  let json = false;
  let limit: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    // an option's value: after `=`, else the next argument whatever it is (as commander takes it)
    const value = (): string | undefined => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
    if (GLOBAL[name] !== undefined) {
      const v = value();
      if (v === undefined) return undefined;
      flags[GLOBAL[name]] = v;
    } else if (name === '--json' && eq < 0 && positional.length > 0) json = true;
    else if (name === '--limit' && positional[0] === 'jobs') {
      limit = value();
      if (limit === undefined) return undefined;
    } else if (a.startsWith('-')) return undefined;
    else positional.push(a);
  }
  const [command, ...rest] = positional;
  if ((command === 'nodes' || command === 'jobs') && rest.length === 0) return { command, flags, json, ...(limit !== undefined ? { limit } : {}) };
  if (command === 'job' && rest.length === 1) return { command, flags, json, id: rest[0]! };
  return undefined;
}

/** The lean client every unary command uses: the coordinator's address and credential, HTTP/2 without grpc-js. */
export async function rpcClient(flags: TargetFlags): Promise<RpcClient> {
  const { clientTarget } = await import('./client-target.js');
  const target = await clientTarget(flags);
  const [{ RpcClient }, { H2Channel }] = await Promise.all([import('./rpc-client.js'), import('./h2-channel.js')]);
  return new RpcClient(target, (address, t) => new H2Channel(address, t));
}

export async function runFastRead(r: FastRead): Promise<number> {
  const [m, client] = await Promise.all([import('./commands/read.js'), rpcClient(r.flags)]);
  if (r.command === 'nodes') return m.nodesCmd(client, { json: r.json });
  if (r.command === 'jobs') return m.jobsCmd(client, { json: r.json, ...(r.limit !== undefined ? { limit: r.limit } : {}) });
  return m.jobCmd(client, r.id!, { json: r.json });
}

export async function main(argv: string[]): Promise<void> {
  const r = parseFastRead(argv);
  if (!r) return (await import('./index.js')).main(argv);
  let code: number;
  try {
    code = await runFastRead(r);
  } catch (err) {
    code = reportError(err);
  }
  await exitWith(code);
}
