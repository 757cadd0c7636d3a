// Loader for the golden BGP captures in test/golden/captures (made by tools/capture.ts).
// It throws when it finds no capture at all: a fixture directory that silently matches nothing
// would let every golden test pass while testing nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CAPTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'captures');

export interface CaptureMessage {
  /** TCP connection ordinal within the capture (collisions/reconnects open more than one). */
  readonly connection: number;
  /** Peer label: "bird", "frr", "gobgp", "exabgp". */
  readonly from: string;
  /** 1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH. */
  readonly type: number;
  /** The whole message, marker included, lower-case hex. */
  readonly hex: string;
  readonly note: string;
}

export interface Capture {
  /** File name without extension, e.g. "bird-gobgp-ebgp-ipv4". */
  readonly name: string;
  readonly path: string;
  readonly provenance: {
    readonly sender: string;
    readonly receiver: string;
    readonly peers: Readonly<Record<string, { daemon: string; address: string; as: number }>>;
    readonly capturedWith: string;
    readonly capturedIn: string;
    readonly date: string;
    readonly scenario: string;
    readonly actions: readonly string[];
    readonly configs: Readonly<Record<string, string>>;
    readonly pcap: string;
    readonly tool: string;
  };
  readonly messages: readonly CaptureMessage[];
}

/** Every capture JSON in `dir` (default test/golden/captures); throws if there is none. */
export function loadCaptures(dir: string = CAPTURES_DIR): Capture[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch (e) {
    throw new Error(`golden captures directory ${dir} is not readable`, { cause: e });
  }
  if (files.length === 0) throw new Error(`no golden captures (*.json) found in ${dir}`);
  return files.sort().map((f) => {
    const path = join(dir, f);
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Omit<Capture, 'name' | 'path'>;
    if (!raw.provenance || !Array.isArray(raw.messages) || raw.messages.length === 0) {
      throw new Error(`${path}: not a capture (needs provenance and a non-empty messages array)`);
    }
    return { name: f.slice(0, -'.json'.length), path, ...raw };
  });
}

export function messageBytes(m: CaptureMessage): Uint8Array {
  return Uint8Array.from(Buffer.from(m.hex, 'hex'));
}
