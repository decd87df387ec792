// Every invalid prop or combination fails at synth time with a message naming the prop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, Lazy, type Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { afterAll, describe, expect, it } from 'vitest';
import { NatKeeper, NatKeeperProvider, natkeeperBundles, type NatKeeperProps } from '../../infra/cdk/index.js';
import { packageRoot } from '../../src/package-root.js';
import { importedVpc, removeTestOutdirs, testStack, vpcWithoutNat } from './stacks.js';

afterAll(removeTestOutdirs);

function natKeeper(props: Omit<NatKeeperProps, 'vpc'> & { vpc?: (stack: Stack) => ec2.IVpc }): () => void {
  return () => {
    const stack = testStack();
    const { vpc = (s: Stack) => importedVpc(s, 'Imported'), ...rest } = props;
    new NatKeeper(stack, 'Nat', { ...rest, vpc: vpc(stack) });
  };
}

describe('NatKeeper props validation', () => {
  const cases: [string, () => void, RegExp | string][] = [
    ['nodesPerZone 0', natKeeper({ nodesPerZone: 0 }), 'NatKeeper: nodesPerZone must be an integer from 1 to 10, got 0'],
    ['nodesPerZone 11', natKeeper({ nodesPerZone: 11 }), 'NatKeeper: nodesPerZone must be an integer from 1 to 10, got 11'],
    ['nodesPerZone 1.5', natKeeper({ nodesPerZone: 1.5 }), 'NatKeeper: nodesPerZone must be an integer from 1 to 10, got 1.5'],
    ['nodesPerZone NaN', natKeeper({ nodesPerZone: NaN }), 'NatKeeper: nodesPerZone must be an integer from 1 to 10, got NaN'],
    ['an empty clusterName', natKeeper({ clusterName: '' }), 'NatKeeper: clusterName must be 1-128 of A-Z a-z 0-9 _ . - (a literal: it names the lease and tags every resource), got ""'],
    ['a clusterName of 129 characters', natKeeper({ clusterName: 'x'.repeat(129) }), /^NatKeeper: clusterName must be 1-128 of/],
    ['a clusterName token', natKeeper({ clusterName: Lazy.string({ produce: () => 'prod' }) }), /^NatKeeper: clusterName must be 1-128 of A-Z a-z 0-9 _ \. - \(a literal/],
    ['a failbackAfter token', natKeeper({ failbackAfter: Duration.seconds(Lazy.number({ produce: () => 5 })) }), 'NatKeeper: failbackAfter must be a literal duration, not a token'],
    ['no probe targets', natKeeper({ probeTargets: [] }), 'NatKeeper: probeTargets: expected at least one probe target'],
    [
      'a probe target host with a scheme',
      natKeeper({ probeTargets: [{ kind: 'http', host: 'https://example.com' }] }),
      'NatKeeper: probeTargets[0].host: expected a host name or IP address (no scheme, port or path)',
    ],
    ['spot with one node per zone', natKeeper({ spot: true, nodesPerZone: 1 }), /^NatKeeper: spot needs nodesPerZone of at least 2 .*got nodesPerZone 1$/],
    ['clusterName with a space', natKeeper({ clusterName: 'prod egress' }), 'NatKeeper: clusterName must be 1-128 of A-Z a-z 0-9 _ . -'],
    ['failbackAfter of two days', natKeeper({ failbackAfter: Duration.days(2) }), 'NatKeeper: failbackAfter: expected at most 86400000 ms (got 172800000 ms)'],
    [
      'malformed fallback NAT Gateway id',
      natKeeper({ fallbackNatGatewayIds: { 'eu-west-1a': 'nat-xyz' } }),
      'NatKeeper: fallbackNatGatewayIds.eu-west-1a: expected a NAT Gateway id like nat-0123456789abcdef0',
    ],
    [
      'fallback NAT Gateway for a zone not served',
      natKeeper({ zones: ['eu-west-1a'], fallbackNatGatewayIds: { 'eu-west-1b': 'nat-0123456789abcdef0' } }),
      'NatKeeper: fallbackNatGatewayIds has zone "eu-west-1b", which is not a served zone (eu-west-1a)',
    ],
    [
      'duplicate probe target names',
      natKeeper({ probeTargets: [{ kind: 'tcp', host: '1.1.1.1', port: 443 }, { kind: 'tcp', host: '1.1.1.1', port: 443 }] }),
      'NatKeeper: probeTargets[1].name: expected a unique name, "tcp:1.1.1.1:443" is also targets[0]',
    ],
    ['probe target without a port', natKeeper({ probeTargets: [{ kind: 'tcp', host: '1.1.1.1' } as never] }), /^NatKeeper: probeTargets\[0\]\.port: expected a port number/],
    ['a zone the VPC lacks', natKeeper({ zones: ['eu-west-1a', 'eu-west-1z'] }), 'NatKeeper: zones has "eu-west-1z", which is not an availability zone of the vpc (eu-west-1a, eu-west-1b)'],
    ['no zones', natKeeper({ zones: [] }), 'NatKeeper: zones must name at least one availability zone'],
    ['a zone twice', natKeeper({ zones: ['eu-west-1a', 'eu-west-1a'] }), 'NatKeeper: zones lists "eu-west-1a" twice'],
    [
      'a zone without a public subnet',
      natKeeper({ vpc: (s) => importedVpc(s, 'Imported', { private: true }), zones: ['eu-west-1a'] }),
      'NatKeeper: zones has "eu-west-1a", where the vpc has no public subnet for the NAT nodes',
    ],
    [
      'a zone without a private subnet or route tables',
      natKeeper({ vpc: (s) => importedVpc(s, 'Imported', { public: true }), zones: ['eu-west-1a'] }),
      'NatKeeper: zones has "eu-west-1a", where the vpc has no private-with-egress subnet: add one, or pass routeTables for it',
    ],
    [
      'a VPC with no zone to serve',
      natKeeper({ vpc: (s) => importedVpc(s, 'Imported', { public: true }) }),
      'NatKeeper: vpc has no availability zone with both a public and a private-with-egress subnet: pass zones and routeTables',
    ],
    [
      'route tables for a zone not served',
      natKeeper({ zones: ['eu-west-1a'], routeTables: { 'eu-west-1b': ['rtb-0ccccccccccccccc2'] } }),
      'NatKeeper: routeTables has zone "eu-west-1b", which is not a served zone (eu-west-1a)',
    ],
    ['a malformed route table id', natKeeper({ routeTables: { 'eu-west-1a': ['rt-123'] } }), 'NatKeeper: routeTables["eu-west-1a"] has "rt-123": expected a route table id like rtb-0123456789abcdef0'],
    ['an empty route table list', natKeeper({ routeTables: { 'eu-west-1a': [] } }), 'NatKeeper: routeTables["eu-west-1a"] must list at least one route table id'],
    [
      'one route table in two zones',
      natKeeper({ routeTables: { 'eu-west-1a': ['rtb-0ddddddddddddddd9'], 'eu-west-1b': ['rtb-0ddddddddddddddd9'] } }),
      'NatKeeper: routeTables: route table rtb-0ddddddddddddddd9 is in both eu-west-1a and eu-west-1b',
    ],
    [
      'a VPC with NAT gateways',
      natKeeper({ vpc: (s) => new ec2.Vpc(s, 'WithNat', { maxAzs: 2, natGateways: 1 }) }),
      /^NatKeeper: vpc has NAT gateways: the private subnet .* already has a default route\. Create the vpc with natGateways: 0, or pass routeTables/,
    ],
    [
      'a VPC that already uses NatKeeperProvider',
      natKeeper({ vpc: (s) => new ec2.Vpc(s, 'Provided', { maxAzs: 1, natGatewayProvider: new NatKeeperProvider() }) }),
      'NatKeeper: vpc already egresses through a NatKeeperProvider (natGatewayProvider): use the provider alone, not NatKeeper as well',
    ],
  ];

  it.each(cases)('rejects %s', (_what, build, message) => {
    expect(build).toThrow(message);
  });

  it('rejects a second NatKeeper on the same VPC, naming the first', () => {
    const stack = testStack();
    const vpc = vpcWithoutNat(stack);
    new NatKeeper(stack, 'First', { vpc, zones: ['eu-west-1a'] });
    expect(() => new NatKeeper(stack, 'Second', { vpc, zones: ['eu-west-1b'] })).toThrow(
      'NatKeeper: vpc is already served by the NatKeeper at Test/First: use one NatKeeper per VPC, with every zone to serve in its zones',
    );
  });

  it('names a NAT-routed table given in routeTables', () => {
    const stack = testStack();
    const vpc = new ec2.Vpc(stack, 'WithNat', { maxAzs: 1, natGateways: 1 });
    const routed = vpc.privateSubnets[0]!.routeTable.routeTableId;
    expect(() => new NatKeeper(stack, 'Nat', { vpc, routeTables: { [vpc.availabilityZones[0]!]: [routed] } })).toThrow(
      /^NatKeeper: routeTables\["eu-west-1a"\] has .*, the route table of a private subnet that already has a default route/,
    );
  });

  it('accepts a VPC of the app without NAT gateways and explicit route tables of an imported one', () => {
    const importing = testStack();
    const one = new NatKeeper(importing, 'Nat', { vpc: importedVpc(importing, 'Imported'), routeTables: { 'eu-west-1a': ['rtb-0ddddddddddddddd9'] } });
    expect(one.zones).toEqual(['eu-west-1a', 'eu-west-1b']);
    const stack = testStack();
    expect(new NatKeeper(stack, 'Nat', { vpc: vpcWithoutNat(stack), zones: ['eu-west-1b'] }).zones).toEqual(['eu-west-1b']);
  });
});

describe('NatKeeperProvider props validation', () => {
  it('rejects bad options when constructed, naming the provider', () => {
    expect(() => new NatKeeperProvider({ nodesPerZone: 0 })).toThrow('NatKeeperProvider: nodesPerZone must be an integer from 1 to 10, got 0');
    expect(() => new NatKeeperProvider({ spot: true, nodesPerZone: 1 })).toThrow(/^NatKeeperProvider: spot needs nodesPerZone of at least 2/);
    expect(() => new NatKeeperProvider({ failbackAfter: Duration.days(2) })).toThrow('NatKeeperProvider: failbackAfter: expected at most 86400000 ms');
  });

  it('rejects fallback NAT Gateways for zones the VPC gives it no NAT subnet in', () => {
    const stack = testStack();
    const provider = new NatKeeperProvider({ fallbackNatGatewayIds: { 'eu-west-1c': 'nat-0123456789abcdef0' } });
    expect(() => new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGatewayProvider: provider })).toThrow(
      'NatKeeperProvider: fallbackNatGatewayIds has zone "eu-west-1c", which is not a served zone (eu-west-1a, eu-west-1b)',
    );
  });
});

describe('bundles', () => {
  it('finds the package root and the built bundles from the construct\'s own directory', () => {
    const root = packageRoot();
    expect(natkeeperBundles(root).agentUnitFile).toBe(join(root, 'packaging', 'natkeeper-agent.service'));
  });

  it('says to run make build when a bundle is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'natkeeper-nobuild-'));
    try {
      expect(() => natkeeperBundles(empty)).toThrow(`natkeeper/cdk: ${join(empty, 'dist', 'bundle', 'lambda', 'index.mjs')} is missing: run make build`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
