// What systemd hands a service from an EnvironmentFile (KEY=VALUE lines, # comments): how the
// install and Ansible role tests read the env file they expect the agent to start with.
import { readFileSync } from 'node:fs';

export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}
