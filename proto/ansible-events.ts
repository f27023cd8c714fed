// Zod schemas for the JSON-lines events that agent/ansible/meshrun_events.py appends to
// `<stem>.events.jsonl`; parseEventLine turns one line into a typed event or a reason, never a throw.
import { z } from 'zod';

const count = z.number().int().nonnegative();

// Every event carries its kind, a wall-clock stamp and a per-run sequence number;
// seq (from 1, strictly increasing) is what makes replays and relays idempotent.
const base = {
  ts: z.number().int().nonnegative(),
  seq: z.number().int().positive(),
};

export const PlaybookStartEvent = z.object({
  type: z.literal('playbook_start'),
  ...base,
  playbook: z.string(),
});

export const PlayStartEvent = z.object({
  type: z.literal('play_start'),
  ...base,
  play: z.string(),
  hosts: z.array(z.string()),
  /** Tasks expected on the happy path; null when the plugin could not count them. */
  taskCount: count.nullable(),
});

export const TaskStartEvent = z.object({
  type: z.literal('task_start'),
  ...base,
  play: z.string(),
  task: z.string(),
  /** 1-based start order within the play; handlers are numbered on their own. */
  taskIndex: z.number().int().positive(),
  action: z.string(),
  handler: z.boolean(),
});

export const HostStatus = z.enum(['ok', 'changed', 'failed', 'skipped', 'unreachable']);

export const HostResultEvent = z.object({
  type: z.literal('host_result'),
  ...base,
  task: z.string(),
  host: z.string(),
  status: HostStatus,
  /** For failed/unreachable: the result's msg and/or stderr, truncated to ~4 KB. */
  msg: z.string().optional(),
  rc: z.number().int().optional(),
  /** Present on failed results; true when the task had ignore_errors. */
  ignoreErrors: z.boolean().optional(),
});

/** Ansible's own recap semantics: `ok` includes `changed` and ignored failures. */
export const RecapCounts = z.object({
  ok: count,
  changed: count,
  failed: count,
  skipped: count,
  unreachable: count,
  rescued: count,
  ignored: count,
});

export const RecapEvent = z.object({
  type: z.literal('recap'),
  ...base,
  hosts: z.record(z.string(), RecapCounts),
});

export const PlaybookEndEvent = z.object({
  type: z.literal('playbook_end'),
  ...base,
  ok: z.boolean(),
  /** The run died before the recap (error mid-play, SIGTERM); there is no recap event. */
  aborted: z.boolean().optional(),
  signal: z.string().optional(),
});

export const AnsibleEvent = z.discriminatedUnion('type', [
  PlaybookStartEvent,
  PlayStartEvent,
  TaskStartEvent,
  HostResultEvent,
  RecapEvent,
  PlaybookEndEvent,
]);

export type PlaybookStartEvent = z.infer<typeof PlaybookStartEvent>;
export type PlayStartEvent = z.infer<typeof PlayStartEvent>;
export type TaskStartEvent = z.infer<typeof TaskStartEvent>;
export type HostStatus = z.infer<typeof HostStatus>;
export type HostResultEvent = z.infer<typeof HostResultEvent>;
export type RecapCounts = z.infer<typeof RecapCounts>;
export type RecapEvent = z.infer<typeof RecapEvent>;
export type PlaybookEndEvent = z.infer<typeof PlaybookEndEvent>;
export type AnsibleEvent = z.infer<typeof AnsibleEvent>;
export type AnsibleEventType = AnsibleEvent['type'];

export type ParsedEventLine = { ok: true; event: AnsibleEvent } | { ok: false; error: string };

/**
 * Parses one complete line of an events file. Garbage (a torn last line, a stray
 * print, an event type from a newer plugin) comes back as `{ ok: false, error }`
 * naming the offending field, so a follower can skip it and keep going.
 */
export function parseEventLine(line: string): ParsedEventLine {
  const text = typeof line === 'string' ? line.trim() : '';
  if (text === '') return { ok: false, error: 'empty line' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const parsed = AnsibleEvent.safeParse(raw);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'event';
  return { ok: false, error: `${field}: ${issue?.message ?? 'invalid event'}` };
}
