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

/** Reasons that mean the client's process closed its socket (not the server, not a silence). */
const CLOSED_BY_CLIENT = new Set(['Client Closed']);

export function disconnectSubject(accountPublicKey: string): string {
  return `$SYS.ACCOUNT.${accountPublicKey}.DISCONNECT`;
}

/** The node whose agent closed its connection, from one advisory; undefined for anything else. */
export function closedNode(data: Uint8Array): string | undefined {
  const r = decode(disconnectAdvisorySchema, data);
  if (!r.ok || !CLOSED_BY_CLIENT.has(r.value.reason ?? '')) return undefined;
  const tag = r.value.client.name_tag ?? '';
  return tag.startsWith('node-') ? tag.slice('node-'.length) : undefined;
}

export function watchNodeConnections(systemNc: NatsConnection, accountPublicKey: string, onClosed: (node: string) => void, log: Logger): Subscription {
  return systemNc.subscribe(disconnectSubject(accountPublicKey), {
    callback: (err, msg) => {
      if (err) {
        log.warn('connection advisories stopped', { err });
        return;
      }
      const node = closedNode(msg.data);
      if (node) onClosed(node);
    },
  });
}
