// `meshrun web login`: a one-time login token for the web dashboard, asked for with the user's
// own certificate (so the dashboard session is that user's, with that role), and the link that
// carries it. The token is on stdout only: never in argv, and the link keeps it in the fragment,
// which a browser does not send to the server or put in a Referer.
import type { Command } from 'commander';
import type { RpcClient } from '../rpc-client.js';
import { ExitCode } from '../exit.js';
import { escapeControls } from '../format.js';

/** The dashboard's address: the coordinator's host (as this client reached it) and the web port. */
export function dashboardUrl(coordinatorAddress: string, webPort: number): string {
  const host = coordinatorAddress.replace(/:\d+$/, '');
  return `https://${host}:${webPort}`;
}

export async function webLoginCmd(client: RpcClient, o: { json?: boolean }): Promise<number> {
  await client.ready();
  const r = await client.createWebLogin();
  const url = dashboardUrl(client.address, Number(r.webPort));
  const expiresAt = new Date(Number(r.expiresAtMs)).toISOString();
  if (o.json) {
    process.stdout.write(JSON.stringify({ url, loginUrl: `${url}/login#${r.token}`, token: r.token, expiresAt, user: r.user, role: r.role }) + '\n');
    return ExitCode.Ok;
  }
  process.stdout.write(
    escapeControls(`open ${url}/login#${r.token}\n  (or paste the token on ${url}/login: ${r.token})\n  for ${r.user} (${r.role}); use it once, before ${expiresAt}\n`, 'log'),
  );
  return ExitCode.Ok;
}

export function registerWebCommands(program: Command, client: () => Promise<RpcClient>, run: (p: Promise<number>) => void): void {
  const web = program.command('web').description('the web dashboard the coordinator serves (--web-listen)');
  web
    .command('login')
    .description('a one-time link (and token) that logs you in to the dashboard as yourself, with your role')
    .option('--json')
    .action((o) => run(client().then((c) => webLoginCmd(c, o))));
}
