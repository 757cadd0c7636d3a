#!/usr/bin/env node
// margay-cni: the CNI plugin executable (the runtime runs it with CNI_* variables and the network
// configuration on stdin; CNI spec 1.0 "Protocol"). Result or error JSON on stdout, exit 0 or 1;
// a failure is also one line on stderr (containerd logs it) and, with `log.file`, in the log.
// Shipped as a Node single executable application (sea/build.ts → dist/margay-cni), so the node
// does not need Node.js installed; `node src/cni/main.ts` runs the same code from the tree.
import { runPlugin, writeLog } from './plugin.ts';

/**
 * All of stdin, read as a stream. Not `readFileSync(0)`: a runtime's stdin is a pipe that may be
 * non-blocking and not yet written when the plugin starts, and readFileSync then fails with EAGAIN,
 * so under many concurrent ADDs some would read an empty config.
 */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<number> {
  let stdin: string;
  try {
    stdin = await readStdin();
  } catch (e) {
    process.stdout.write(
      `${JSON.stringify({ cniVersion: '1.0.0', code: 5, msg: `margay-cni: cannot read stdin: ${(e as Error).message}` })}\n`,
    );
    return 1;
  }
  const out = await runPlugin({ env: process.env, stdin });
  if (out.stdout !== '') process.stdout.write(`${out.stdout}\n`);
  if (out.logFile !== undefined && !writeLog(out.logFile, out.logLine)) {
    process.stderr.write(`margay-cni: cannot write log ${out.logFile}\n`);
  }
  if (out.exitCode !== 0) process.stderr.write(`margay-cni: ${out.logLine}\n`);
  return out.exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stdout.write(
      `${JSON.stringify({ cniVersion: '1.0.0', code: 999, msg: `margay-cni internal error: ${String(e)}` })}\n`,
    );
    process.exitCode = 1;
  },
);
