// The planner (DESIGN.md "Layout": domain/planner): pure, no I/O.
export * from './types.js';
export * from './egress.js';
export * from './plan.js';
