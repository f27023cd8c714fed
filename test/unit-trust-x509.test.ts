// The fleet CA and its leaf certificates, checked by real TLS stacks: node:crypto parses them,
// node:tls and nats-server 2.9 handshake with them, and certificates from another CA are refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import 'reflect-metadata';
import * as px509 from '@peculiar/x509';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../lib/errors.js';
import { freePort } from '../lib/free-port.js';
import { createCa, issueCert, writePrivateKey, type CertAndKey } from '../lib/trust/x509.js';
import { requireTools } from './fleet/netns.js';

let ca: CertAndKey;
let otherCa: CertAndKey;
let dir: string;
// Everything a test starts registers its stop here; afterEach runs them newest first, each isolated.
let cleanups: Array<() => unknown>;

beforeAll(async () => {
  ca = await createCa({ name: 'meshrun test CA', validDays: 30 });
  otherCa = await createCa({ name: 'meshrun test CA', validDays: 30 });
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshrun-x509-'));
  cleanups = [];
});

afterEach(async () => {
  const errors: unknown[] = [];
  for (const stop of cleanups.reverse()) {
    try {
      await stop();
    } catch (err) {
      errors.push(err);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
});

function serverCert(from: CertAndKey = ca): Promise<CertAndKey> {
  return issueCert(from, { commonName: 'nats-0', dnsNames: ['localhost'], ips: ['127.0.0.1', '::1'], usage: 'server', validDays: 7 });
}

function clientCert(from: CertAndKey = ca): Promise<CertAndKey> {
  return issueCert(from, { commonName: 'agent-n1', usage: 'client', validDays: 7 });
}

function publicKeyOf(c: CertAndKey): X509Certificate['publicKey'] {
  return new X509Certificate(c.certPem).publicKey;
}

describe('createCa', () => {
  it('is a self-signed P-256 CA whose key matches', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=meshrun test CA');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(cert.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
  });

  it('marks CA:true and keyCertSign|cRLSign critical, carries a subject key id and a random serial', () => {
    const cert = new px509.X509Certificate(ca.certPem);
    const bc = cert.getExtension(px509.BasicConstraintsExtension);
    expect(bc?.ca).toBe(true);
    expect(bc?.critical).toBe(true);
    const ku = cert.getExtension(px509.KeyUsagesExtension);
    expect(ku?.critical).toBe(true);
    expect(ku?.usages).toBe(px509.KeyUsageFlags.keyCertSign | px509.KeyUsageFlags.cRLSign);
    expect(cert.getExtension(px509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(new X509Certificate(ca.certPem).serialNumber).not.toBe(new X509Certificate(otherCa.certPem).serialNumber);
  });

  it('is valid from a little before now for validDays', () => {
    const cert = new X509Certificate(ca.certPem);
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    expect(from).toBeLessThanOrEqual(Date.now());
    expect(Math.round((to - Date.now()) / 86_400_000)).toBe(30);
  });

  it('refuses an empty name or a non-positive validity', async () => {
    await expect(createCa({ name: ' ', validDays: 1 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(createCa({ name: 'x', validDays: 0 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(createCa({ name: 'x', validDays: 1.5 })).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('issueCert', () => {
  it('issues a server leaf the CA verifies, with its DNS and IP SANs', async () => {
    const leaf = await serverCert();
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('CN=nats-0');
    expect(cert.issuer).toBe('CN=meshrun test CA');
    expect(cert.verify(publicKeyOf(ca))).toBe(true);
    expect(cert.verify(publicKeyOf(otherCa))).toBe(false);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  it('sets CA:false and digitalSignature critical, the usage asked for, and AKI = the CA key id', async () => {
    const caSki = new px509.X509Certificate(ca.certPem).getExtension(px509.SubjectKeyIdentifierExtension)?.keyId;
    for (const [usage, ekus] of [
      ['server', [px509.ExtendedKeyUsage.serverAuth]],
      ['client', [px509.ExtendedKeyUsage.clientAuth]],
      ['both', [px509.ExtendedKeyUsage.serverAuth, px509.ExtendedKeyUsage.clientAuth]],
    ] as const) {
      const leaf = await issueCert(ca, { commonName: `c-${usage}`, dnsNames: ['n1.mesh'], usage, validDays: 1 });
      const cert = new px509.X509Certificate(leaf.certPem);
      const bc = cert.getExtension(px509.BasicConstraintsExtension);
      expect([bc?.ca, bc?.critical]).toEqual([false, true]);
      const ku = cert.getExtension(px509.KeyUsagesExtension);
      expect([ku?.usages, ku?.critical]).toEqual([px509.KeyUsageFlags.digitalSignature, true]);
      expect(cert.getExtension(px509.ExtendedKeyUsageExtension)?.usages).toEqual(ekus);
      expect(cert.getExtension(px509.AuthorityKeyIdentifierExtension)?.keyId).toBe(caSki);
      expect(cert.getExtension(px509.SubjectKeyIdentifierExtension)?.keyId).not.toBe(caSki);
    }
  });

  it('leaves the SAN extension out of a client cert with no names', async () => {
    const cert = new X509Certificate((await clientCert()).certPem);
    expect(cert.subjectAltName).toBeUndefined();
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('refuses bad input with InvalidInputError', async () => {
    const leaf = await serverCert();
    const bad: Array<[CertAndKey, Parameters<typeof issueCert>[1]]> = [
      [ca, { commonName: 'x', usage: 'server', validDays: 1 }], // a server cert without SANs
      [ca, { commonName: 'x', usage: 'both', dnsNames: [], validDays: 1 }],
      [ca, { commonName: 'x', ips: ['10.0.0.300'], usage: 'client', validDays: 1 }],
      [ca, { commonName: '', usage: 'client', validDays: 1 }],
      [ca, { commonName: 'x', usage: 'client', validDays: -1 }],
      [leaf, { commonName: 'x', usage: 'client', validDays: 1 }], // a leaf is no CA
      [{ certPem: ca.certPem, keyPem: otherCa.keyPem }, { commonName: 'x', usage: 'client', validDays: 1 }],
      [{ certPem: 'not a cert', keyPem: ca.keyPem }, { commonName: 'x', usage: 'client', validDays: 1 }],
      [{ certPem: ca.certPem, keyPem: 'not a key' }, { commonName: 'x', usage: 'client', validDays: 1 }],
    ];
    for (const [issuer, opts] of bad) {
      await expect(issueCert(issuer, opts), JSON.stringify(opts)).rejects.toBeInstanceOf(InvalidInputError);
    }
  });
});

describe('writePrivateKey', () => {
  it('writes 0600, also over an existing world-readable file', () => {
    const fresh = join(dir, 'fresh.key');
    writePrivateKey(fresh, ca.keyPem);
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
    expect(readFileSync(fresh, 'utf8')).toBe(ca.keyPem);

    const old = join(dir, 'old.key');
    writeFileSync(old, 'stale', { mode: 0o644 });
    writePrivateKey(old, ca.keyPem);
    expect(statSync(old).mode & 0o777).toBe(0o600);
    expect(readFileSync(old, 'utf8')).toBe(ca.keyPem);
  });
});

type Outcome = { ok: true; authorized: boolean } | { ok: false; error: string };

async function tlsServer(opts: tls.TlsOptions): Promise<{ port: number; clientErrors: Error[] }> {
  const clientErrors: Error[] = [];
  const server = tls.createServer(opts, (socket) => socket.end('hello\n'));
  server.on('tlsClientError', (err) => clientErrors.push(err));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, clientErrors };
}

// Succeeds only when the server's greeting arrives: under TLS 1.3 a client finishes its half of
// the handshake before the server has judged the client certificate.
function tlsClient(port: number, opts: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...opts });
    cleanups.push(() => socket.destroy());
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', (err) => resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    socket.on('close', () => resolve(data === 'hello\n' ? { ok: true, authorized: socket.authorized } : { ok: false, error: 'closed' }));
  });
}

describe('node:tls', () => {
  it('a client trusting the CA completes a handshake by IP and by DNS name', async () => {
    const leaf = await serverCert();
    const { port } = await tlsServer({ cert: leaf.certPem, key: leaf.keyPem });
    expect(await tlsClient(port, { ca: ca.certPem })).toEqual({ ok: true, authorized: true });
    expect(await tlsClient(port, { ca: ca.certPem, servername: 'localhost' })).toEqual({ ok: true, authorized: true });
  });

  it('a client trusting a different CA refuses the server', async () => {
    const leaf = await serverCert();
    const { port } = await tlsServer({ cert: leaf.certPem, key: leaf.keyPem });
    expect(await tlsClient(port, { ca: otherCa.certPem })).toEqual({ ok: false, error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('a client trusting the CA refuses a name the cert does not carry', async () => {
    const leaf = await serverCert();
    const { port } = await tlsServer({ cert: leaf.certPem, key: leaf.keyPem });
    expect(await tlsClient(port, { ca: ca.certPem, servername: 'elsewhere.example' })).toEqual({ ok: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('mTLS: a server requiring client certs accepts one from the CA and refuses the rest', async () => {
    const leaf = await serverCert();
    const { port, clientErrors } = await tlsServer({ cert: leaf.certPem, key: leaf.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true });
    const good = await clientCert();
    expect(await tlsClient(port, { ca: ca.certPem, cert: good.certPem, key: good.keyPem })).toEqual({ ok: true, authorized: true });
    expect(clientErrors).toEqual([]);

    const foreign = await clientCert(otherCa);
    expect(await tlsClient(port, { ca: ca.certPem, cert: foreign.certPem, key: foreign.keyPem })).toMatchObject({ ok: false });
    expect(await tlsClient(port, { ca: ca.certPem })).toMatchObject({ ok: false });
    // A server-only cert from the right CA is no client credential: its extKeyUsage says so.
    expect(await tlsClient(port, { ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem })).toMatchObject({ ok: false });
    await expect.poll(() => clientErrors.length).toBe(3);
  });
});

const nats = requireTools(['nats-server']);

describe.skipIf(!nats.ok)(`nats-server with verify: true (${nats.reason})`, () => {
  async function startNats(): Promise<{ servers: string; log: () => string }> {
    const leaf = await serverCert();
    const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ports: join(dir, 'ports') };
    mkdirSync(files.ports);
    writeFileSync(files.ca, ca.certPem);
    writeFileSync(files.cert, leaf.certPem);
    writePrivateKey(files.key, leaf.keyPem);
    const port = await freePort();
    const conf = join(dir, 'nats.conf');
    writeFileSync(
      conf,
      [
        'host: 127.0.0.1',
        `port: ${port}`,
        `ports_file_dir: ${JSON.stringify(files.ports)}`,
        'tls {',
        `  cert_file: ${JSON.stringify(files.cert)}`,
        `  key_file: ${JSON.stringify(files.key)}`,
        `  ca_file: ${JSON.stringify(files.ca)}`,
        '  verify: true',
        '}',
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    });
    // The ports file appears once the listener is up; an early exit shows its stderr.
    await expect
      .poll(() => (child.exitCode !== null ? `nats-server exited: ${stderr}` : readdirSync(files.ports).some((f) => f.endsWith('.ports'))), {
        timeout: 10_000,
        interval: 25,
      })
      .toBe(true);
    return { servers: `127.0.0.1:${port}`, log: () => stderr };
  }

  async function clientFiles(name: string, creds: CertAndKey, trust: CertAndKey = ca): Promise<{ caFile: string; certFile: string; keyFile: string }> {
    const f = { caFile: join(dir, `${name}-ca.pem`), certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
    writeFileSync(f.caFile, trust.certPem);
    writeFileSync(f.certFile, creds.certPem);
    writePrivateKey(f.keyFile, creds.keyPem);
    return f;
  }

  async function natsConnect(servers: string, tlsFiles: { caFile: string; certFile: string; keyFile: string }): Promise<NatsConnection> {
    const nc = await connect({ servers, tls: tlsFiles, reconnect: false, timeout: 5_000 });
    cleanups.push(() => nc.close());
    return nc;
  }

  it('accepts a client certificate from the CA and carries messages', async () => {
    const { servers } = await startNats();
    const nc = await natsConnect(servers, await clientFiles('agent', await clientCert()));
    const sub = nc.subscribe('trust.ping', { max: 1 });
    nc.publish('trust.ping', 'pong');
    for await (const m of sub) expect(m.string()).toBe('pong');
    await nc.flush();
    expect(nc.info?.tls_verify).toBe(true);
  });

  it('refuses a client certificate from another CA, and a client trusting another CA refuses the server', async () => {
    const { servers, log } = await startNats();
    await expect(natsConnect(servers, await clientFiles('foreign', await clientCert(otherCa)))).rejects.toThrow();
    await expect.poll(log).toMatch(/TLS handshake error: .*certificate signed by unknown authority/);
    await expect(natsConnect(servers, await clientFiles('distrust', await clientCert(), otherCa))).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });
});
