// `GET /metrics` for Prometheus on a port of its own (--metrics-listen). On a trust root it is
// HTTPS with client certificates, like the gRPC API: only a registered user of the fleet (any
// role; `meshrun user add prometheus --role viewer` makes a credential for the scraper) is
// answered. A coordinator started --insecure serves plain HTTP, and on loopback only.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { roleAllows } from '../proto/roles.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Authentication } from './users.js';

export interface MetricsServerOptions {
  /** host:port; port 0 picks a free one. */
  listen: string;
  /** The coordinator's TLS identity and the fleet CA that client certificates must chain to; none: plain HTTP (--insecure). */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** Who a client certificate belongs to (the user registry); required with `tls`. */
  authenticate?: (cert: PeerCertificate | undefined) => Authentication;
  render: () => Promise<{ contentType: string; body: string }>;
  log: Logger;
}

/** Scrapers at once: Prometheus holds one connection per target; a few for people with curl. */
const MAX_CONNECTIONS = 32;
/** A scrape that sends its request slower than this is cut off. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Distinct refusal reasons logged (each once): refusals repeat at every scrape interval. */
const REFUSALS_LOGGED_MAX = 100;

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  if (o.tls && !o.authenticate) throw new MeshrunError(ErrorCode.Internal, 'metrics over TLS need the user registry to authenticate scrapers');
  const refusalsLogged = new Set<string>();
  const refuse = (res: ServerResponse, req: IncomingMessage, code: number, why: string): void => {
    if (refusalsLogged.size < REFUSALS_LOGGED_MAX && !refusalsLogged.has(why)) {
      refusalsLogged.add(why);
      o.log.warn('metrics scrape refused', { peer: req.socket.remoteAddress, code, why });
    }
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(`${why}\n`);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (o.tls) {
      const who = o.authenticate!((req.socket as TLSSocket).getPeerCertificate());
      if (!who.ok) return refuse(res, req, 401, who.reason);
      if (!roleAllows(who.caller.role, 'viewer')) return refuse(res, req, 403, `${who.caller.user} is not allowed to read metrics`);
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('GET /metrics\n');
    o.render().then(
      (m) => res.writeHead(200, { 'content-type': m.contentType }).end(req.method === 'HEAD' ? undefined : m.body),
      (err: unknown) => {
        o.log.error('metrics not rendered', { err });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics could not be rendered (see the coordinator\'s log)\n');
      },
    );
  };
  // the handshake itself refuses a client without a certificate the fleet CA signed, as the gRPC port does
  const server: Server = o.tls
    ? createHttpsServer({ cert: readFileSync(o.tls.certFile), key: readFileSync(o.tls.keyFile), ca: readFileSync(o.tls.caFile), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, handler)
    : createHttpServer(handler);
  server.maxConnections = MAX_CONNECTIONS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  const { host, port } = splitListen(o.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  o.log.info('metrics listening', { listen: o.listen, port: bound, scheme: o.tls ? 'https (client certificates of the fleet)' : 'http (loopback)' });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `host:port`, `[v6]:port`; the port a number from 0 to 65535. A usage error naming --metrics-listen otherwise. */
export function splitListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new MeshrunError(ErrorCode.Usage, `--metrics-listen ${listen}: expected host:port (e.g. 127.0.0.1:7434)`);
  return { host: m[1] ?? m[2]!, port };
}
