// NAT outgoing rendering (Calico's cali-nat-outgoing with mgy- names).
import { describe, expect, it } from 'vitest';
import { normalizeTables } from '../../../../felix/model/iptables.ts';
import { renderNatOutgoing } from '../../../../felix/model/nat-outgoing.ts';
import { iptablesRestoreText } from './fixtures.ts';

const pools = [
  { name: 'a', cidr: '10.244.0.0/16', natOutgoing: true },
  { name: 'b', cidr: '10.245.0.0/16', natOutgoing: false },
  { name: 'v6', cidr: '2001:db8:42::/48', natOutgoing: true },
];

describe('renderNatOutgoing', () => {
  it('masquerades from natOutgoing pools to outside all pools, per family', () => {
    const v4 = renderNatOutgoing(pools, 'inet');
    expect(v4.ipsets.map((s) => [s.name, s.members])).toEqual([
      ['mgy-all-ipam-pools', ['10.244.0.0/16', '10.245.0.0/16']],
      ['mgy-masq-ipam-pools', ['10.244.0.0/16']],
    ]);
    expect(iptablesRestoreText([v4.nat])).toContain(
      '-m set --match-set mgy-masq-ipam-pools src -m set ! --match-set mgy-all-ipam-pools dst -j MASQUERADE --random-fully',
    );
    expect(v4.nat.jumps).toEqual([{ from: 'POSTROUTING', to: 'mgy-nat-outgoing', comment: 'natOutgoing' }]);
    const v6 = renderNatOutgoing(pools, 'inet6');
    expect(v6.ipsets.map((s) => [s.name, s.family, s.members])).toEqual([
      ['mgy-all-ipam-pools6', 'inet6', ['2001:db8:42::/48']],
      ['mgy-masq-ipam-pools6', 'inet6', ['2001:db8:42::/48']],
    ]);
    expect(() => normalizeTables([v6.nat])).not.toThrow();
  });

  it('no natOutgoing pool: no chain and no jump, the sets still listed', () => {
    const r = renderNatOutgoing([pools[1]!], 'inet');
    expect(r.nat).toEqual({ table: 'nat', chains: [], jumps: [] });
    expect(r.ipsets[1]!.members).toEqual([]);
  });
});
