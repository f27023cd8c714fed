// One gRPC call made by hand, with whatever credentials a test gives (none, a foreign
// certificate, a spoofed header): what a hostile client would send.
import * as grpc from '@grpc/grpc-js';
import { MeshrunService } from '../../proto/grpc.js';

export function rawCall(address: string, creds: grpc.ChannelCredentials, method: string, req: object, md = new grpc.Metadata()): Promise<{ code: number; details: string }> {
  const client = new MeshrunService(address, creds) as unknown as grpc.Client & Record<string, (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null) => void) => void>;
  return new Promise((resolve) => {
    client[method]!.call(client, req, md, (err) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' });
    });
  });
}
