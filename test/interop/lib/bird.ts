// Moved to src/lab/bird.ts: the lab is part of the product (DESIGN.md), tests use the same code.
export * from '../../../src/lab/bird.ts';
