// Is nats-server down, or is this node cut off? While the bus connection is away the agent
// dials every configured server itself: a refused connection is an answer from the server's
// machine that no server listens there. When every server refuses, nobody is on the bus -
// no coordinator can see this node fall silent or reassign its runs (a coordinator that comes
// back gives every node a fresh grace) - so the lease is held instead of running out. A
// timeout or an unreachable network proves nothing: that is silence, and the lease runs out.
import { connect } from 'node:net';

export type DialOutcome = 'refused' | 'open' | 'silent';

/** host and port of each `nats://`, `tls://` or bare `host:port` server (4222 when none is given). */
export function busAddresses(servers: string): Array<{ host: string; port: number }> {
  return servers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const u = new URL(/^[a-z]+:\/\//i.test(s) ? s : `nats://${s}`);
      return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : 4222 };
    });
}

/** One TCP dial, closed at once: refused, open, or anything else (timeout, no route) as silent. */
export function dial(host: string, port: number, timeoutMs: number): Promise<DialOutcome> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (o: DialOutcome): void => {
      clearTimeout(timer);
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done('silent'), timeoutMs);
    s.once('connect', () => done('open'));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : 'silent'));
  });
}

/** Dials every configured server at once: the bus is down (not this node's link) when every one refused. */
export async function probeBus(servers: string, timeoutMs: number, dialer = dial): Promise<{ down: boolean; outcomes: DialOutcome[] }> {
  const addrs = busAddresses(servers);
  const outcomes = await Promise.all(addrs.map((a) => dialer(a.host, a.port, timeoutMs)));
  return { down: outcomes.length > 0 && outcomes.every((o) => o === 'refused'), outcomes };
}
