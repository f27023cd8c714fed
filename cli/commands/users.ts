// Users and the audit trail: `meshrun user add|remove|list`, `meshrun whoami`, `meshrun audit`
// (`user add` is in user-add.ts, loaded only when it runs).
import type { Command } from 'commander';
import { parseDuration } from '../../proto/duration.js';
import { ROLES } from '../../proto/role-names.js';
import type { RpcClient } from '../rpc-client.js';
import { ExitCode, ExitError } from '../exit.js';
import { escapeControls, table } from '../format.js';

export async function userRemoveCmd(client: RpcClient, name: string, o: { json?: boolean }): Promise<number> {
  await client.ready();
  const r = await client.removeUser(name);
  if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(`${escapeControls(`user ${r.name} removed: ${r.certsRevoked} certificate(s) no longer authenticate`)}\n`);
  return ExitCode.Ok;
}

export async function userListCmd(client: RpcClient, o: { json?: boolean; all?: boolean }): Promise<number> {
  await client.ready();
  const users = (await client.listUsers()).filter((u) => o.all || Number(u.removedAtMs) === 0);
  const iso = (ms: number | string): string => (Number(ms) > 0 ? new Date(Number(ms)).toISOString() : '-');
  if (o.json) {
    process.stdout.write(JSON.stringify(users.map((u) => ({ name: u.name, role: u.role, createdAt: iso(u.createdAtMs), createdBy: u.createdBy, removedAt: Number(u.removedAtMs) > 0 ? iso(u.removedAtMs) : null, certs: u.certs, notAfter: iso(u.notAfterMs) }))) + '\n');
    return ExitCode.Ok;
  }
  const rows = [['NAME', 'ROLE', 'CREATED', 'BY', 'VALID UNTIL', 'STATE']];
  for (const u of users) rows.push([u.name, u.role, iso(u.createdAtMs), u.createdBy, iso(u.notAfterMs), Number(u.removedAtMs) > 0 ? `removed ${iso(u.removedAtMs)}` : 'active']);
  process.stdout.write(table(rows));
  return ExitCode.Ok;
}

export async function whoamiCmd(client: RpcClient, o: { json?: boolean }): Promise<number> {
  await client.ready();
  const me = await client.whoAmI();
  const notAfter = Number(me.certNotAfterMs) > 0 ? new Date(Number(me.certNotAfterMs)).toISOString() : null;
  if (o.json) process.stdout.write(JSON.stringify({ user: me.user, role: me.role, peer: me.peer, certNotAfter: notAfter, coordinator: client.address }) + '\n');
  else process.stdout.write(`${escapeControls(`${me.user} (${me.role}) at ${client.address}${notAfter ? `, certificate valid until ${notAfter}` : ''}`)}\n`);
  return ExitCode.Ok;
}

export async function auditCmd(client: RpcClient, o: { since?: string; limit?: string; json?: boolean }): Promise<number> {
  let sinceMs = 0;
  if (o.since !== undefined) {
    const d = parseDuration(o.since);
    const t = Date.parse(o.since);
    if (d !== undefined) sinceMs = Date.now() - d;
    else if (!Number.isNaN(t)) sinceMs = t;
    else throw new ExitError(ExitCode.Usage, `--since ${o.since}: expected a duration (1h, 7d) or a date (2026-11-29T08:00:00Z)`);
  }
  const limit = o.limit === undefined ? 0 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new ExitError(ExitCode.Usage, `--limit ${o.limit}: expected a whole number`);
  await client.ready();
  const entries = await client.listAudit(sinceMs, limit);
  if (o.json) {
    for (const e of entries) process.stdout.write(JSON.stringify({ at: new Date(Number(e.atMs)).toISOString(), user: e.user, role: e.role, method: e.method, target: e.target, peer: e.peer, outcome: e.outcome, detail: e.detail }) + '\n');
    return ExitCode.Ok;
  }
  const rows = [['TIME', 'USER', 'ROLE', 'CALL', 'TARGET', 'FROM', 'OUTCOME']];
  for (const e of entries) rows.push([new Date(Number(e.atMs)).toISOString(), e.user || '-', e.role || '-', e.method, e.target || '-', e.peer, e.outcome === 'ok' ? 'ok' : `${e.outcome}: ${e.detail}`]);
  process.stdout.write(table(rows));
  return ExitCode.Ok;
}

export function registerUserCommands(program: Command, client: () => Promise<RpcClient>, run: (p: Promise<number>) => void): void {
  const user = program.command('user').description('users of the API and their roles (admin)');
  user
    .command('add')
    .description('issue a credential for a new user: a client config with its key, to hand over')
    .argument('<name>')
    .requiredOption('--role <role>', `${ROLES.join(' | ')}`)
    .option('--valid <duration>', 'certificate lifetime (default 365d)')
    .option('-o, --output <file>', 'where to write the client config (default ./NAME.meshrun.yaml)')
    .option('--address <host:port>', 'the coordinator address to put in it (default: the one used now)')
    .option('--force', 'overwrite the output file')
    .option('--json')
    .action((name: string, o) => run(import('./user-add.js').then(async (m) => m.userAddCmd(await client(), name, o))));
  user.command('remove').description('revoke every credential of a user at once').argument('<name>').option('--json').action((name: string, o) => run(client().then((c) => userRemoveCmd(c, name, o))));
  user.command('list').description('list users').option('--all', 'include removed users').option('--json').action((o) => run(client().then((c) => userListCmd(c, o))));
  program.command('whoami').description('the user and role the coordinator sees').option('--json').action((o) => run(client().then((c) => whoamiCmd(c, o))));
  program
    .command('audit')
    .description('who did what through the API: every mutating call and every refused one (admin)')
    .option('--since <duration|date>', 'only records since (e.g. 1h, 7d, 2026-11-01)')
    .option('--limit <n>', 'the newest N (default 1000)')
    .option('--json', 'one JSON record per line')
    .action((o) => run(client().then((c) => auditCmd(c, o))));
}
