// Moved to src/lab/gobgp.ts: the lab is part of the product (DESIGN.md), tests use the same code.
export * from '../../../src/lab/gobgp.ts';
