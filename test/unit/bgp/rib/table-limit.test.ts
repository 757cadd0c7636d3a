// A RIB table indexes its entries in 24 bits (its index slot holds entry + 1), so it holds at most
// 16777215 prefixes of a family. One more is refused with BGP_ERR_MAX_PREFIX before anything is
// added; without the check the 16777216th entry's index wraps and that prefix cannot be found.
import { describe, expect, it } from 'vitest';
import type { BgpError } from '../../../../bgp/errors.ts';
import { PrefixTable } from '../../../../bgp/rib/prefix-table.ts';
import { PrefixList } from '../../../../bgp/wire/prefix-list.ts';

describe('PrefixTable size limit', () => {
  it('refuses 16777216 prefixes at once with BGP_ERR_MAX_PREFIX and adds none of them', () => {
    const n = 2 ** 24;
    const list = new PrefixList(1, n);
    // n distinct /24s: 0.0.0.0/24, 0.0.1.0/24, … 255.255.255.0/24.
    for (let i = 0; i < n; i++) list.pushIpv4((i << 8) >>> 0, 24);
    const table = new PrefixTable<string>(1);
    table.add([0x0a000000], 0, 8, 'kept');
    let err: BgpError | undefined;
    try {
      table.addAbsent(list, 'route', new Int32Array(n));
    } catch (e) {
      err = e as BgpError;
    }
    expect(err?.code).toBe('BGP_ERR_MAX_PREFIX');
    expect(err?.message).toContain('16777215');
    expect(table.size).toBe(1);
    expect(table.find([0x0a000000], 0, 8)).toBe(0);
    expect(table.find([0], 0, 24)).toBe(-1);
  });
});
