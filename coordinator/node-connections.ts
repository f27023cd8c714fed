// Tells a restarting agent from a vanished machine: nats-server's own account advisories (read
// with the coordinator's system-account credential) say when a node's connection closed. A
// closed socket means the agent process ended (restart, crash, kill -9: the kernel closes it);
// a machine that froze or lost its network sends nothing and is found by silence as before.
// The node is named by its credential (the user JWT's name, `node-<name>`), not by anything
// the client chose, so one node cannot give another a grace.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { decode } from '../proto/decode.js';
import type { Logger } from '../lib/log.js';

/** The part of nats-server's `io.nats.server.advisory.v1.client_disconnect` meshrun reads. */
export const disconnectAdvisorySchema = z.object({
  client: z.object({ name_tag: z.string().optional() }).passthrough(),
  reason: z.string().optional(),
});

/**
 * Reasons that mean the client's process closed its socket (not the server, not a silence):
 * a clean close, or a reset from the client's kernel (a process killed with unread data in its
 * socket ends its connections with a TCP reset, which nats-server reports as a read error).
 * A pulled cable or a frozen machine gives neither: it ends as a stale connection, if at all.
 */
const CLOSED_BY_CLIENT = new Set(['Client Closed', 'Read Error']);

export function disconnectSubject(accountPublicKey: string): string {
  return `$SYS.ACCOUNT.${accountPublicKey}.DISCONNECT`;
}

/** A node's connection ended: which node, and whether its process closed it (see CLOSED_BY_CLIENT). */
export function nodeDisconnect(data: Uint8Array): { node: string; reason: string; closed: boolean } | undefined {
  const r = decode(disconnectAdvisorySchema, data);
  if (!r.ok) return undefined;
  const tag = r.value.client.name_tag ?? '';
  if (!tag.startsWith('node-')) return undefined;
  const reason = r.value.reason ?? '';
  return { node: tag.slice('node-'.length), reason, closed: CLOSED_BY_CLIENT.has(reason) };
}

/** The node whose agent closed its connection, from one advisory; undefined for anything else. */
export function closedNode(data: Uint8Array): string | undefined {
  const d = nodeDisconnect(data);
  return d?.closed ? d.node : undefined;
}

export function watchNodeConnections(systemNc: NatsConnection, accountPublicKey: string, onClosed: (node: string) => void, log: Logger): Subscription {
  return systemNc.subscribe(disconnectSubject(accountPublicKey), {
    callback: (err, msg) => {
      if (err) {
        log.warn('connection advisories stopped', { err });
        return;
      }
      const d = nodeDisconnect(msg.data);
      if (!d) return;
      log.info('node connection ended', { node: d.node, reason: d.reason, heldAsRestart: d.closed });
      if (d.closed) onClosed(d.node);
    },
  });
}
