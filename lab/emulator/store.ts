// The emulated VPC's state and every change to it. API handlers, the Auto
// Scaling controller and chaos verbs all change state through these methods, so
// AWS's rules (error codes, state transitions, blackhole routes) live in one place.
// Every change is announced as a LabChange; the data plane and the event bus
// subscribe to those.

import { EventEmitter } from 'node:events';
import type { Clock } from './clock.js';
import { ApiError, invalidParameter, notFound } from './errors.js';
import { IdGenerator } from './ids.js';
import type {
  Address,
  AutoScalingGroup,
  Instance,
  InstanceRole,
  InstanceStateName,
  LifecycleHook,
  NetworkInterface,
  Route,
  RouteTable,
  RouteTarget,
  Subnet,
  Tag,
  Vpc,
} from './model.js';

export type LabChange =
  | { kind: 'route-table'; routeTableId: string }
  | { kind: 'instance-launched'; instanceId: string }
  | { kind: 'instance-state'; instanceId: string; from: InstanceStateName; to: InstanceStateName }
  | { kind: 'eni-created'; networkInterfaceId: string }
  | { kind: 'eni-deleted'; networkInterfaceId: string; eni: NetworkInterface }
  | { kind: 'eni-attachment'; networkInterfaceId: string; instanceId: string; status: 'attaching' | 'attached' | 'detaching' | 'detached' }
  | { kind: 'source-dest-check'; networkInterfaceId: string; enabled: boolean }
  | { kind: 'address'; allocationId: string; publicIp: string; before?: string; after?: string }
  | { kind: 'asg'; autoScalingGroupName: string };

/** How long AWS takes to make things true after the API call returns (lab assumptions). */
export interface EffectTimings {
  /** ENI attach: attaching → attached. AWS publishes no figure; 2 s is an assumption. */
  eniAttachMs: number;
  /** ENI detach: detaching → available. */
  eniDetachMs: number;
  /** pending → running. */
  instanceStartMs: number;
  /** stopping → stopped. */
  instanceStopMs: number;
  /** shutting-down → terminated. */
  instanceTerminateMs: number;
}

export const DEFAULT_EFFECT_TIMINGS: EffectTimings = {
  eniAttachMs: 2000,
  eniDetachMs: 1000,
  instanceStartMs: 1000,
  instanceStopMs: 1000,
  instanceTerminateMs: 1000,
};

export interface StoreOptions {
  clock: Clock;
  ids?: IdGenerator;
  region?: string;
  accountId?: string;
  timings?: Partial<EffectTimings>;
  /** Describe calls show a resource as it was this long ago after it changed (eventual consistency). */
  consistencyDelayMs?: number;
}

export interface LaunchSpec {
  subnetId: string;
  role: InstanceRole;
  instanceType?: string;
  lifecycle?: 'spot' | 'on-demand';
  sourceDestCheck?: boolean;
  autoScalingGroupName?: string;
  tags?: Tag[];
  /** Start in 'running' at once (used when building the initial topology). */
  immediate?: boolean;
}

/** Keeps the previous version of each record for the consistency-delay view. */
class Versioned<T> {
  readonly current = new Map<string, T>();
  private readonly previous = new Map<string, { value: T | undefined; changedAt: number }>();
  constructor(
    private readonly clock: Clock,
    private readonly delayMs: () => number,
  ) {}
  get(id: string): T | undefined {
    return this.current.get(id);
  }
  set(id: string, value: T): void {
    this.remember(id);
    this.current.set(id, value);
  }
  delete(id: string): void {
    this.remember(id);
    this.current.delete(id);
  }
  private remember(id: string): void {
    if (this.delayMs() <= 0) return;
    const now = this.clock.now();
    const prev = this.previous.get(id);
    // Keep the oldest version still inside the window: what a stale replica shows.
    if (prev && now - prev.changedAt < this.delayMs()) return;
    this.previous.set(id, { value: this.current.get(id), changedAt: now });
  }
  values(): T[] {
    return [...this.current.values()];
  }
  /** What a Describe call sees now: recent changes not yet visible. */
  visible(): T[] {
    const delay = this.delayMs();
    if (delay <= 0) return this.values();
    const now = this.clock.now();
    const out: T[] = [];
    const ids = new Set([...this.current.keys(), ...this.previous.keys()]);
    for (const id of ids) {
      const prev = this.previous.get(id);
      if (prev && now - prev.changedAt < delay) {
        if (prev.value !== undefined) out.push(prev.value);
      } else {
        if (prev) this.previous.delete(id);
        const cur = this.current.get(id);
        if (cur !== undefined) out.push(cur);
      }
    }
    return out;
  }
}

