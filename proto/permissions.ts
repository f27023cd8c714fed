// What each identity may do on the bus, as subject permissions that nats-server enforces
// itself (a bug in meshrun cannot widen them). A node speaks only for itself: its own
// heartbeats, events, log chunks and blob requests; it reads its own commands and replies.
import { Subjects } from './subjects.js';

export interface SubjectPermissions {
  pub: { allow: string[]; deny?: string[] };
  sub: { allow: string[]; deny?: string[] };
  /** May answer requests it received (commands). */
  allowResponses: boolean;
}

/** The inbox prefix a node's connection must use (`inboxPrefix`), so it can read only replies meant for it. */
export function nodeInboxPrefix(node: string): string {
  return `_INBOX.mr.${node}`;
}

/**
 * A node's credential. Everything it publishes names it: heartbeats and events on its own
 * subjects, log chunks only under `mr.out.<job>.<stage>.<attempt>.<node>.*` (the server
 * attributes each chunk; the coordinator checks the node against the attempt's), and blob
 * requests to the coordinator on `mr.blob.<node>.*` (which checks the node holds the run).
 * No JetStream API: the object store and every stream stay out of its reach.
 */
export function nodePermissions(node: string): SubjectPermissions {
  return {
    pub: { allow: [Subjects.heartbeat(node), Subjects.runEvents(node), Subjects.nodeOutput(node), Subjects.blobGet(node), Subjects.blobPut(node), Subjects.secretGet(node)] },
    sub: { allow: [Subjects.agentCommand(node), Subjects.meshCommand(node), `${nodeInboxPrefix(node)}.>`] },
    allowResponses: true,
  };
}
