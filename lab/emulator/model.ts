// The emulated VPC's resources, as plain data. The store (store.ts) owns them;
// everything else reads snapshots and asks the store to change them.

export interface Tag {
  key: string;
  value: string;
}

export interface Vpc {
  vpcId: string;
  cidrBlock: string;
  tags: Tag[];
}

export interface Subnet {
  subnetId: string;
  vpcId: string;
  cidrBlock: string;
  availabilityZone: string;
  /** The VPC router's address in this subnet (the ".1"), the instances' gateway. */
  gatewayIp: string;
  public: boolean;
  tags: Tag[];
}

/** Where a route sends traffic. Exactly one target kind is set. */
export interface RouteTarget {
  gatewayId?: string; // "local" or an internet gateway id
  instanceId?: string;
  networkInterfaceId?: string;
  natGatewayId?: string;
}

export interface Route extends RouteTarget {
  destinationCidrBlock: string;
  origin: 'CreateRouteTable' | 'CreateRoute';
}

export interface RouteTableAssociation {
  associationId: string;
  routeTableId: string;
  subnetId?: string;
  main: boolean;
}

export interface RouteTable {
  routeTableId: string;
  vpcId: string;
  routes: Route[];
  associations: RouteTableAssociation[];
  tags: Tag[];
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** What the lab runs in an instance's namespace. Not an AWS concept. */
export type InstanceRole = 'nat' | 'app';

export interface Instance {
  instanceId: string;
  vpcId: string;
  subnetId: string;
  availabilityZone: string;
  instanceType: string;
  imageId: string;
  state: InstanceStateName;
  stateReason?: string;
  launchTime: string;
  sourceDestCheck: boolean;
  /** Spot or on-demand: Spot interruptions only make sense for spot. */
  lifecycle: 'spot' | 'on-demand';
  role: InstanceRole;
  /** Set when the instance was launched by an Auto Scaling group. */
  autoScalingGroupName?: string;
  /** Instance status check result (DescribeInstanceStatus). */
  statusCheck: 'ok' | 'impaired' | 'initializing';
  tags: Tag[];
}

export type AttachmentStatus = 'attaching' | 'attached' | 'detaching' | 'detached';

export interface NetworkInterfaceAttachment {
  attachmentId: string;
  instanceId: string;
  deviceIndex: number;
  status: AttachmentStatus;
  deleteOnTermination: boolean;
  attachTime: string;
}

export interface NetworkInterface {
  networkInterfaceId: string;
  vpcId: string;
  subnetId: string;
  availabilityZone: string;
  privateIpAddress: string;
  macAddress: string;
  description: string;
  /** "available" when unattached, "in-use" when attached (also while attaching/detaching). */
  status: 'available' | 'in-use' | 'attaching' | 'detaching';
  sourceDestCheck: boolean;
  attachment?: NetworkInterfaceAttachment;
  tags: Tag[];
}

export interface Address {
  allocationId: string;
  publicIp: string;
  associationId?: string;
  networkInterfaceId?: string;
  privateIpAddress?: string;
  tags: Tag[];
}

export type LifecycleTransition = 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING';

export interface LifecycleHook {
  lifecycleHookName: string;
  autoScalingGroupName: string;
  lifecycleTransition: LifecycleTransition;
  heartbeatTimeoutSeconds: number;
  defaultResult: 'CONTINUE' | 'ABANDON';
  globalTimeoutSeconds: number;
}

export type AsgLifecycleState =
  | 'Pending'
  | 'Pending:Wait'
  | 'Pending:Proceed'
  | 'InService'
  | 'Terminating'
  | 'Terminating:Wait'
  | 'Terminating:Proceed'
  | 'Terminated';

export interface AsgInstance {
  instanceId: string;
  availabilityZone: string;
  lifecycleState: AsgLifecycleState;
  healthStatus: 'Healthy' | 'Unhealthy';
  instanceType: string;
  protectedFromScaleIn: boolean;
  /** Set while the instance waits on a lifecycle hook. */
  pendingHook?: { hookName: string; token: string; deadline: number };
}

export interface AutoScalingGroup {
  autoScalingGroupName: string;
  autoScalingGroupARN: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  availabilityZones: string[];
  vpcZoneIdentifier: string; // comma-separated subnet ids
  healthCheckType: 'EC2' | 'ELB';
  healthCheckGracePeriod: number;
  /** Lab setting: how long after an instance goes bad the group launches a replacement. */
  replacementDelayMs: number;
  instanceType: string;
  role: InstanceRole;
  instances: AsgInstance[];
  createdTime: string;
  tags: Tag[];
}
