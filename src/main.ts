#!/usr/bin/env node
// The `margay` command. The only place that turns errors into exit codes (libraries throw, only
// this file decides to exit): 0 ok, 1 runtime failure, 2 bad configuration or usage.
import { enableCompileCache } from 'node:module';
import { parseArgs } from './cli/args.ts';
import { MargayError } from './errors.ts';
import { applyHeapRule } from './heap.ts';
import { log } from './log.ts';
import { VERSION } from './version.ts';

const USAGE = `margay ${VERSION} — Kubernetes pod networking with an embedded BGP speaker

usage:
  margay agent --config FILE        the node daemon (datastore → BGP speaker + dataplane, REST API)
  margay cleanup                    remove every route, iptables chain, ipset and device Margay owns
  margay speaker --config FILE      run the BGP speaker alone (peers + announcements from YAML, REST API)
  margay health --live|--ready [--api HOST:PORT]   probe a running margay (exit 0 healthy, 1 not)
  margay lab up|status|apply|delete|exec|probe|down …   a cluster in network namespaces (root; margay lab help)
  margay demo [--once]              a 3-node lab with a BIRD top-of-rack: status, traffic, ToR routes (root)
  margay version
`;

// Run from the .ts sources of a checkout, Node strips the types of every module it loads, and the
// stripper (swc built to WebAssembly) then stays in the process for its whole life. With Node's
// compile cache a module is taken from the cache, already stripped and compiled, while its source
// is unchanged, and a process whose modules all come from it never loads the stripper. This
// process has loaded it already; the variable hands the cache to the processes it starts (the
// lab's agents and helpers, the demo's). The build has no types to strip, and runs without it.
if (
  import.meta.url.endsWith('.ts') &&
  process.env.NODE_COMPILE_CACHE === undefined &&
  process.env.NODE_DISABLE_COMPILE_CACHE === undefined
) {
  const cache = enableCompileCache();
  if (cache.directory !== undefined) process.env.NODE_COMPILE_CACHE = cache.directory;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'speaker': {
      const args = parseArgs(rest, { config: 'string' }, 'margay speaker');
      const path = args.flags.config;
      if (typeof path !== 'string')
        throw new MargayError('MARGAY_ERR_USAGE', 'margay speaker: --config FILE is required');
      // Heap limits from the container's memory limit (src/heap.ts): may replace this process.
      applyHeapRule();
      const { runSpeaker } = await import('./cli/speaker.ts');
      const stop = await runSpeaker(path);
      await waitForSignal();
      await stop();
      return 0;
    }
    case 'agent': {
      const args = parseArgs(rest, { config: 'string' }, 'margay agent');
      const path = args.flags.config;
      if (typeof path !== 'string')
        throw new MargayError('MARGAY_ERR_USAGE', 'margay agent: --config FILE is required');
      // Heap limits from the container's memory limit (src/heap.ts): may replace this process.
      applyHeapRule();
      const { runAgent } = await import('./cli/agent.ts');
      const stop = await runAgent(path);
      await waitForSignal();
      await stop();
      return 0;
    }
    case 'cleanup': {
      parseArgs(rest, {}, 'margay cleanup');
      const { runCleanup } = await import('./cli/cleanup.ts');
      return runCleanup();
    }
    case 'health': {
      const args = parseArgs(rest, { live: 'boolean', ready: 'boolean', api: 'string' }, 'margay health');
      const { probeHealth } = await import('./cli/health.ts');
      return probeHealth({
        ready: args.flags.ready === true,
        api: typeof args.flags.api === 'string' ? args.flags.api : undefined,
      });
    }
    case 'lab': {
      const { runLab, LAB_USAGE } = await import('./cli/lab.ts');
      if (rest[0] === undefined || rest[0] === 'help' || rest[0] === '--help') {
        process.stdout.write(`usage:\n${LAB_USAGE}`);
        return rest[0] === undefined ? 2 : 0;
      }
      return runLab(rest);
    }
    case 'demo': {
      const args = parseArgs(rest, { once: 'boolean' }, 'margay demo');
      const { runDemo } = await import('./cli/demo.ts');
      return runDemo({ once: args.flags.once === true });
    }
    case 'version':
    case '--version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new MargayError('MARGAY_ERR_USAGE', `unknown command "${command}"\n\n${USAGE}`);
  }
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof MargayError) {
      process.stderr.write(`margay: ${err.message} (${err.code})\n`);
      process.exitCode = err.exitCode;
    } else {
      log('error', 'fatal', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exitCode = 1;
    }
  },
);
