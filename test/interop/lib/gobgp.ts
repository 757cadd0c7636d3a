// Re-exports src/lab/gobgp.ts: the lab is part of the product (`margay lab`), and tests use the same code.
export * from '../../../src/lab/gobgp.ts';
