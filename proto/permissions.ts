// What each identity may do on the bus, as subject permissions that nats-server enforces
// itself (a bug in meshrun cannot widen them). A node speaks only for itself: its own
// heartbeats and events, its own command subjects, replies on its own inbox prefix.
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
 * A node's credential. Not yet narrowed: log chunks (`mr.out.<job>...` carries no node name)
 * and the object store's JetStream API; both need subjects that name the node.
 */
export function nodePermissions(node: string): SubjectPermissions {
  return {
    pub: { allow: [Subjects.heartbeat(node), Subjects.runEvents(node), Subjects.outputWildcard] },
    sub: { allow: [Subjects.agentCommand(node), Subjects.meshCommand(node), `${nodeInboxPrefix(node)}.>`] },
    allowResponses: true,
  };
}
