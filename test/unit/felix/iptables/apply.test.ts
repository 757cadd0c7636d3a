// The ordered apply (felix/dataplane/apply.ts): order, retry with backoff, status, resync requests.
import { describe, expect, it } from 'vitest';
import { applyAll, backoffDelay, createApplyStatus } from '../../../../felix/dataplane/apply.ts';
import { FelixError } from '../../../../felix/errors.ts';

function recorder(failures: Partial<Record<string, number>> = {}) {
  const calls: string[] = [];
  const left = { ...failures };
  const step = (name: string) => async () => {
    calls.push(name);
    if ((left[name] ?? 0) > 0) {
      left[name]!--;
      throw new FelixError('FELIX_ERR_RESTORE_FAILED', `${name} refused`, {
        cause: new Error('line 3 failed'),
      });
    }
  };
  const parts = {
    ipsets: {
      applyUpdates: step('ipsetUpdates'),
      applyDeletions: step('ipsetDeletions'),
      requestResync: () => void calls.push('resync:ipsets'),
    },
    iptables: [
      { apply: step('iptables4'), requestResync: () => void calls.push('resync:v4') },
      { apply: step('iptables6') },
    ],
    routes: { apply: step('routes') },
  };
  return { calls, parts };
}

describe('applyAll', () => {
  it('runs ipsets, then iptables beside links → routes, then ipset deletions', async () => {
    const { calls, parts } = recorder();
    const status = await applyAll(parts, { now: () => 1000 });
    expect(calls[0]).toBe('ipsetUpdates');
    expect(calls.at(-1)).toBe('ipsetDeletions');
    expect([...calls].sort()).toEqual(['ipsetDeletions', 'ipsetUpdates', 'iptables4', 'iptables6', 'routes']);
    expect(status).toMatchObject({ inSync: true, consecutiveFailures: 0, lastSuccessAt: 1000, attempts: 1 });
  });

  it('writes iptables and routes at the same time, links before routes, deletions after both', async () => {
    const events: string[] = [];
    let routesStarted!: () => void;
    const routesRunning = new Promise<void>((r) => {
      routesStarted = r;
    });
    let iptablesStarted!: () => void;
    const iptablesRunning = new Promise<void>((r) => {
      iptablesStarted = r;
    });
    const parts = {
      ipsets: {
        applyUpdates: async () => void events.push('ipsetUpdates'),
        applyDeletions: async () => void events.push('ipsetDeletions'),
      },
      // Each waits for the other to have started: a pass that runs them one after the other never ends.
      iptables: {
        apply: async () => {
          events.push('iptables start');
          iptablesStarted();
          await routesRunning;
          events.push('iptables end');
        },
      },
      links: { apply: async () => void events.push('links') },
      routes: {
        apply: async () => {
          events.push('routes start');
          routesStarted();
          await iptablesRunning;
          events.push('routes end');
        },
      },
    };
    await applyAll(parts);
    expect(events[0]).toBe('ipsetUpdates');
    expect(events.indexOf('links')).toBeLessThan(events.indexOf('routes start'));
    expect(events.at(-1)).toBe('ipsetDeletions');
    expect(events).toHaveLength(7);
  });

  it('a failure beside a running step fails the pass once that step has ended', async () => {
    const ended: string[] = [];
    const parts = {
      iptables: {
        apply: async () => {
          throw new FelixError('FELIX_ERR_RESTORE_FAILED', 'iptables refused');
        },
      },
      routes: {
        apply: async () => {
          await new Promise((r) => setTimeout(r, 20));
          ended.push('routes');
        },
      },
    };
    const status = createApplyStatus();
    const err = await applyAll(parts, { status, retry: { maxAttempts: 1 } }).catch((e) => e);
    expect(ended).toEqual(['routes']);
    expect(err.cause.message).toBe('iptables refused');
    expect(status.lastError).toMatchObject({ step: 'iptables' });
  });

  it('retries a failed pass with exponential backoff after asking every part to re-read', async () => {
    const { calls, parts } = recorder({ routes: 2 });
    const delays: number[] = [];
    const status = createApplyStatus();
    await applyAll(parts, {
      status,
      sleep: async (ms) => void delays.push(ms),
      retry: { initialDelayMs: 50 },
    });
    expect(delays).toEqual([50, 100]);
    expect(calls.filter((c) => c === 'ipsetDeletions')).toHaveLength(1); // never before routes succeeded
    expect(calls.filter((c) => c === 'resync:v4')).toHaveLength(2);
    expect(status).toMatchObject({ inSync: true, consecutiveFailures: 0, totalFailures: 2, attempts: 3 });
    expect(status.lastError).toMatchObject({
      step: 'routes',
      code: 'FELIX_ERR_RESTORE_FAILED',
      causes: ['line 3 failed'],
    });
  });

  it('gives up after maxAttempts with FELIX_ERR_APPLY_FAILED, the status telling why', async () => {
    const { calls, parts } = recorder({ iptables6: 99 });
    const status = createApplyStatus();
    const err = await applyAll(parts, { status, retry: { maxAttempts: 3 }, sleep: async () => {} }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(FelixError);
    expect(err.code).toBe('FELIX_ERR_APPLY_FAILED');
    expect(err.cause.message).toBe('iptables6 refused');
    expect(status).toMatchObject({ inSync: false, consecutiveFailures: 3, lastSuccessAt: undefined });
    expect(calls).not.toContain('ipsetDeletions'); // routes run beside iptables; deletions never
  });

  it('resync: true asks every part to re-read before the first pass', async () => {
    const { calls, parts } = recorder();
    await applyAll(parts, { resync: true });
    expect(calls.slice(0, 2)).toEqual(['resync:ipsets', 'resync:v4']);
  });

  it('backoff doubles and is capped', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(30, { maxDelayMs: 5000 })).toBe(5000);
  });
});
