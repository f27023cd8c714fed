// The CLI's client config (like a kubeconfig): named contexts, each a coordinator address and
// the credential to reach it with (the fleet CA, the user's certificate and key, inline PEM
// or files). `meshrun init` and `meshrun user add` write one; MESHRUN_CONFIG and --context pick.
// In zod/mini, unlike the other schemas: every remote command reads this file, and the CLI's
// bundle then carries only the few validators named here, not all of classic zod (README, design notes).
import { minLength, optional, record, refine, regex, strictObject, string, type infer as Infer } from 'zod/mini';

// messages given here: zod/mini loads no locale, and its own would be "Invalid input"
const text = (what: string) => string({ error: (i) => (i.input === undefined ? `is missing (${what})` : `expected a string (${what})`) });
const pem = (what: string) => text(what).check(regex(/^-----BEGIN [A-Z ]+-----/, { message: `is not PEM (${what})` }));
const nonEmpty = (what: string) => text(what).check(minLength(1, { message: `is empty (${what})` }));

const contextFields = strictObject({
  coordinator: nonEmpty('the coordinator\'s HOST:PORT'),
  /** The user this credential belongs to (informational: the certificate decides). */
  user: optional(text('the user\'s name')),
  ca: optional(pem('the fleet CA certificate')),
  cert: optional(pem('the user\'s certificate')),
  key: optional(pem('the user\'s private key')),
  caFile: optional(nonEmpty('a file with the fleet CA certificate')),
  certFile: optional(nonEmpty('a file with the user\'s certificate')),
  keyFile: optional(nonEmpty('a file with the user\'s private key')),
}, { error: 'expected a map with coordinator, ca, cert and key' });
export type ClientContext = Infer<typeof contextFields>;

export const clientContextSchema = contextFields.check(
  refine<ClientContext>((c) => (c.ca ?? c.caFile) !== undefined, { message: 'needs ca or caFile: the fleet CA certificate' }),
  refine<ClientContext>((c) => (c.cert ?? c.certFile) !== undefined && (c.key ?? c.keyFile) !== undefined, { message: 'needs cert and key (or certFile and keyFile): the user\'s credential' }),
);

export const clientConfigSchema = strictObject({
  currentContext: nonEmpty('the name of the context to use'),
  contexts: record(string().check(regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$/, { message: 'context names are 1-63 of A-Z a-z 0-9 . _ @ -' })), clientContextSchema, { error: 'expected a map of context name -> {coordinator, ca, cert, key}' }),
}, { error: 'expected a map with currentContext and contexts' });
export type ClientConfig = Infer<typeof clientConfigSchema>;
