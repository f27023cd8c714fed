// Which ended connections count as an agent restart (held for --restart-grace) and which as silence.
import { describe, expect, it } from 'vitest';
import { closedNode, nodeDisconnect } from '../coordinator/node-connections.js';

const advisory = (nameTag: string, reason: string): Uint8Array => new TextEncoder().encode(JSON.stringify({ type: 'io.nats.server.advisory.v1.client_disconnect', client: { name_tag: nameTag, id: 7 }, reason }));

describe('node connection advisories', () => {
  it('a clean close and a reset from the agent\'s kernel are the agent process ending', () => {
    expect(closedNode(advisory('node-alpha', 'Client Closed'))).toBe('alpha');
    expect(closedNode(advisory('node-alpha', 'Read Error'))).toBe('alpha');
  });

  it('a stale connection (a pulled cable, a frozen machine) and server-side ends are not', () => {
    for (const reason of ['Stale Connection', 'Server Shutdown', 'Slow Consumer (Write Deadline)', 'Write Error', '']) expect(closedNode(advisory('node-alpha', reason)), reason).toBeUndefined();
    expect(nodeDisconnect(advisory('node-alpha', 'Stale Connection'))).toEqual({ node: 'alpha', reason: 'Stale Connection', closed: false });
  });

  it('only node credentials count, and a damaged advisory is ignored', () => {
    expect(closedNode(advisory('user-admin', 'Client Closed'))).toBeUndefined();
    expect(closedNode(advisory('coordinator', 'Client Closed'))).toBeUndefined();
    expect(closedNode(new TextEncoder().encode('{not json'))).toBeUndefined();
    expect(closedNode(new TextEncoder().encode(JSON.stringify({ client: 5 })))).toBeUndefined();
  });
});
