import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { natkeeperPolicy, NATKEEPER_PRINCIPALS } from '../../src/iam/policy.js';
import { iamPolicyTable, STATEMENT_WHY, TABLE_END, TABLE_START, withIamPolicyTable } from '../../src/iam/policy-table.js';

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8');
const section = () => readme.slice(readme.indexOf(TABLE_START) + TABLE_START.length, readme.indexOf(TABLE_END)).trim();

describe('the README IAM policy table', () => {
  it('is the table natkeeperPolicy generates (run `make build && node scripts/iam-table.mjs` after changing the policy)', () => {
    expect(readme).toContain(TABLE_START);
    expect(section()).toBe(iamPolicyTable());
  });

  it('lists exactly the actions of the agent and Lambda policies', () => {
    const actionCells = section().split('\n').slice(2).map((row) => row.split(' | ')[1]!);
    const inTable = new Set(actionCells.flatMap((c) => [...c.matchAll(/`([a-z0-9-]+:[A-Za-z]+)`/g)].map((m) => m[1]!)));
    const inPolicies = new Set(NATKEEPER_PRINCIPALS.flatMap((principal) => natkeeperPolicy({ principal, clusterName: 'c', leaseTable: 't', fallbackNatGatewayIds: ['nat-1'] }).Statement.flatMap((s) => s.Action)));
    expect([...inTable].sort()).toEqual([...inPolicies].sort());
  });

  it('explains every statement, and marks the actions only one principal has', () => {
    const sids = NATKEEPER_PRINCIPALS.flatMap((principal) => natkeeperPolicy({ principal, clusterName: 'c', leaseTable: 't', fallbackNatGatewayIds: ['nat-1'] }).Statement.map((s) => s.Sid));
    expect(Object.keys(STATEMENT_WHY).sort()).toEqual([...new Set(sids)].sort());
    expect(iamPolicyTable()).toContain('| agent | `ec2:ModifyNetworkInterfaceAttribute` |');
    expect(iamPolicyTable()).toContain('`autoscaling:RecordLifecycleActionHeartbeat` (agent only)');
  });

  it('withIamPolicyTable replaces only the marked section and needs both markers', () => {
    const doc = `# x\n${TABLE_START}\nold\n${TABLE_END}\nafter\n`;
    const out = withIamPolicyTable(doc);
    expect(out).toBe(`# x\n${TABLE_START}\n${iamPolicyTable()}\n${TABLE_END}\nafter\n`);
    expect(withIamPolicyTable(out)).toBe(out);
    expect(() => withIamPolicyTable('# no markers')).toThrow(/no table section/);
  });
});
