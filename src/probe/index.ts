// Data-path probes and peer heartbeats (DESIGN.md "Layout": src/probe).
export * from './targets.js';
export * from './probes.js';
export * from './scheduler.js';
export * from './peer-route.js';
export * from './heartbeat.js';
export * from './jobs.js';
export * from './shared-results.js';
