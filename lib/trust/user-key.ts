// A user's key pair, made where the user's credential will be kept (the CLI of whoever runs
// `meshrun user add`); only the public half goes to the coordinator to be signed.
import { generateKeyPairSync } from 'node:crypto';

export function newUserKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
