// The agent's half of job secrets: for a run it holds, it asks the coordinator on its own
// subject with a curve key made for this one request, and opens the sealed reply. The values
// live only in this process's memory and the run's environment (or its 0600 vars file).
import { createCurve } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import { secretReplySchema } from '../proto/bus.js';
import { decode } from '../proto/decode.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { secretValuesSchema, type SecretValues } from '../proto/secrets.js';
import { Subjects } from '../proto/subjects.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';

export class SecretClient {
  constructor(
    private readonly node: string,
    private readonly nc: () => NatsConnection | undefined,
    private readonly timeoutMs = 10_000,
  ) {}

  async get(token: RunToken): Promise<SecretValues> {
    const nc = this.nc();
    if (!nc) throw new MeshrunError(ErrorCode.Unreachable, 'no bus connection to fetch the run\'s secrets over');
    const box = createCurve();
    const msg = await nc.request(Subjects.secretGet(this.node), JSON.stringify({ token, box: box.getPublicKey() }), { timeout: this.timeoutMs });
    const reply = decode(secretReplySchema, msg.data);
    if (!reply.ok) throw new MeshrunError(ErrorCode.Internal, `invalid secrets reply for ${tokenKey(token)}`);
    if (!reply.value.ok) throw new MeshrunError(ErrorCode.InvalidInput, `the coordinator refused the secrets of ${tokenKey(token)}: ${reply.value.error}`);
    const opened = box.open(Buffer.from(reply.value.sealed, 'base64'), reply.value.sender);
    if (!opened) throw new MeshrunError(ErrorCode.Internal, `the secrets of ${tokenKey(token)} could not be opened`);
    const values = decode(secretValuesSchema, new TextDecoder().decode(opened));
    if (!values.ok) throw new MeshrunError(ErrorCode.Internal, `the secrets of ${tokenKey(token)} are malformed`);
    return values.value;
  }
}
