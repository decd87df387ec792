// natkeeper/cdk: the public API of the CDK construct (docs/deploy.md).
export { NatKeeper } from './nat-keeper.js';
export { NatKeeperProvider } from './provider.js';
export { NatKeeperCluster, type ClusterZone, type NatKeeperClusterProps } from './cluster.js';
export { NatZoneGroup, type NatZoneGroupProps } from './zone-group.js';
export { NatKeeperControlPlane, EC2_STATES_WATCHED, type NatKeeperControlPlaneProps, type ControllerConfig } from './control-plane.js';
export { NatKeeperAlarms, type NatKeeperAlarmsProps } from './alarms.js';
export { NATKEEPER_TAGS } from './tags.js';
export { NATKEEPER_DEFAULTS, type NatKeeperLeaseStoreOptions, type NatKeeperOptions, type NatKeeperProbeTarget, type NatKeeperProps, type NatKeeperProviderProps } from './props.js';
export { natkeeperBundles, type NatkeeperBundles } from './bundles.js';
