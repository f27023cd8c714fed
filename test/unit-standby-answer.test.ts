// What a standby coordinator tells a client that dialed it: the leader's address, only to a
// caller the fleet's CA vouches for.
import { describe, expect, it } from 'vitest';
import { standbyAnswer } from '../coordinator/standby-server.js';

const leader = { id: 'abc', address: '10.0.0.1:7433', pid: 42, host: 'c1', machine: 'm1', since: 0, leaseMs: 1500 };

describe('standbyAnswer', () => {
  it('names the leader for a vouched caller', () => {
    expect(standbyAnswer({ leader, takingOver: false, vouched: true })).toContain('the leader listens at 10.0.0.1:7433 on c1');
  });

  it('tells a caller without a fleet certificate nothing about where the leader is', () => {
    const said = standbyAnswer({ leader, takingOver: false, vouched: false });
    expect(said).toMatch(/standby/);
    expect(said).not.toContain('10.0.0.1');
    expect(said).not.toContain('c1');
  });

  it('says when it is the one taking over, or has not read the lease yet', () => {
    expect(standbyAnswer({ leader, takingOver: true, vouched: true })).toMatch(/just taken the lead/);
    expect(standbyAnswer({ leader: undefined, takingOver: false, vouched: true })).toMatch(/not read the leader lease yet/);
  });
});

describe('the standby door', () => {
  // A TLS handshake under way when the door shuts becomes a session grpc-js serves anyway; the
  // client would be told "starting" for as long as it kept that connection. The door closes
  // every connection after a short age instead, so a client reconnects to the serving one.
  it('closes a client connection by itself (GOAWAY), so a client does not stay on it', async () => {
    const { connect, constants } = await import('node:http2');
    const { silentLogger } = await import('../lib/log.js');
    const { startStandbyServer } = await import('../coordinator/standby-server.js');
    const door = await startStandbyServer({ listen: '127.0.0.1:0', tls: undefined, leader: () => leader, takingOver: () => true, log: silentLogger });
    const session = connect(`http://127.0.0.1:${door.port}`);
    try {
      const closed = new Promise<string>((resolve) => {
        session.on('goaway', () => resolve('goaway'));
        session.on('close', () => resolve('close'));
      });
      // a call on the connection: answered by the door, the connection kept open by the client
      const status = await new Promise<string | undefined>((resolve, reject) => {
        const req = session.request({ [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: '/meshrun.v1.Meshrun/ListNodes', 'content-type': 'application/grpc', te: 'trailers' });
        req.on('trailers', (t) => resolve(t['grpc-message'] as string | undefined));
        req.on('response', (h) => h['grpc-message'] !== undefined && resolve(h['grpc-message'] as string));
        req.on('error', reject);
        req.end(Buffer.from([0, 0, 0, 0, 0]));
      });
      expect(decodeURIComponent(status ?? '')).toMatch(/just taken the lead/);
      // the server ends it; without an age this never happens (the test times out)
      expect(await closed).toBe('goaway');
    } finally {
      session.destroy();
      door.server.forceShutdown();
    }
  }, 20_000);
});
