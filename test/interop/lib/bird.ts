// Re-exports src/lab/bird.ts: the lab is part of the product (`margay lab`), and tests use the same code.
export * from '../../../src/lab/bird.ts';
