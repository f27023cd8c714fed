// The role table: every RPC of the service has a row, roles nest, unknown methods need admin.
import { describe, expect, it } from 'vitest';
import { meshrunServiceDefinition } from '../proto/grpc.js';
import { METHOD_ROLES, methodNeeds, MUTATING, ROLES, roleAllows } from '../proto/roles.js';

describe('roles', () => {
  it('names every RPC of the service, and only those', () => {
    const rpcs = Object.keys(meshrunServiceDefinition).sort();
    expect(Object.keys(METHOD_ROLES).sort()).toEqual(rpcs);
    for (const m of MUTATING) expect(rpcs, m).toContain(m);
  });

  it('roles nest: viewer < operator < admin', () => {
    const table = ROLES.map((r) => ROLES.map((need) => roleAllows(r, need)));
    expect(table).toEqual([
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ]);
    for (const r of ROLES) expect(roleAllows(r, 'anyone')).toBe(true);
  });

  it('reads need viewer, changes operator, fleet membership admin; an unknown method needs admin', () => {
    expect(methodNeeds('/meshrun.v1.Meshrun/ListJobs')).toBe('viewer');
    expect(methodNeeds('/meshrun.v1.Meshrun/Submit')).toBe('operator');
    expect(methodNeeds('/meshrun.v1.Meshrun/RemoveNode')).toBe('admin');
    expect(methodNeeds('/meshrun.v1.Meshrun/Join')).toBe('anyone');
    expect(methodNeeds('/meshrun.v1.Meshrun/SomethingNew')).toBe('admin');
    // every call beyond a viewer's is audited, except the admin's two reads
    const adminReads = new Set(['ListUsers', 'ListAudit']);
    for (const [m, need] of Object.entries(METHOD_ROLES)) if (need !== 'viewer') expect(MUTATING.has(m), m).toBe(!adminReads.has(m));
  });
});
