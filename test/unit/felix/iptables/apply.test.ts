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
  it('runs ipsets → iptables → routes → ipset deletions', async () => {
    const { calls, parts } = recorder();
    const status = await applyAll(parts, { now: () => 1000 });
    expect(calls).toEqual(['ipsetUpdates', 'iptables4', 'iptables6', 'routes', 'ipsetDeletions']);
    expect(status).toMatchObject({ inSync: true, consecutiveFailures: 0, lastSuccessAt: 1000, attempts: 1 });
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
    expect(calls).not.toContain('routes');
    expect(calls).not.toContain('ipsetDeletions');
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
