// Names that become NATS subject tokens and file-system paths (job ids, stage and
// node names): one strict alphabet, checked at every boundary.
import { z } from 'zod';
import { formatIssues } from './validation.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const NAME_HINT = 'letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters';

export const nameSchema = z.string().regex(NAME_RE, { message: `must be ${NAME_HINT}` });
export const jobIdSchema = nameSchema;
export const nodeNameSchema = nameSchema;
export const stageNameSchema = nameSchema;

const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,62}$/;
export const labelsSchema = z.record(
  z.string().regex(LABEL_KEY_RE, { message: 'label keys must be letters, digits, ".", "/", "-", "_"' }),
  z.string().max(128),
);
export type Labels = z.infer<typeof labelsSchema>;

export function isValidName(s: string): boolean {
  return NAME_RE.test(s);
}

/** A run token fences one attempt of one stage: `job/stage/attempt`. */
export interface RunToken {
  job: string;
  stage: string;
  attempt: number;
}

export const runTokenSchema = z.object({
  job: jobIdSchema,
  stage: stageNameSchema,
  attempt: z.number().int().min(1),
});

export function tokenKey(t: RunToken): string {
  return `${t.job}/${t.stage}/${t.attempt}`;
}

/** Parses `k=v,k2=v2` (CLI and config) into labels; throws with the bad pair named. */
export function parseLabelList(spec: string | string[]): Labels {
  const parts = (Array.isArray(spec) ? spec : [spec]).flatMap((s) => s.split(',')).filter((s) => s.trim() !== '');
  const out: Labels = {};
  for (const p of parts) {
    const i = p.indexOf('=');
    if (i <= 0) throw new Error(`label "${p}" is not of the form key=value`);
    out[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  const r = labelsSchema.safeParse(out);
  if (!r.success) throw new Error(`labels: ${formatIssues(r.error).join('; ')}`);
  return r.data;
}
