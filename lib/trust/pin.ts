// Trust on first contact, pinned: a join token carries the SHA-256 of the fleet CA's
// certificate (like kubeadm's discovery hash), so a new node that has nothing yet can tell
// the real coordinator from an impostor before it sends the token. The coordinator's TLS
// chain includes the CA; the node finds the CA whose hash the token names, checks it signed
// the server's certificate, and from then on trusts only that CA.
import { createHash, X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate as PeerCertificate } from 'node:tls';
import { ErrorCode, MeshrunError } from '../errors.js';

/** base64url SHA-256 of a certificate's DER: 43 characters. */
export function caHash(pemOrDer: string | Buffer): string {
  const der = typeof pemOrDer === 'string' ? Buffer.from(new X509Certificate(pemOrDer).raw) : pemOrDer;
  return createHash('sha256').update(der).digest('base64url');
}

/** The CA PEM the coordinator at `address` presents whose hash is `want`; refuses anything else. */
export async function fetchPinnedCa(address: string, want: string, timeoutMs = 5000): Promise<string> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new MeshrunError(ErrorCode.Usage, `coordinator address ${address}: expected host:port`);
  const [, host, port] = m;
  const chain = await new Promise<PeerCertificate>((resolve, reject) => {
    // no verification yet: nothing is trusted before the pin is checked below, and nothing is sent
    const s = connect({ host, port: Number(port), rejectUnauthorized: false, servername: /^[\d.]+$|:/.test(host!) ? undefined : host, ALPNProtocols: ['h2'] });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new MeshrunError(ErrorCode.Unreachable, `no TLS answer from ${address} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      const c = s.getPeerCertificate(true);
      s.destroy();
      resolve(c);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(new MeshrunError(ErrorCode.Unreachable, `cannot reach the coordinator at ${address}: ${err.message}`));
    });
  });
  if (!chain?.raw) throw new MeshrunError(ErrorCode.Unsafe, `${address} presented no certificate: not a meshrun coordinator with TLS`);
  const leaf = new X509Certificate(chain.raw);
  for (let c: PeerCertificate | undefined = chain.issuerCertificate, seen = 0; c?.raw && seen < 8; c = c.issuerCertificate === c ? undefined : c.issuerCertificate, seen++) {
    if (caHash(c.raw) !== want) continue;
    const ca = new X509Certificate(c.raw);
    if (!ca.ca || !leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) break;
    return ca.toString();
  }
  throw new MeshrunError(ErrorCode.Unsafe, `the coordinator at ${address} is not vouched for by the CA this join token names: refusing to send the token there (wrong address, an old token, or someone in between)`);
}
