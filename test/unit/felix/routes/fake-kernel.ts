// A fake kernel routing table behind `ip -4|-6 -json route show` and `ip -4|-6 -force -batch -`
// (Felix's mocknetlink, reduced to what the route reconciler writes): it keeps the routes the
// batches add, replace and delete, answers reads from them, and refuses lines on request with the
// kernel's message, reported the way `ip -force -batch` does ("<message>\nCommand failed -:N").
// So a test can see what one refused line does to the rest of the batch and to the next apply.
import type { Command, CommandResult } from '../../../../felix/dataplane/exec.ts';

type Json = Record<string, unknown>;

export class FakeRouteKernel {
  readonly routes: Record<4 | 6, Map<string, Json>> = { 4: new Map(), 6: new Map() };
  /** Lines matching `re` fail with `message` (e.g. "RTNETLINK answers: No route to host"). */
  refuse: { re: RegExp; message: string }[] = [];
  /** Every batch line handed to the kernel, in order. */
  readonly lines: string[] = [];

  /** The result for a route read or route batch; undefined for any other command. */
  handle(c: Command): CommandResult | undefined {
    const family = c.argv.includes('-6') ? 6 : 4;
    const text = c.argv.join(' ');
    if (text.includes('route show')) {
      return { stdout: JSON.stringify([...this.routes[family].values()]), stderr: '', code: 0 };
    }
    if (!c.argv.includes('-batch') || !(c.input ?? '').startsWith('route ')) return undefined;
    let stderr = '';
    (c.input ?? '')
      .split('\n')
      .filter((l) => l !== '')
      .forEach((line, i) => {
        this.lines.push(line);
        const message = this.refuse.find((r) => r.re.test(line))?.message ?? this.#apply(family, line);
        if (message !== undefined) stderr += `${message}\nCommand failed -:${i + 1}\n`;
      });
    return { stdout: '', stderr, code: stderr === '' ? 0 : 1 };
  }

  /** Apply one `route add|replace|del …` line; the kernel's message when it refuses. */
  #apply(family: 4 | 6, line: string): string | undefined {
    const t = line.split(' ');
    const verb = t[1];
    let k = 2;
    let type = 'unicast';
    if (t[k] === 'blackhole' || t[k] === 'unreachable') type = t[k++] as string;
    // The kernel prints host routes without their prefix length (`10.244.1.10`, not `/32`).
    const dst = (t[k++] as string).replace(family === 4 ? /\/32$/ : /\/128$/, '');
    const route: Json = { type, dst, protocol: '', flags: [] };
    if (family === 6) route.metric = 1024;
    for (; k < t.length; k++) {
      const word = t[k];
      if (word === 'proto') route.protocol = t[++k];
      else if (word === 'via') route.gateway = t[++k];
      else if (word === 'dev') route.dev = t[++k];
      else if (word === 'onlink') route.flags = ['onlink'];
      else if (word === 'metric') route.metric = Number(t[++k]);
    }
    if (route.gateway !== undefined && route.dev === undefined) route.dev = 'eth0';
    if (type !== 'unicast' && family === 6) route.dev = 'lo';
    const table = this.routes[family];
    if (verb === 'del') {
      if (!table.has(dst)) return 'RTNETLINK answers: No such process';
      table.delete(dst);
    } else if (verb === 'add') {
      if (table.has(dst)) return 'RTNETLINK answers: File exists';
      table.set(dst, route);
    } else {
      table.set(dst, route);
    }
    return undefined;
  }
}
