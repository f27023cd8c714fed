// `meshrun user add NAME --role ROLE`: makes the new user's key pair here, has the coordinator
// sign only its public half, and writes a client config (0600) holding both, to hand to the user.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from '../../proto/duration.js';
import { ROLES, roleSchema, userNameSchema } from '../../proto/roles.js';
import { newUserKeyPair } from '../../lib/trust/user-key.js';
import { writeClientConfig } from '../../lib/trust/client-config.js';
import type { RpcClient } from '../rpc-client.js';
import { ExitCode, ExitError } from '../exit.js';
import { escapeControls } from '../format.js';

export interface UserAddOptions {
  role?: string;
  valid?: string;
  output?: string;
  address?: string;
  force?: boolean;
  json?: boolean;
}

export async function userAddCmd(client: RpcClient, name: string, o: UserAddOptions): Promise<number> {
  if (!userNameSchema.safeParse(name).success) throw new ExitError(ExitCode.Usage, `user name ${JSON.stringify(name)}: ${userNameSchema.safeParse(name).error!.issues[0]!.message}`);
  const role = roleSchema.safeParse(o.role);
  if (!role.success) throw new ExitError(ExitCode.Usage, `--role ${o.role ?? '(missing)'}: must be one of ${ROLES.join(', ')}`);
  const validMs = parseDuration(o.valid ?? '365d');
  if (validMs === undefined) throw new ExitError(ExitCode.Usage, `--valid ${o.valid}: expected a duration like 90d or 8760h`);
  const out = resolve(o.output ?? `${name}.meshrun.yaml`);
  if (existsSync(out) && !o.force) throw new ExitError(ExitCode.Usage, `${out} exists (--force overwrites it, or -o names another file)`);
  const kp = newUserKeyPair();
  await client.ready();
  const r = await client.addUser(name, role.data, kp.publicKeyPem, validMs);
  writeClientConfig(out, name, { coordinator: o.address ?? client.address, user: name, ca: r.caPem, cert: r.certPem, key: kp.privateKeyPem });
  const notAfter = new Date(Number(r.notAfterMs)).toISOString();
  if (o.json) process.stdout.write(JSON.stringify({ name: r.name, role: r.role, config: out, serial: r.serial, notAfter }) + '\n');
  else process.stdout.write(escapeControls(`user ${r.name} added as ${r.role} (certificate valid until ${notAfter})`) + `\nwrote ${out}: it holds ${escapeControls(r.name)}'s private key; hand it over privately. ${escapeControls(r.name)} runs:\n  export MESHRUN_CONFIG=${out}\n`);
  return ExitCode.Ok;
}
