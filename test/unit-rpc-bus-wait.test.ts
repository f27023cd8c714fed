// A coordinator that answers while its bus does not (a NATS cluster electing after a server
// went away) is asked again, at the same address, until the bus answers or the wait ends;
// a standby's answer still sends the call on to the leader it names.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RpcClient, type RpcError, type UnaryChannel } from '../cli/rpc-client.js';
import { BUS_UNAVAILABLE } from '../lib/grpc-status.js';

const UNAVAILABLE = 14;
const busDown: RpcError = { code: UNAVAILABLE, details: `${BUS_UNAVAILABLE} right now: timeout; try again`, message: 'x' };

/** Channels by address, each answering from its own script of results (an Error-like object is thrown). */
function fleetOf(scripts: Record<string, (RpcError | object)[]>): { open: (a: string) => UnaryChannel; calls: string[] } {
  const calls: string[] = [];
  const open = (address: string): UnaryChannel => ({
    waitForReady: async () => {},
    unary: async <Res>(method: string) => {
      calls.push(`${address} ${method}`);
      const next = scripts[address]!.shift() ?? {};
      if ('code' in next) throw next;
      return next as Res;
    },
    close: () => {},
  });
  return { open, calls };
}

class Client extends RpcClient {
  ask(method = 'ListNodes'): Promise<unknown> {
    return this.call(method, {});
  }
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('a coordinator whose bus does not answer', () => {
  it('is asked again at the same address until the bus answers', async () => {
    vi.useFakeTimers();
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const f = fleetOf({ a: [busDown, busDown, { nodes: ['n1'] }] });
    const c = new Client({ address: 'a', source: 'test' }, f.open);
    const answer = c.ask();
    await vi.advanceTimersByTimeAsync(5000);
    await expect(answer).resolves.toEqual({ nodes: ['n1'] });
    expect(f.calls).toEqual(['a ListNodes', 'a ListNodes', 'a ListNodes']);
    expect(process.stderr.write).toHaveBeenCalledTimes(1);
  });

  it('gives up with exit code 3 once the wait is over, naming the bus', async () => {
    vi.useFakeTimers();
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const f = fleetOf({ a: Array.from({ length: 100 }, () => busDown) });
    const c = new Client({ address: 'a', source: 'test' }, f.open);
    const answer = c.ask().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(60_000);
    const err = (await answer) as { exitCode: number; message: string };
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/bus \(JetStream\) does not answer/);
    expect(f.calls.length).toBeGreaterThan(10);
  });

  it('with several addresses, another coordinator is asked first: a cut-off leader cannot confirm its lead, the new one answers', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const cutOff: RpcError = { code: UNAVAILABLE, details: `${BUS_UNAVAILABLE} right now: this coordinator cannot confirm that it still leads; nothing written; try again`, message: 'x' };
    const f = fleetOf({ a: [cutOff], b: [{ job: 'j' }] });
    const c = new Client({ address: 'a,b', source: 'test' }, f.open);
    await expect(c.ask('Submit')).resolves.toEqual({ job: 'j' });
    expect(f.calls).toEqual(['a Submit', 'b Submit']);
  });

  it('with several addresses all waiting on the bus, it goes round them, pausing between rounds', async () => {
    vi.useFakeTimers();
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const standby: RpcError = { code: UNAVAILABLE, details: 'standby: the leader is a', message: 'x', leader: 'a' };
    const f = fleetOf({ a: [busDown, busDown, { nodes: [] }], b: [standby, standby] });
    const c = new Client({ address: 'a,b', source: 'test' }, f.open);
    const answer = c.ask();
    await vi.advanceTimersByTimeAsync(5000);
    await expect(answer).resolves.toEqual({ nodes: [] });
    expect(f.calls.filter((x) => x === 'a ListNodes')).toHaveLength(3);
  });

  it('a call that makes something new each time is not asked again: its first try may have landed', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const f = fleetOf({ a: [busDown, {}] });
    const c = new Client({ address: 'a', source: 'test' }, f.open);
    const err = (await c.ask('RetryJob').catch((e: unknown) => e)) as { exitCode: number; message: string };
    expect(err.exitCode).toBe(3);
    expect(f.calls).toEqual(['a RetryJob']);
  });

  it('a standby\'s answer still moves the call to the leader it names, at once', async () => {
    const standby: RpcError = { code: UNAVAILABLE, details: 'standby: the leader is b', message: 'x', leader: 'b' };
    const f = fleetOf({ a: [standby], b: [{ nodes: [] }] });
    const c = new Client({ address: 'a,b', source: 'test' }, f.open);
    await expect(c.ask()).resolves.toEqual({ nodes: [] });
    expect(f.calls).toEqual(['a ListNodes', 'b ListNodes']);
  });
});
