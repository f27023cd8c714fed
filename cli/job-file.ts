// Reads a YAML job file and validates it with the same schema the coordinator uses,
// so a mistake is named (file and field) before anything is sent.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { jobSpecSchema, type JobSpecInput } from '../proto/job-spec.js';
import { formatIssues } from '../proto/validation.js';
import { ExitCode, ExitError } from './exit.js';

export function loadJobFile(path: string): JobSpecInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ExitError(ExitCode.Usage, `${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ExitError(ExitCode.Usage, `${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateSpec(doc, path);
}

export function validateSpec(doc: unknown, source: string): JobSpecInput {
  const r = jobSpecSchema.safeParse(doc);
  if (!r.success) throw new ExitError(ExitCode.Usage, formatIssues(r.error).map((l) => `${source}: ${l}`).join('\n'));
  // send what the user wrote (durations unparsed): the coordinator validates it again
  return doc as JobSpecInput;
}

/** A job id the client chooses (submit is idempotent by id). */
export function newJobId(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'job';
  return `${slug}-${randomBytes(4).toString('hex')}`;
}
