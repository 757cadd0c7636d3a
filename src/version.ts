import { existsSync, readFileSync } from 'node:fs';

// src/version.ts runs from the source tree (node src/main.ts) and from dist/src after a build.
const candidates = ['../package.json', '../../package.json'].map((p) => new URL(p, import.meta.url));
const found = candidates.find((u) => existsSync(u));
const pkg = found ? (JSON.parse(readFileSync(found, 'utf8')) as { version?: string }) : {};
export const VERSION: string = pkg.version ?? '0.0.0';
