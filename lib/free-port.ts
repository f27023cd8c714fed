// A free TCP port on loopback: the preferred one when it is free, else any.
import { createServer } from 'node:net';

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export async function freePort(preferred = 0): Promise<number> {
  return preferred === 0 ? listenOnce(0) : listenOnce(preferred).catch(() => listenOnce(0));
}
