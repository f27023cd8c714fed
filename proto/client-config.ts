// The CLI's client config (like a kubeconfig): named contexts, each a coordinator address and
// the credential to reach it with (the fleet CA, the user's certificate and key, inline PEM
// or files). `meshrun init` and `meshrun user add` write one; MESHRUN_CONFIG and --context pick.
import { z } from 'zod';

const pem = (what: string) => z.string().regex(/^-----BEGIN [A-Z ]+-----/, { message: `is not PEM (${what})` });

export const clientContextSchema = z
  .strictObject({
    coordinator: z.string().min(1),
    /** The user this credential belongs to (informational: the certificate decides). */
    user: z.string().optional(),
    ca: pem('the fleet CA certificate').optional(),
    cert: pem('the user\'s certificate').optional(),
    key: pem('the user\'s private key').optional(),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  })
  .refine((c) => (c.ca ?? c.caFile) !== undefined, { message: 'needs ca or caFile: the fleet CA certificate' })
  .refine((c) => (c.cert ?? c.certFile) !== undefined && (c.key ?? c.keyFile) !== undefined, { message: 'needs cert and key (or certFile and keyFile): the user\'s credential' });
export type ClientContext = z.infer<typeof clientContextSchema>;

export const clientConfigSchema = z.strictObject({
  currentContext: z.string().min(1),
  contexts: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$/, { message: 'context names are 1-63 of A-Z a-z 0-9 . _ @ -' }), clientContextSchema),
});
export type ClientConfig = z.infer<typeof clientConfigSchema>;
