// An example CDK app with natkeeper in its two shapes:
//   NatKeeperVpcStack  a new VPC whose NAT is natkeeper (NatKeeperProvider)
//   NatKeeperOnVpcStack  natkeeper added to a VPC created without NAT gateways (NatKeeper)
// Synthesize: `make build && CDK_OUTDIR=cdk.out node dist/examples/cdk-app/app.js`,
// or `npx cdk synth --app "node dist/examples/cdk-app/app.js"`. See README.md here.
import { App, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
// An app outside this repo imports these from 'natkeeper/cdk'.
import { NatKeeper, NatKeeperProvider } from '../../infra/cdk/index.js';

// A fixed account and region make the availability zones concrete names, which is what
// natkeeper's zone tags and the per-zone props (fallbackNatGatewayIds, routeTables) use.
const env = { account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111', region: process.env.CDK_DEFAULT_REGION ?? 'eu-west-1' };
const zones = ['a', 'b', 'c'].map((letter) => `${env.region}${letter}`);

/** A VPC whose private subnets egress through natkeeper NAT groups, one per zone. */
class NatKeeperVpcStack extends Stack {
  readonly vpc: ec2.Vpc;
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const nat = new NatKeeperProvider({
      instanceType: new ec2.InstanceType('t4g.nano'),
      nodesPerZone: 2,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: zones,
      natGatewayProvider: nat,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
    });
    this.vpc.addFlowLog('FlowLog');
    // Like the CDK's own NAT providers: open the NAT to more than the VPC if needed.
    nat.connections.allowFrom(ec2.Peer.ipv4('10.0.0.0/8'), ec2.Port.icmpPing(), 'ping from the corporate network');
  }
}

/** natkeeper added to a VPC that has public and private subnets but no NAT of its own. */
class NatKeeperOnVpcStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: zones,
      natGateways: 0,
      ipAddresses: ec2.IpAddresses.cidr('10.1.0.0/16'),
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
    });
    vpc.addFlowLog('FlowLog');
    new NatKeeper(this, 'NatKeeper', {
      vpc,
      nodesPerZone: 2,
      spot: true,
      probeTargets: [
        { kind: 'tcp', host: '1.1.1.1', port: 443 },
        { kind: 'http', host: 'checkip.amazonaws.com', path: '/' },
        { kind: 'tcp', host: '8.8.8.8', port: 443 },
      ],
    });
  }
}

const app = new App();
new NatKeeperVpcStack(app, 'NatKeeperVpc', { env });
new NatKeeperOnVpcStack(app, 'NatKeeperOnVpc', { env });
app.synth();
