// Which nats-server a second connection dials first: the one the process's other connection is
// on (known to answer), then the rest in their configured order.
import { describe, expect, it } from 'vitest';
import { serversPreferring } from '../lib/nats.js';

const URLS = 'tls://10.0.0.1:4222,tls://10.0.0.2:4222,tls://10.0.0.3:4222';

describe('serversPreferring', () => {
  it('puts the preferred server first and keeps the others in order', () => {
    expect(serversPreferring(URLS, '10.0.0.2:4222')).toEqual({ servers: ['tls://10.0.0.2:4222', 'tls://10.0.0.1:4222', 'tls://10.0.0.3:4222'], preferred: true });
    expect(serversPreferring(URLS, '10.0.0.3:4222').servers[0]).toBe('tls://10.0.0.3:4222');
  });

  it('matches entries written without a scheme', () => {
    expect(serversPreferring('127.0.0.1:4222,127.0.0.1:4223', '127.0.0.1:4223')).toEqual({ servers: ['127.0.0.1:4223', '127.0.0.1:4222'], preferred: true });
  });

  it('leaves the list alone when nothing is preferred or the preferred one is not in it', () => {
    expect(serversPreferring(URLS, undefined)).toEqual({ servers: URLS.split(','), preferred: false });
    expect(serversPreferring(URLS, '')).toEqual({ servers: URLS.split(','), preferred: false });
    expect(serversPreferring(URLS, '10.9.9.9:4222')).toEqual({ servers: URLS.split(','), preferred: false });
  });
});
