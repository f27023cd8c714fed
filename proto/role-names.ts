// The three roles by name, least first (roles.ts says what each may call). Import-free, so
// the CLI's help can list them without loading zod.
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
