// gRPC metadata keys meshrun sets, free of imports: the CLI's lean channel reads them without grpc-js.

/** Trailing metadata of a standby's answer: the leader's address, for the client to go there next. */
export const LEADER_METADATA = 'meshrun-leader';
