// The C library, for the socket calls Node has no API for (session/sockopt.ts, bfd/udp.ts). It is
// called through koffi, a foreign-function package with prebuilt binaries, loaded once on first
// use and by name at run time, so that a bundle which cannot carry native modules leaves it out
// and a process that never needs it never loads it. Where it cannot be loaded, the load says why.
import { createRequire } from 'node:module';

export type Koffi = typeof import('koffi');
export type LibcLibrary = ReturnType<Koffi['load']>;

export type LibcLoad =
  | { readonly koffi: Koffi; readonly lib: LibcLibrary }
  | { readonly koffi: undefined; readonly reason: string };

let loaded: LibcLoad | undefined;

/** koffi and libc.so.6, or why they cannot be loaded here. */
export function loadLibc(): LibcLoad {
  if (loaded !== undefined) return loaded;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    loaded = { koffi, lib: koffi.load('libc.so.6') };
  } catch (err) {
    loaded = { koffi: undefined, reason: firstLine(err) };
  }
  return loaded;
}

/** The first line of an error's message (koffi's load errors run over several). */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? String(err);
}
