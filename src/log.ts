// One JSON line per event on stderr (what log collectors in a cluster expect). The libraries
// never log; src/ subscribes to their diagnostics channels here.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DiagnosticChannel } from '../bgp/speaker/diagnostics.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = (process.env.MARGAY_LOG_LEVEL as Level | undefined) ?? 'info';

export function setLogLevel(level: Level): void {
  threshold = level;
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }, (_k, v) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
  process.stderr.write(`${line}\n`);
}

const LEVELS: Record<string, Level> = {
  [DiagnosticChannel.peerStateChanged]: 'info',
  [DiagnosticChannel.connectionRefused]: 'warn',
  [DiagnosticChannel.notification]: 'warn',
  [DiagnosticChannel.updateError]: 'warn',
  [DiagnosticChannel.warning]: 'warn',
};

/** Logs every BGP diagnostics message; returns the unsubscribe function. */
export function subscribeBgpLog(): () => void {
  const handlers = Object.entries(LEVELS).map(([name, level]) => {
    const handler = (message: unknown) =>
      log(level, name.replace('margay.', ''), message as Record<string, unknown>);
    subscribe(name, handler);
    return () => unsubscribe(name, handler);
  });
  return () => {
    for (const off of handlers) off();
  };
}
