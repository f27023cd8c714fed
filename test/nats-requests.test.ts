// A request on meshrun's connections (lib/nats.ts connectNats) is begun without capturing stack
// traces, for speed, yet fails exactly as nats.js's own does - on a real nats-server: "no
// responders" still arrives wrapped in a RequestError (the agent's lease and nats.js's JetStream
// client tell it by that wrapper), a timeout is a TimeoutError, a JetStream publish to a subject
// no stream holds is told apart as nats.js does, and the stack trace limit is what it was before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors, type NatsConnection, type RequestError } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { RequestOne } from '@nats-io/nats-core/internal';
import { NatsServer } from '../lib/nats-server.js';
import { connectNats, withStacklessRequests } from '../lib/nats.js';
import { silentLogger } from '../lib/log.js';
import { requireTools } from './fleet/netns.js';

const cap = requireTools(['nats-server']);

describe.skipIf(!cap.ok)(`requests on meshrun's NATS connections (${cap.reason})`, () => {
  let server: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connectNats({ servers: server.url, name: 'test', log: silentLogger });
  });

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('a request nobody answers is a RequestError caused by no responders, made without a stack', async () => {
    const limit = Error.stackTraceLimit;
    const err = await nc.request('nobody.listens.here', 'x', { timeout: 2000 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(errors.RequestError);
    expect((err as RequestError).isNoResponders()).toBe(true);
    // no frames: just the first line
    expect((err as Error).stack?.split('\n').length).toBe(1);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('a request that is never answered times out as usual', async () => {
    const sub = nc.subscribe('slow.service', { callback: () => undefined });
    const err = await nc.request('slow.service', 'x', { timeout: 200 }).then(() => undefined, (e: unknown) => e);
    sub.unsubscribe();
    expect(err).toBeInstanceOf(errors.TimeoutError);
  });

  it('an answered request gets its answer', async () => {
    const sub = nc.subscribe('echo.service', { callback: (_e, m) => void m.respond(m.data) });
    const r = await nc.request('echo.service', 'ping', { timeout: 2000 });
    sub.unsubscribe();
    expect(r.string()).toBe('ping');
  });

  it('JetStream through the same connection: a publish is stored, one to no stream is refused', async () => {
    await (await jetstreamManager(nc)).streams.add({ name: 'T_REQ', subjects: ['t.req.>'] });
    const js = jetstream(nc);
    expect((await js.publish('t.req.a', 'one')).seq).toBe(1);
    // nats.js tells this case (no responders to a JetStream publish) by the RequestError wrapper
    await expect(js.publish('t.nostream', 'x', { timeout: 1000 })).rejects.toThrow('jetstream is not enabled');
  });

  it("the 'cancelled' error nats.js makes after every answered request is made without a stack too", () => {
    let made: Error | undefined;
    const request = { timer: undefined, mux: { cancel: () => undefined }, deferred: { reject: (e: Error) => (made = e) } };
    const limit = Error.stackTraceLimit;
    (RequestOne.prototype as unknown as { cancel: (this: unknown, err?: Error) => void }).cancel.call(request);
    expect(made?.message).toBe('cancelled');
    expect(made?.stack?.split('\n').length).toBe(1);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('sets the limit back even when the request throws at once', () => {
    const limit = Error.stackTraceLimit;
    const fake = withStacklessRequests({
      request: () => {
        expect(Error.stackTraceLimit).toBe(0);
        throw new Error('at once');
      },
    } as unknown as NatsConnection);
    expect(() => fake.request('x')).toThrow('at once');
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
