// Re-exports src/lab/wait.ts: the lab is part of the product (`margay lab`), and tests use the same code.
export * from '../../../src/lab/wait.ts';
