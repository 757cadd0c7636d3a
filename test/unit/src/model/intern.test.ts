// StringPool: which values it pools, that it walks objects and arrays to any depth and replaces
// values in place without changing them, that it leaves frozen objects alone, and that it stays
// bounded. (That two equal strings then are one copy is not observable from JavaScript; the heap
// figures of test/bench/agent-scale.ts show it.)
import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES, MAX_LENGTH, StringPool, strings } from '../../../../src/model/intern.ts';
import { validateResource } from '../../../../src/model/resource.ts';

describe('StringPool', () => {
  it('pools each distinct short value once, and no long one', () => {
    const pool = new StringPool();
    const long = 'x'.repeat(MAX_LENGTH + 1);
    expect(pool.intern('TCP')).toBe('TCP');
    pool.intern('TCP');
    pool.intern('UDP');
    expect(pool.intern(long)).toBe(long);
    expect(pool.size).toBe(2);
  });

  it('walks objects and arrays to any depth and keeps every value as it was', () => {
    const pool = new StringPool();
    const text = JSON.stringify({
      kind: 'Pod',
      metadata: { name: 'web-0', labels: { app: 'web', tier: 'front' } },
      spec: { containers: [{ name: 'main', ports: [{ name: 'http', protocol: 'TCP', containerPort: 80 }] }] },
      status: { podIPs: [{ ip: '10.0.0.1' }], phase: 'Running', ready: true, note: null },
      tags: ['web', ['front', 'TCP']],
    });
    const a = pool.internValues(JSON.parse(text));
    expect(a).toEqual(JSON.parse(text));
    // Pod, web-0, web, front, main, http, TCP, 10.0.0.1, Running: nine distinct values.
    expect(pool.size).toBe(9);
    const b = pool.internValues(JSON.parse(text));
    expect(b).toEqual(a);
    expect(pool.size).toBe(9);
  });

  it('leaves frozen objects alone instead of failing on them', () => {
    const pool = new StringPool();
    const frozen = Object.freeze({ protocol: 'TCP' });
    expect(() => pool.internValues({ ports: [frozen], name: 'x' })).not.toThrow();
    expect(pool.size).toBe(1);
  });

  it('starts afresh when full, so values seen once cannot grow it without limit', () => {
    const pool = new StringPool();
    for (let i = 0; i < MAX_ENTRIES; i++) pool.intern(`name-${i}`);
    expect(pool.size).toBe(MAX_ENTRIES);
    pool.intern('one more');
    expect(pool.size).toBe(1);
  });

  it('is what every validated resource goes through', () => {
    strings.intern('v1');
    strings.intern('Namespace');
    const before = strings.size;
    const r = validateResource({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'intern-test-ns', labels: { 'intern-test-key': 'intern-test-value' } },
    });
    expect(r.ok).toBe(true);
    // The name and the label value (keys are not values) are in the shared pool now.
    expect(strings.size).toBe(before + 2);
    expect(strings.intern('intern-test-value')).toBe('intern-test-value');
    expect(strings.size).toBe(before + 2);
  });
});
