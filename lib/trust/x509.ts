// The TLS half of the fleet's trust root: a self-signed CA and the leaf certificates it
// signs for nats-server, coordinators and agents. All cryptography is @peculiar/x509 over WebCrypto.
import { createPublicKey } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs Reflect metadata
// at load time; ESM evaluates imports in order, so this one must stay first of the two.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { InvalidInputError } from '../errors.js';
import { writeFileAtomic } from '../write-file-atomic.js';

/** A certificate and its private key, both PEM (the key as PKCS#8 "PRIVATE KEY"). */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export interface CreateCaOptions {
  /** The CA's common name, e.g. `meshrun fleet CA`. */
  name: string;
  validDays: number;
}

export type CertUsage = 'server' | 'client' | 'both';

export interface IssueCertOptions {
  commonName: string;
  /** DNS subjectAltNames; a server certificate needs at least one DNS name or IP. */
  dnsNames?: string[];
  /** IPv4 or IPv6 subjectAltNames. */
  ips?: string[];
  usage: CertUsage;
  validDays: number;
  /** Sign this public key (SPKI PEM, ECDSA P-256) made elsewhere; the result then has no key. */
  publicKeyPem?: string;
}

const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
// Fleet clocks drift; a certificate issued on one host must already be valid on another.
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

function webCrypto(): Crypto {
  return globalThis.crypto;
}

/** A self-signed CA: P-256, basicConstraints CA:true (critical), keyCertSign|cRLSign, random serial. */
export async function createCa(opts: CreateCaOptions): Promise<CertAndKey> {
  requireName('CA name', opts.name);
  const validity = validityWindow(opts.validDays);
  const crypto = webCrypto();
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [opts.name] }],
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      ...validity,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

/** A leaf certificate signed by `ca`: P-256, CA:false, digitalSignature, serverAuth/clientAuth, SANs, AKI. */
export async function issueCert(ca: CertAndKey, opts: IssueCertOptions): Promise<CertAndKey> {
  requireName('commonName', opts.commonName);
  const sans = subjectAltNames(opts);
  if (opts.usage !== 'client' && sans.length === 0) {
    // TLS clients (Go's, Node's) match the host against SANs only; without one the cert is useless.
    throw new InvalidInputError(`a ${opts.usage} certificate needs at least one DNS name or IP`);
  }
  const validity = validityWindow(opts.validDays);
  const crypto = webCrypto();
  const caCert = parseCaCert(ca.certPem);
  const caKey = await importCaKey(ca, caCert);
  const keys: { publicKey: CryptoKey; privateKey?: CryptoKey } = opts.publicKeyPem
    ? { publicKey: await importPublicKey(opts.publicKeyPem) }
    : await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);

  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(extendedUsages(opts.usage), false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    await authorityKeyId(caCert, crypto),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));

  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: [{ CN: [opts.commonName] }],
      // The issuer's encoded name, byte for byte, so chain building matches it to the CA.
      issuer: caCert.subjectName,
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      ...validity,
      extensions,
    },
    crypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: keys.privateKey ? await privateKeyPem(keys.privateKey) : '' };
}

/** A public key to sign: SPKI PEM of an ECDSA P-256 key (what `meshrun user add` makes). */
async function importPublicKey(pem: string): Promise<CryptoKey> {
  try {
    return await webCrypto().subtle.importKey('spki', x509.PemConverter.decodeFirst(pem), KEY_ALGORITHM, true, ['verify']);
  } catch (err) {
    throw new InvalidInputError('public key is not an ECDSA P-256 key in SPKI PEM', { cause: err });
  }
}

/** Writes a private key (or anything secret) atomically with mode 0600. */
export function writePrivateKey(path: string, pem: string): void {
  writeFileAtomic(path, pem, 0o600);
  // open(2) keeps the mode of a stale temp file; make 0600 hold whatever was there.
  chmodSync(path, 0o600);
}

function requireName(what: string, value: string): void {
  if (value.trim() === '') throw new InvalidInputError(`${what} must not be empty`);
}

function validityWindow(validDays: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(validDays) || validDays < 1) {
    throw new InvalidInputError(`validDays must be a positive integer, got ${validDays}`);
  }
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + validDays * DAY_MS) };
}

function subjectAltNames(opts: IssueCertOptions): x509.JsonGeneralNames {
  const names: x509.JsonGeneralNames = [];
  for (const dns of opts.dnsNames ?? []) {
    requireName('dnsNames entry', dns);
    names.push({ type: 'dns', value: dns });
  }
  for (const ip of opts.ips ?? []) {
    if (isIP(ip) === 0) throw new InvalidInputError(`not an IP address: ${ip}`);
    names.push({ type: 'ip', value: ip });
  }
  return names;
}

function extendedUsages(usage: CertUsage): string[] {
  switch (usage) {
    case 'server':
      return [x509.ExtendedKeyUsage.serverAuth];
    case 'client':
      return [x509.ExtendedKeyUsage.clientAuth];
    case 'both':
      return [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  }
}

function parseCaCert(pem: string): x509.X509Certificate {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pem);
  } catch (err) {
    throw new InvalidInputError('CA certificate is not a PEM X.509 certificate', { cause: err });
  }
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
    throw new InvalidInputError(`certificate ${cert.subject} is not a CA (basicConstraints CA:false or absent)`);
  }
  return cert;
}

async function importCaKey(ca: CertAndKey, caCert: x509.X509Certificate): Promise<CryptoKey> {
  // A key that does not match the CA certificate would sign leaves nobody can verify.
  let spki: Buffer;
  try {
    spki = createPublicKey(ca.keyPem).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new InvalidInputError('CA key is not a PEM private key', { cause: err });
  }
  if (!spki.equals(Buffer.from(caCert.publicKey.rawData))) {
    throw new InvalidInputError(`CA key does not match the certificate of ${caCert.subject}`);
  }
  try {
    return await webCrypto().subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), KEY_ALGORITHM, false, ['sign']);
  } catch (err) {
    throw new InvalidInputError('CA key is not a PKCS#8 ECDSA P-256 key', { cause: err });
  }
}

async function authorityKeyId(caCert: x509.X509Certificate, crypto: Crypto): Promise<x509.AuthorityKeyIdentifierExtension> {
  // Reuse the CA's own subject key id so the two match even if the CA computed it differently.
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
  return x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, crypto);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webCrypto().subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}
