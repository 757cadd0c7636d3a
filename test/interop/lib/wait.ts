// Moved to src/lab/wait.ts: the lab is part of the product (DESIGN.md), tests use the same code.
export * from '../../../src/lab/wait.ts';