const clone = <T>(v: T): T => structuredClone(v);

export class LabStore {
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly region: string;
  readonly accountId: string;
  readonly timings: EffectTimings;
  consistencyDelayMs: number;
  private readonly emitter = new EventEmitter();

  readonly vpcs: Versioned<Vpc>;
  readonly subnets: Versioned<Subnet>;
  readonly routeTables: Versioned<RouteTable>;
  readonly instances: Versioned<Instance>;
  readonly networkInterfaces: Versioned<NetworkInterface>;
  readonly addresses: Versioned<Address>;
  readonly autoScalingGroups = new Map<string, AutoScalingGroup>();
  readonly lifecycleHooks = new Map<string, LifecycleHook[]>();
  /** Next free host number per subnet, for private IPs. */
  private readonly nextHost = new Map<string, number>();
  private readonly pendingTimers = new Set<unknown>();

  constructor(opts: StoreOptions) {
    this.clock = opts.clock;
    this.ids = opts.ids ?? new IdGenerator(1);
    this.region = opts.region ?? 'us-east-1';
    this.accountId = opts.accountId ?? '123456789012';
    this.timings = { ...DEFAULT_EFFECT_TIMINGS, ...opts.timings };
    this.consistencyDelayMs = opts.consistencyDelayMs ?? 0;
    const delay = () => this.consistencyDelayMs;
    this.vpcs = new Versioned(this.clock, delay);
    this.subnets = new Versioned(this.clock, delay);
    this.routeTables = new Versioned(this.clock, delay);
    this.instances = new Versioned(this.clock, delay);
    this.networkInterfaces = new Versioned(this.clock, delay);
    this.addresses = new Versioned(this.clock, delay);
  }

  // ---- change notification -------------------------------------------------

