// A standby's gRPC door. It serves nothing - the leader alone holds the state and acts - but a
// client that dials it learns at once that this coordinator does not lead, and where the leader
// is, instead of a refused connection or a silent one: every call ends UNAVAILABLE (so a client
// with several addresses goes on to the next at once) with a message naming the leader. Only a
// caller whose certificate this fleet's CA signed is told the leader's address.
import * as grpc from '@grpc/grpc-js';
import { LEADER_METADATA, meshrunServiceDefinition } from '../proto/grpc.js';
import type { Logger } from '../lib/log.js';
import { serverCredentials, type GrpcTls } from './grpc-server.js';
import type { LeaderRecord } from './leadership.js';

export interface StandbyServerOptions {
  listen: string;
  tls: GrpcTls | undefined;
  /** The coordinator holding the lease, as this standby last read it; undefined before the first read. */
  leader: () => LeaderRecord | undefined;
  /** This coordinator has taken the lead and is still starting (loading its state). */
  takingOver: () => boolean;
  log: Logger;
}

/** What a standby answers: who leads, for a caller the fleet's CA vouches for. */
export function standbyAnswer(o: { leader: LeaderRecord | undefined; takingOver: boolean; vouched: boolean }): string {
  if (o.takingOver) return 'this coordinator has just taken the lead and is starting: try again in a moment';
  if (!o.vouched) return 'this coordinator is a standby (present a client certificate of this fleet to learn where the leader is)';
  if (!o.leader) return 'this coordinator is a standby and has not read the leader lease yet: try another coordinator address';
  const where = o.leader.address ? `${o.leader.address} on ${o.leader.host}` : o.leader.host;
  return `this coordinator is a standby; the leader listens at ${where} (give clients every coordinator's address: --coordinator a:7433,b:7433)`;
}

/** How long a connection to a standby's door lasts before the standby closes it (GOAWAY). */
export const STANDBY_CONNECTION_AGE_MS = 2000;

export async function startStandbyServer(o: StandbyServerOptions): Promise<{ server: grpc.Server; port: number }> {
  const gate: grpc.ServerInterceptor = (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: () => {
            const vouched = call.getAuthContext()?.sslPeerCertificate !== undefined || !o.tls;
            const leader = o.leader();
            const metadata = new grpc.Metadata();
            // for the client to go there next, among the addresses it was given
            if (vouched && leader?.address && !o.takingOver()) metadata.set(LEADER_METADATA, leader.address);
            call.sendStatus({ code: grpc.status.UNAVAILABLE, details: standbyAnswer({ leader, takingOver: o.takingOver(), vouched }), metadata });
          },
        });
      },
    });
  // Every connection to the standby door is closed after a short age, so a client moves on to
  // the serving coordinator by itself: a TLS handshake still under way when the door shuts
  // (forceShutdown) ends in a session grpc-js serves anyway, on a server no longer listening, and
  // without an age that session answered "starting" for as long as the client kept it open
  // (CI: a minute, after the coordinator had served for 59 s on a new connection).
  const server = new grpc.Server({
    interceptors: [gate],
    'grpc.max_connection_age_ms': STANDBY_CONNECTION_AGE_MS,
    'grpc.max_connection_age_grace_ms': 500,
  });
  // the gate answers every call before a handler could run
  const never = Object.fromEntries(Object.keys(meshrunServiceDefinition).map((name) => [name, () => undefined]));
  server.addService(meshrunServiceDefinition, never as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(o.listen, serverCredentials(o.tls), (err, p) => (err ? reject(err) : resolve(p))));
  o.log.info('standby listening: every call is told where the leader is', { listen: o.listen, port });
  return { server, port };
}
