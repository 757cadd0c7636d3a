// Moved to src/lab/netns.ts: the lab is part of the product (DESIGN.md), tests use the same code.
export * from '../../../src/lab/netns.ts';