  onChange(listener: (change: LabChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  private emit(change: LabChange): void {
    this.emitter.emit('change', change);
  }

  /** Runs fn after ms of lab time; cancelled by dispose() or by calling the returned function. */
  schedule(ms: number, fn: () => void): () => void {
    const handle = this.clock.setTimeout(() => {
      this.pendingTimers.delete(handle);
      fn();
    }, ms);
    this.pendingTimers.add(handle);
    return () => {
      if (!this.pendingTimers.delete(handle)) return;
      this.clock.clearTimeout(handle);
    };
  }

  dispose(): void {
    for (const h of this.pendingTimers) this.clock.clearTimeout(h);
    this.pendingTimers.clear();
    this.emitter.removeAllListeners();
  }

  // ---- lookups (throw AWS's NotFound codes) --------------------------------

  vpc(id: string): Vpc {
    const v = this.vpcs.get(id);
    if (!v) throw notFound('InvalidVpcID.NotFound', 'vpc', id);
    return v;
  }
  subnet(id: string): Subnet {
    const s = this.subnets.get(id);
    if (!s) throw notFound('InvalidSubnetID.NotFound', 'subnet', id);
    return s;
  }
  routeTable(id: string): RouteTable {
    const r = this.routeTables.get(id);
    if (!r) throw notFound('InvalidRouteTableID.NotFound', 'routeTable', id);
    return r;
  }
  instance(id: string): Instance {
    const i = this.instances.get(id);
    if (!i) throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return i;
  }
  networkInterface(id: string): NetworkInterface {
    const e = this.networkInterfaces.get(id);
    if (!e) throw new ApiError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
    return e;
  }
  address(allocationId: string): Address {
    const a = this.addresses.get(allocationId);
    if (!a) throw new ApiError('InvalidAllocationID.NotFound', `The allocation ID '${allocationId}' does not exist`);
    return a;
  }
  addressByPublicIp(ip: string): Address {
    const a = this.addresses.values().find((x) => x.publicIp === ip);
    if (!a) throw new ApiError('InvalidAddress.NotFound', `Address '${ip}' not found.`);
    return a;
  }

  /** ENIs attached (in any attachment status but detached) to an instance, by device index. */
  interfacesOf(instanceId: string): NetworkInterface[] {
    return this.networkInterfaces
      .values()
      .filter((e) => e.attachment?.instanceId === instanceId && e.attachment.status !== 'detached')
      .sort((a, b) => a.attachment!.deviceIndex - b.attachment!.deviceIndex);
  }

  primaryInterface(instanceId: string): NetworkInterface | undefined {
    return this.interfacesOf(instanceId).find((e) => e.attachment!.deviceIndex === 0);
  }

  // ---- building (used by the topology builder) -----------------------------

  addVpc(cidrBlock: string, tags: Tag[] = []): Vpc {
    const vpc: Vpc = { vpcId: this.ids.id('vpc'), cidrBlock, tags };
    this.vpcs.set(vpc.vpcId, vpc);
    return clone(vpc);
  }

  addSubnet(vpcId: string, cidrBlock: string, availabilityZone: string, isPublic: boolean, tags: Tag[] = []): Subnet {
    this.vpc(vpcId);
    const base = cidrBlock.split('/')[0]!.split('.').map(Number);
    const subnet: Subnet = {
      subnetId: this.ids.id('subnet'),
      vpcId,
      cidrBlock,
      availabilityZone,
      gatewayIp: `${base[0]}.${base[1]}.${base[2]}.${base[3]! + 1}`,
      public: isPublic,
      tags,
    };
    this.subnets.set(subnet.subnetId, subnet);
    // AWS reserves .0 to .3; the lab hands out from .10 so addresses read well.
    this.nextHost.set(subnet.subnetId, 10);
    return clone(subnet);
  }

  addRouteTable(vpcId: string, tags: Tag[] = [], main = false): RouteTable {
    const vpc = this.vpc(vpcId);
    const rt: RouteTable = {
      routeTableId: this.ids.id('rtb'),
      vpcId,
      routes: [{ destinationCidrBlock: vpc.cidrBlock, gatewayId: 'local', origin: 'CreateRouteTable' }],
      associations: main ? [{ associationId: this.ids.id('rtbassoc'), routeTableId: '', main: true }] : [],
      tags,
    };
    for (const a of rt.associations) a.routeTableId = rt.routeTableId;
    this.routeTables.set(rt.routeTableId, rt);
    this.emit({ kind: 'route-table', routeTableId: rt.routeTableId });
    return clone(rt);
  }

  allocatePrivateIp(subnetId: string): string {
    const subnet = this.subnet(subnetId);
    const host = this.nextHost.get(subnetId) ?? 10;
    const [addr, bits] = subnet.cidrBlock.split('/');
    const size = 2 ** (32 - Number(bits));
    if (host >= size - 1) throw new ApiError('InsufficientFreeAddressesInSubnet', `Subnet '${subnetId}' has no free addresses`);
    this.nextHost.set(subnetId, host + 1);
    const n = addr!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) + host;
    return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  }

  createNetworkInterface(subnetId: string, description = '', tags: Tag[] = []): NetworkInterface {
    const subnet = this.subnet(subnetId);
    const eni: NetworkInterface = {
      networkInterfaceId: this.ids.id('eni'),
      vpcId: subnet.vpcId,
      subnetId,
      availabilityZone: subnet.availabilityZone,
      privateIpAddress: this.allocatePrivateIp(subnetId),
      macAddress: this.ids.mac(),
      description,
      status: 'available',
      sourceDestCheck: true,
      tags,
    };
    this.networkInterfaces.set(eni.networkInterfaceId, eni);
    this.emit({ kind: 'eni-created', networkInterfaceId: eni.networkInterfaceId });
    return clone(eni);
  }

  allocateAddress(publicIp: string, tags: Tag[] = []): Address {
    const addr: Address = { allocationId: this.ids.id('eipalloc'), publicIp, tags };
    this.addresses.set(addr.allocationId, addr);
    return clone(addr);
  }

  /** ReleaseAddress: only an unassociated address can go. */
  releaseAddress(allocationId: string): void {
    const addr = this.address(allocationId);
    if (addr.associationId) throw new ApiError('InvalidIPAddress.InUse', `Address ${addr.publicIp} is in use.`);
    this.addresses.delete(allocationId);
  }

  // ---- instances ------------------------------------------------------------

  launchInstance(spec: LaunchSpec): Instance {
    const subnet = this.subnet(spec.subnetId);
    const inst: Instance = {
      instanceId: this.ids.id('i'),
      vpcId: subnet.vpcId,
      subnetId: subnet.subnetId,
      availabilityZone: subnet.availabilityZone,
      instanceType: spec.instanceType ?? 't4g.nano',
      imageId: 'ami-0natkeeperlab0001',
      state: spec.immediate ? 'running' : 'pending',
      launchTime: new Date(this.clock.now()).toISOString(),
      sourceDestCheck: spec.sourceDestCheck ?? true,
      lifecycle: spec.lifecycle ?? 'on-demand',
      role: spec.role,
      statusCheck: spec.immediate ? 'ok' : 'initializing',
      tags: spec.tags ?? [],
      ...(spec.autoScalingGroupName ? { autoScalingGroupName: spec.autoScalingGroupName } : {}),
    };
    this.instances.set(inst.instanceId, inst);
    const eni = this.createNetworkInterface(subnet.subnetId, 'Primary network interface');
    this.updateEni(eni.networkInterfaceId, (e) => {
      e.status = 'in-use';
      e.sourceDestCheck = inst.sourceDestCheck;
      e.attachment = {
        attachmentId: this.ids.id('eni-attach'),
        instanceId: inst.instanceId,
        deviceIndex: 0,
        status: 'attached',
        deleteOnTermination: true,
        attachTime: inst.launchTime,
      };
    });
    this.emit({ kind: 'instance-launched', instanceId: inst.instanceId });
    if (!spec.immediate) {
      this.schedule(this.timings.instanceStartMs, () => {
        if (this.instances.get(inst.instanceId)?.state === 'pending') this.setInstanceState(inst.instanceId, 'running');
      });
    }
    return clone(inst);
  }

  private updateInstance(id: string, fn: (i: Instance) => void): Instance {
    const inst = clone(this.instance(id));
    fn(inst);
    this.instances.set(id, inst);
    return inst;
  }

  private updateEni(id: string, fn: (e: NetworkInterface) => void): NetworkInterface {
    const eni = clone(this.networkInterface(id));
    fn(eni);
    this.networkInterfaces.set(id, eni);
    return eni;
  }

  /** Moves an instance to a new state, announcing it and the routes whose state it changes. */
  setInstanceState(id: string, to: InstanceStateName, reason?: string): void {
    const before = this.instance(id);
    if (before.state === to) return;
    const from = before.state;
    this.updateInstance(id, (i) => {
      i.state = to;
      if (reason) i.stateReason = reason;
      if (to === 'running') i.statusCheck = 'ok';
      if (to !== 'running' && to !== 'pending') i.statusCheck = 'initializing';
    });
    // A terminated instance's interfaces are gone or detached by the time anyone hears of it.
    if (to === 'terminated') this.releaseInterfacesOf(id);
    this.emit({ kind: 'instance-state', instanceId: id, from, to });
    this.touchRoutesOf(id);
  }

  startInstance(id: string): { from: InstanceStateName; to: InstanceStateName } {
    const inst = this.instance(id);
    if (inst.state === 'running' || inst.state === 'pending') return { from: inst.state, to: inst.state };
    if (inst.state !== 'stopped')
      throw new ApiError('IncorrectInstanceState', `The instance '${id}' is not in a state from which it can be started.`);
    this.setInstanceState(id, 'pending');
    this.schedule(this.timings.instanceStartMs, () => {
      if (this.instances.get(id)?.state === 'pending') this.setInstanceState(id, 'running');
    });
    return { from: 'stopped', to: 'pending' };
  }

  stopInstance(id: string, reason?: string): { from: InstanceStateName; to: InstanceStateName } {
    const inst = this.instance(id);
    if (inst.state === 'stopped' || inst.state === 'stopping') return { from: inst.state, to: inst.state };
    if (inst.state !== 'running' && inst.state !== 'pending')
      throw new ApiError('IncorrectInstanceState', `The instance '${id}' is not in a state from which it can be stopped.`);
    const from = inst.state;
    this.setInstanceState(id, 'stopping', reason);
    this.schedule(this.timings.instanceStopMs, () => {
      if (this.instances.get(id)?.state === 'stopping') this.setInstanceState(id, 'stopped', reason);
    });
    return { from, to: 'stopping' };
  }

  terminateInstance(id: string, reason?: string): { from: InstanceStateName; to: InstanceStateName } {
    const inst = this.instance(id);
    if (inst.state === 'terminated' || inst.state === 'shutting-down') return { from: inst.state, to: inst.state };
    const from = inst.state;
    this.setInstanceState(id, 'shutting-down', reason);
    this.schedule(this.timings.instanceTerminateMs, () => {
      if (this.instances.get(id)?.state === 'shutting-down') this.setInstanceState(id, 'terminated', reason);
    });
    return { from, to: 'shutting-down' };
  }

  setSourceDestCheck(instanceOrEniId: string, enabled: boolean): void {
    const enis = instanceOrEniId.startsWith('i-')
      ? [this.primaryInterface(this.instance(instanceOrEniId).instanceId)].filter((e) => e !== undefined)
      : [this.networkInterface(instanceOrEniId)];
    if (instanceOrEniId.startsWith('i-')) this.updateInstance(instanceOrEniId, (i) => (i.sourceDestCheck = enabled));
    for (const eni of enis) {
      this.updateEni(eni.networkInterfaceId, (e) => (e.sourceDestCheck = enabled));
      this.emit({ kind: 'source-dest-check', networkInterfaceId: eni.networkInterfaceId, enabled });
    }
  }

  setStatusCheck(id: string, status: Instance['statusCheck']): void {
    this.updateInstance(id, (i) => (i.statusCheck = status));
  }

  /** At termination: delete-on-termination ENIs go (with their EIP association), the rest detach. */
  private releaseInterfacesOf(instanceId: string): void {
    for (const eni of this.interfacesOf(instanceId)) {
      if (eni.attachment!.deleteOnTermination) {
        this.disassociateAddressesOf(eni.networkInterfaceId);
        this.networkInterfaces.delete(eni.networkInterfaceId);
        this.emit({ kind: 'eni-deleted', networkInterfaceId: eni.networkInterfaceId, eni });
      } else {
        this.updateEni(eni.networkInterfaceId, (e) => {
          e.status = 'available';
          delete e.attachment;
        });
        this.emit({ kind: 'eni-attachment', networkInterfaceId: eni.networkInterfaceId, instanceId, status: 'detached' });
      }
    }
  }

  // ---- network interfaces --------------------------------------------------

  attachNetworkInterface(eniId: string, instanceId: string, deviceIndex: number): string {
    const eni = this.networkInterface(eniId);
    const inst = this.instance(instanceId);
    if (eni.attachment)
      throw new ApiError('InvalidNetworkInterface.InUse', `Interface: [${eniId}] in use.`);
    if (inst.state !== 'running' && inst.state !== 'stopped')
      throw new ApiError('IncorrectInstanceState', `The instance '${instanceId}' is not in a valid state for this operation.`);
    if (eni.availabilityZone !== inst.availabilityZone)
      throw invalidParameter(`Network interface '${eniId}' and instance '${instanceId}' are in different availability zones.`);
    if (this.interfacesOf(instanceId).some((e) => e.attachment!.deviceIndex === deviceIndex))
      throw new ApiError('InvalidParameterValue', `Instance '${instanceId}' already has an interface attached at device index '${deviceIndex}'.`);
    const attachmentId = this.ids.id('eni-attach');
    this.updateEni(eniId, (e) => {
      e.status = 'in-use';
      e.attachment = {
        attachmentId,
        instanceId,
        deviceIndex,
        status: 'attaching',
        deleteOnTermination: false,
        attachTime: new Date(this.clock.now()).toISOString(),
      };
    });
    this.emit({ kind: 'eni-attachment', networkInterfaceId: eniId, instanceId, status: 'attaching' });
    this.schedule(this.timings.eniAttachMs, () => {
      const cur = this.networkInterfaces.get(eniId);
      if (cur?.attachment?.attachmentId !== attachmentId || cur.attachment.status !== 'attaching') return;
      this.updateEni(eniId, (e) => (e.attachment!.status = 'attached'));
      this.emit({ kind: 'eni-attachment', networkInterfaceId: eniId, instanceId, status: 'attached' });
      this.touchRoutesOfEni(eniId);
    });
    return attachmentId;
  }

  /** Completes an attach at once (initial topology: the ENI was attached before the lab started). */
  forceAttachedNow(eniId: string): void {
    const eni = this.networkInterface(eniId);
    if (eni.attachment?.status !== 'attaching') return;
    this.updateEni(eniId, (e) => (e.attachment!.status = 'attached'));
    this.emit({ kind: 'eni-attachment', networkInterfaceId: eniId, instanceId: eni.attachment.instanceId, status: 'attached' });
    this.touchRoutesOfEni(eniId);
  }

  detachNetworkInterface(attachmentId: string, force = false): void {
    const eni = this.networkInterfaces.values().find((e) => e.attachment?.attachmentId === attachmentId);
    if (!eni) throw new ApiError('InvalidAttachmentID.NotFound', `The attachment ID '${attachmentId}' does not exist`);
    const att = eni.attachment!;
    if (att.deviceIndex === 0)
      throw new ApiError('OperationNotPermitted', `The network interface at device index 0 cannot be detached.`);
    if (att.status === 'detaching' && !force) return;
    const instanceId = att.instanceId;
    this.updateEni(eni.networkInterfaceId, (e) => (e.attachment!.status = 'detaching'));
    this.emit({ kind: 'eni-attachment', networkInterfaceId: eni.networkInterfaceId, instanceId, status: 'detaching' });
    this.touchRoutesOfEni(eni.networkInterfaceId);
    // A forced detach takes effect at once: it is what operators use on a dead instance.
    const finish = () => {
      const cur = this.networkInterfaces.get(eni.networkInterfaceId);
      if (cur?.attachment?.attachmentId !== attachmentId) return;
      this.updateEni(eni.networkInterfaceId, (e) => {
        e.status = 'available';
        delete e.attachment;
      });
      this.emit({ kind: 'eni-attachment', networkInterfaceId: eni.networkInterfaceId, instanceId, status: 'detached' });
      this.touchRoutesOfEni(eni.networkInterfaceId);
    };
    if (force) finish();
    else this.schedule(this.timings.eniDetachMs, finish);
  }

  // ---- addresses --------------------------------------------------------------

  associateAddress(allocationId: string, networkInterfaceId: string, allowReassociation: boolean): string {
    const addr = this.address(allocationId);
    const eni = this.networkInterface(networkInterfaceId);
    if (addr.networkInterfaceId === networkInterfaceId && addr.associationId) return addr.associationId;
    if (addr.associationId && !allowReassociation)
      throw new ApiError('Resource.AlreadyAssociated', `resource ${allocationId} is already associated with associate-id ${addr.associationId}`);
    // An ENI's private IP carries one EIP: a new association replaces the old one.
    for (const other of this.addresses.values())
      if (other.networkInterfaceId === networkInterfaceId && other.allocationId !== allocationId)
        this.disassociate(other.allocationId);
    const associationId = this.ids.id('eipassoc');
    const before = addr.privateIpAddress;
    this.addresses.set(allocationId, {
      ...clone(addr),
      associationId,
      networkInterfaceId,
      privateIpAddress: eni.privateIpAddress,
    });
    this.emit({ kind: 'address', allocationId, publicIp: addr.publicIp, ...(before ? { before } : {}), after: eni.privateIpAddress });
    return associationId;
  }

  disassociateAddress(associationId: string): void {
    const addr = this.addresses.values().find((a) => a.associationId === associationId);
    if (!addr) throw new ApiError('InvalidAssociationID.NotFound', `The association ID '${associationId}' does not exist`);
    this.disassociate(addr.allocationId);
  }

  private disassociate(allocationId: string): void {
    const addr = this.address(allocationId);
    const before = addr.privateIpAddress;
    const next = clone(addr);
    delete next.associationId;
    delete next.networkInterfaceId;
    delete next.privateIpAddress;
    this.addresses.set(allocationId, next);
    this.emit({ kind: 'address', allocationId, publicIp: addr.publicIp, ...(before ? { before } : {}) });
  }

  private disassociateAddressesOf(eniId: string): void {
    for (const a of this.addresses.values()) if (a.networkInterfaceId === eniId) this.disassociate(a.allocationId);
  }

  // ---- routes -----------------------------------------------------------------

  /** Validates a route target the way EC2 does and returns it normalised. */
  private resolveTarget(target: RouteTarget): RouteTarget {
    const given = Object.entries(target).filter(([, v]) => v !== undefined);
    if (given.length === 0) throw missingTarget();
    if (given.length > 1) throw invalidParameter('The parameter combination is not valid: specify exactly one route target.');
    if (target.instanceId) {
      const inst = this.instance(target.instanceId);
      const enis = this.interfacesOf(inst.instanceId);
      if (enis.length > 1)
        throw new ApiError(
          'InvalidInstanceID',
          `There are multiple interfaces attached to instance '${inst.instanceId}'. Please specify an interface ID for the operation instead.`,
        );
      return { instanceId: inst.instanceId };
    }
    if (target.networkInterfaceId) return { networkInterfaceId: this.networkInterface(target.networkInterfaceId).networkInterfaceId };
    if (target.gatewayId) {
      if (!target.gatewayId.startsWith('igw-') && target.gatewayId !== 'local')
        throw new ApiError('InvalidGatewayID.NotFound', `The gateway ID '${target.gatewayId}' does not exist`);
      return { gatewayId: target.gatewayId };
    }
    if (target.natGatewayId) return { natGatewayId: target.natGatewayId };
    throw missingTarget();
  }

  private updateRouteTable(id: string, fn: (rt: RouteTable) => void): void {
    const rt = clone(this.routeTable(id));
    fn(rt);
    this.routeTables.set(id, rt);
    this.emit({ kind: 'route-table', routeTableId: id });
  }

  createRoute(routeTableId: string, destinationCidrBlock: string, target: RouteTarget): void {
    const rt = this.routeTable(routeTableId);
    const resolved = this.resolveTarget(target);
    if (rt.routes.some((r) => r.destinationCidrBlock === destinationCidrBlock))
      throw new ApiError(
        'RouteAlreadyExists',
        `The route identified by ${destinationCidrBlock} already exists.`,
      );
    this.updateRouteTable(routeTableId, (t) => t.routes.push({ destinationCidrBlock, origin: 'CreateRoute', ...resolved }));
  }

  replaceRoute(routeTableId: string, destinationCidrBlock: string, target: RouteTarget): void {
    const rt = this.routeTable(routeTableId);
    const resolved = this.resolveTarget(target);
    const idx = rt.routes.findIndex((r) => r.destinationCidrBlock === destinationCidrBlock);
    if (idx < 0)
      throw new ApiError(
        'InvalidParameterValue',
        `There is no route defined for '${destinationCidrBlock}' in the route table. Use CreateRoute instead.`,
      );
    if (rt.routes[idx]!.gatewayId === 'local')
      throw invalidParameter(`The route for '${destinationCidrBlock}' is the local route and cannot be replaced.`);
    this.updateRouteTable(routeTableId, (t) => (t.routes[idx] = { destinationCidrBlock, origin: 'CreateRoute', ...resolved }));
  }

  deleteRoute(routeTableId: string, destinationCidrBlock: string): void {
    const rt = this.routeTable(routeTableId);
    const route = rt.routes.find((r) => r.destinationCidrBlock === destinationCidrBlock);
    if (!route)
      throw new ApiError(
        'InvalidRoute.NotFound',
        `no route with destination-cidr-block ${destinationCidrBlock} in route table ${routeTableId}`,
      );
    if (route.gatewayId === 'local') throw invalidParameter(`cannot remove local route ${destinationCidrBlock} in route table ${routeTableId}`);
    this.updateRouteTable(routeTableId, (t) => (t.routes = t.routes.filter((r) => r !== t.routes.find((x) => x.destinationCidrBlock === destinationCidrBlock))));
  }

  associateRouteTable(routeTableId: string, subnetId: string): string {
    const rt = this.routeTable(routeTableId);
    const subnet = this.subnet(subnetId);
    if (subnet.vpcId !== rt.vpcId) throw invalidParameter(`Route table ${routeTableId} and subnet ${subnetId} belong to different networks.`);
    const existing = this.associationOfSubnet(subnetId);
    if (existing)
      throw new ApiError('Resource.AlreadyAssociated', `the specified association for route table ${existing.routeTableId} conflicts with an existing association`);
    const associationId = this.ids.id('rtbassoc');
    this.updateRouteTable(routeTableId, (t) => t.associations.push({ associationId, routeTableId, subnetId, main: false }));
    return associationId;
  }

  replaceRouteTableAssociation(associationId: string, routeTableId: string): string {
    const target = this.routeTable(routeTableId);
    const current = this.routeTables.values().find((t) => t.associations.some((a) => a.associationId === associationId));
    if (!current) throw new ApiError('InvalidAssociationID.NotFound', `The association ID '${associationId}' does not exist`);
    const assoc = current.associations.find((a) => a.associationId === associationId)!;
    if (current.routeTableId === target.routeTableId) return associationId;
    const newId = this.ids.id('rtbassoc');
    this.updateRouteTable(current.routeTableId, (t) => (t.associations = t.associations.filter((a) => a.associationId !== associationId)));
    this.updateRouteTable(routeTableId, (t) =>
      t.associations.push({ associationId: newId, routeTableId, main: assoc.main, ...(assoc.subnetId ? { subnetId: assoc.subnetId } : {}) }),
    );
    return newId;
  }

  associationOfSubnet(subnetId: string) {
    for (const t of this.routeTables.values())
      for (const a of t.associations) if (a.subnetId === subnetId) return a;
    return undefined;
  }

  /** The route table that governs a subnet: its explicit association, else the VPC's main table. */
  effectiveRouteTable(subnetId: string): RouteTable | undefined {
    const explicit = this.associationOfSubnet(subnetId);
    if (explicit) return this.routeTables.get(explicit.routeTableId);
    const vpcId = this.subnets.get(subnetId)?.vpcId;
    return this.routeTables.values().find((t) => t.vpcId === vpcId && t.associations.some((a) => a.main));
  }

  /**
   * Where a route's packets go now. "blackhole" when the target instance is not
   * running, or the target ENI is not attached to a running instance — as in AWS.
   */
  routeNextHop(route: Route):
    | { kind: 'local' }
    | { kind: 'igw' }
    | { kind: 'eni'; eni: NetworkInterface; instance: Instance }
    | { kind: 'blackhole' } {
    if (route.gatewayId === 'local') return { kind: 'local' };
    if (route.gatewayId) return { kind: 'igw' };
    let eni: NetworkInterface | undefined;
    if (route.networkInterfaceId) eni = this.networkInterfaces.get(route.networkInterfaceId);
    else if (route.instanceId) eni = this.primaryInterface(route.instanceId);
    if (!eni?.attachment || eni.attachment.status !== 'attached') return { kind: 'blackhole' };
    const instance = this.instances.get(eni.attachment.instanceId);
    if (!instance || (instance.state !== 'running' && instance.state !== 'pending')) return { kind: 'blackhole' };
    return { kind: 'eni', eni, instance };
  }

  routeState(route: Route): 'active' | 'blackhole' {
    return this.routeNextHop(route).kind === 'blackhole' ? 'blackhole' : 'active';
  }

  /** Route tables whose routes point (directly or through an ENI) at this instance. */
  private touchRoutesOf(instanceId: string): void {
    const enis = new Set(this.networkInterfaces.values().filter((e) => e.attachment?.instanceId === instanceId).map((e) => e.networkInterfaceId));
    for (const t of this.routeTables.values())
      if (t.routes.some((r) => r.instanceId === instanceId || (r.networkInterfaceId && enis.has(r.networkInterfaceId))))
        this.emit({ kind: 'route-table', routeTableId: t.routeTableId });
  }

  private touchRoutesOfEni(eniId: string): void {
    const eni = this.networkInterfaces.get(eniId);
    for (const t of this.routeTables.values())
      if (t.routes.some((r) => r.networkInterfaceId === eniId || (eni?.attachment && r.instanceId === eni.attachment.instanceId)))
        this.emit({ kind: 'route-table', routeTableId: t.routeTableId });
  }

  // ---- tags -------------------------------------------------------------------

  /** Tags live on the resource record; this finds the record by ID prefix. */
  setTags(resourceId: string, tags: Tag[]): void {
    const apply = (list: Tag[]) => {
      for (const t of tags) {
        const i = list.findIndex((x) => x.key === t.key);
        if (i >= 0) list[i] = t;
        else list.push(t);
      }
    };
    this.mutateTagged(resourceId, apply);
  }

  deleteTags(resourceId: string, tags: { key: string; value?: string }[]): void {
    this.mutateTagged(resourceId, (list) => {
      for (const t of tags) {
        const i = list.findIndex((x) => x.key === t.key && (t.value === undefined || x.value === t.value));
        if (i >= 0) list.splice(i, 1);
      }
    });
  }

  private mutateTagged(resourceId: string, fn: (tags: Tag[]) => void): void {
    const table = this.taggedTable(resourceId);
    const rec = table?.get(resourceId);
    if (!table || !rec) throw new ApiError('InvalidID', `The ID '${resourceId}' is not valid`);
    const next = clone(rec);
    fn(next.tags);
    table.set(resourceId, next);
  }

  private taggedTable(id: string): Versioned<{ tags: Tag[] }> | undefined {
    const prefix = id.slice(0, id.lastIndexOf('-'));
    const tables: Record<string, Versioned<{ tags: Tag[] }>> = {
      vpc: this.vpcs,
      subnet: this.subnets,
      rtb: this.routeTables,
      i: this.instances,
      eni: this.networkInterfaces,
      eipalloc: this.addresses,
    };
    return tables[prefix];
  }

  /** Every tagged resource, for DescribeTags. */
  allTagged(): { resourceId: string; resourceType: string; tags: Tag[] }[] {
    const out: { resourceId: string; resourceType: string; tags: Tag[] }[] = [];
    for (const v of this.vpcs.visible()) out.push({ resourceId: v.vpcId, resourceType: 'vpc', tags: v.tags });
    for (const s of this.subnets.visible()) out.push({ resourceId: s.subnetId, resourceType: 'subnet', tags: s.tags });
    for (const r of this.routeTables.visible()) out.push({ resourceId: r.routeTableId, resourceType: 'route-table', tags: r.tags });
    for (const i of this.instances.visible()) out.push({ resourceId: i.instanceId, resourceType: 'instance', tags: i.tags });
    for (const e of this.networkInterfaces.visible())
      out.push({ resourceId: e.networkInterfaceId, resourceType: 'network-interface', tags: e.tags });
    for (const a of this.addresses.visible()) out.push({ resourceId: a.allocationId, resourceType: 'elastic-ip', tags: a.tags });
    return out;
  }

  // ---- auto scaling (the group controller drives these) ----------------------

  asgChanged(name: string): void {
    this.emit({ kind: 'asg', autoScalingGroupName: name });
  }
}

function missingTarget(): ApiError {
  return new ApiError('MissingParameter', 'The request must contain exactly one of gatewayId, natGatewayId, instanceId or networkInterfaceId');
}
