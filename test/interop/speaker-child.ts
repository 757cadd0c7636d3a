// A Speaker in its own process, so a test can run it inside a lab network namespace (a process
// cannot move its sockets between namespaces). Configuration as JSON in argv[2]; requests as
// JSON lines on stdin ({ id, op: 'peers' | 'routes' | 'stop', ... }), one JSON answer line per
// request on stdout ({ id, result } or { id, error }). Exits by itself after 'stop' and the end
// of stdin: nothing else keeps it alive.
import { createInterface } from 'node:readline';
import { Speaker } from '../../bgp/speaker/speaker.ts';
import type { LocalRoute, PeerConfig, SpeakerOptions } from '../../bgp/speaker/types.ts';

interface ChildConfig {
  readonly options: SpeakerOptions;
  readonly peers: readonly PeerConfig[];
  readonly routes: readonly LocalRoute[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const speaker = new Speaker(config.options);
speaker.setPeers(config.peers);
speaker.setLocalRoutes(config.routes);
await speaker.start();
process.stdout.write(`${JSON.stringify({ id: 0, result: 'started' })}\n`);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const req = JSON.parse(line) as {
    id: number;
    op: string;
    filter?: object;
    message?: string;
    hardReset?: boolean;
  };
  try {
    let result: unknown;
    if (req.op === 'peers') result = speaker.peers();
    else if (req.op === 'routes') result = speaker.routes(req.filter ?? {});
    else if (req.op === 'stop') {
      await speaker.stop({
        ...(req.message !== undefined && { message: req.message }),
        ...(req.hardReset === true && { hardReset: true }),
      });
      result = 'stopped';
    } else throw new Error(`unknown op ${req.op}`);
    process.stdout.write(`${JSON.stringify({ id: req.id, result })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ id: req.id, error: String(err) })}\n`);
  }
}
