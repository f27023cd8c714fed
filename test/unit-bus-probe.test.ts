// Telling "the bus is down" from "this node is cut off": a refused dial is proof, anything else is not.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { busAddresses, dial, probeBus } from '../agent/bus-probe.js';
import { freePort } from '../lib/free-port.js';

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

async function listen(): Promise<number> {
  const port = await freePort();
  server = createServer((s) => s.destroy());
  await new Promise<void>((res) => server!.listen(port, '127.0.0.1', res));
  return port;
}

describe('bus probe', () => {
  it('reads host and port from every configured server form', () => {
    expect(busAddresses('nats://10.0.0.1:4333, tls://bus.example:4444,127.0.0.1,[::1]:5000')).toEqual([
      { host: '10.0.0.1', port: 4333 },
      { host: 'bus.example', port: 4444 },
      { host: '127.0.0.1', port: 4222 },
      { host: '::1', port: 5000 },
    ]);
  });

  it('a closed port is refused, a listening one is open', async () => {
    const closed = await freePort();
    expect(await dial('127.0.0.1', closed, 500)).toBe('refused');
    const open = await listen();
    expect(await dial('127.0.0.1', open, 500)).toBe('open');
  });

  it('an unknown host is silent, not refused', async () => {
    expect(await dial('no-such-host.invalid', 4222, 500)).toBe('silent');
  });

  it('the bus is down only when every server refuses', async () => {
    const busDown = async (servers: string, ms: number, d?: typeof dial) => (await probeBus(servers, ms, d)).down;
    const closed = await freePort();
    expect(await busDown(`nats://127.0.0.1:${closed}`, 500)).toBe(true);
    const open = await listen();
    expect(await busDown(`nats://127.0.0.1:${closed},nats://127.0.0.1:${open}`, 500)).toBe(false);
    // a server that does not answer at all (a pulled cable: the dial times out) is silence
    const silentAt = (host: string, port: number) => Promise.resolve(port === 4999 ? ('silent' as const) : ('refused' as const));
    expect(await busDown('nats://a:4222,nats://b:4999', 200, silentAt)).toBe(false);
    expect(await busDown('nats://a:4222,nats://b:4223', 200, silentAt)).toBe(true);
  });
});
