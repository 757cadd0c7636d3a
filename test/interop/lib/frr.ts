// Moved to src/lab/frr.ts: the lab is part of the product (DESIGN.md), tests use the same code.
export * from '../../../src/lab/frr.ts';
