// The client config is checked with zod/mini (the CLI's reader is bundled on its own, without
// zod's locales): every message must still say what is wrong, never zod/mini's "Invalid input".
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveClientTarget } from '../cli/client-config.js';

const dir = mkdtempSync(join(tmpdir(), 'meshrun-cc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function errorOf(yaml: string): Promise<{ exitCode: number; message: string }> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return (await Promise.resolve()
    .then(() => resolveClientTarget({}, { MESHRUN_CONFIG: file }))
    .then(() => ({ exitCode: 0, message: '' }), (e: unknown) => e as { exitCode: number; message: string }));
}

describe('a bad client config', () => {
  it.each([
    ['7\n', /expected a map with currentContext and contexts/],
    // not YAML at all: the parser's line and column
    ['currentContext: x\ncontexts:\n  x: [\n', /c\w+\.yaml: unexpected end of the stream within a flow collection \(4:1\)$/],
    ['currentContext: x\ncurrentContext: y\ncontexts: {}\n', /duplicated mapping key \(2:1\)$/],
    ['contexts: 5\n', /currentContext: is missing \(the name of the context to use\)[\s\S]*contexts: expected a map of context name/],
    ['currentContext: x\ncontexts: { x: 4 }\n', /contexts\.x: expected a map with coordinator, ca, cert and key/],
    ['currentContext: x\ncontexts:\n  x: { ca: 3, cert: "-----BEGIN CERTIFICATE-----", key: "k" }\n', /contexts\.x\.coordinator: is missing[\s\S]*contexts\.x\.ca: expected a string \(the fleet CA certificate\)[\s\S]*contexts\.x\.key: is not PEM/],
  ])('%j is refused with exit 2, naming what is wrong', async (yaml, message) => {
    const err = await errorOf(yaml);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/Invalid input/);
  });
});
