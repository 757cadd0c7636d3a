// The words `margayctl node status` borrows from BIRD and calicoctl: the FSM state → BIRD's
// protocol state (STATE) and BGP state (INFO), calicoctl's three peer types, INFO with the last
// error, and the wrapping rule of calicoctl's table library (minimum raggedness at 30 columns).
import { describe, expect, it } from 'vitest';
import { renderCalicoTable, wrapWords } from '../../../../src/ctl/calico-table.ts';
import {
  BIRD_STATES,
  birdError,
  calicoInfo,
  calicoPeerType,
  type PeerJson,
} from '../../../../src/ctl/status.ts';
import { peerJson } from './peer-fixture.ts';

const peer = (over: Partial<PeerJson>): PeerJson => peerJson({ asn: 64512, type: 'ibgp', ...over });

describe('BIRD words for the FSM states', () => {
  it.each([
    ['Idle', 'start', 'Idle'],
    ['Connect', 'start', 'Connect'],
    ['Active', 'start', 'Active'],
    ['OpenSent', 'start', 'OpenSent'],
    ['OpenConfirm', 'start', 'OpenConfirm'],
    ['Established', 'up', 'Established'],
  ] as const)('%s → STATE %s, INFO %s', (fsm, state, info) => {
    expect(BIRD_STATES[fsm]).toEqual({ state, info });
    expect(calicoInfo(peer({ state: fsm }))).toBe(info);
  });

  it('covers every FSM state', () => {
    expect(Object.keys(BIRD_STATES).sort()).toEqual(
      ['Active', 'Connect', 'Established', 'Idle', 'OpenConfirm', 'OpenSent'].sort(),
    );
  });
});

describe('INFO', () => {
  it.each([
    ['Active', 'Socket: Connection refused', 'Active Socket: Connection refused'],
    ['Idle', 'Error: Hold timer expired', 'Idle Error: Hold timer expired'],
    ['Connect', 'Received:  Administrative  shutdown ', 'Connect Received: Administrative shutdown'],
    ['Established', 'Error: Hold timer expired', 'Established'],
  ] as const)('%s with last error "%s" → "%s"', (state, lastError, info) => {
    expect(calicoInfo(peer({ state, lastError }))).toBe(info);
  });
});

describe('the last error in BIRD words', () => {
  it.each([
    ['Connection failed: ECONNREFUSED', 'Socket: Connection refused'],
    ['Connection failed: ETIMEDOUT', 'Socket: Connection timed out'],
    ['Connection failed: EHOSTUNREACH', 'Socket: No route to host'],
    ['Connection closed: ECONNRESET', 'Socket: Connection reset by peer'],
    ['Connection closed', 'Socket: Connection closed'],
    ['Connection failed: EWHATEVER', 'Socket: EWHATEVER'],
    ['Error: Hold timer expired', 'Error: Hold timer expired'],
    ['Received: Administrative shutdown', 'Received: Administrative shutdown'],
  ])('%s → %s', (margay, bird) => {
    expect(birdError(margay)).toBe(bird);
  });

  it('follows the state in INFO', () => {
    expect(calicoInfo(peer({ state: 'Active', lastError: 'Connection failed: ECONNREFUSED' }))).toBe(
      'Active Socket: Connection refused',
    );
  });
});

describe('PEER TYPE', () => {
  it.each([
    ['node-to-node mesh', 'node-to-node mesh'],
    ['global', 'global'],
    ['node specific', 'node specific'],
    ['route reflector', 'node specific'],
    ['route reflector client', 'node specific'],
    [undefined, 'node specific'],
  ] as const)('%s → %s', (peerType, shown) => {
    expect(calicoPeerType(peer(peerType === undefined ? {} : { peerType }))).toBe(shown);
  });
});

describe('the table', () => {
  it('breaks lines for minimum raggedness, not greedily', () => {
    // Greedy: "aaa bb" / "cc" / "ddddd" (cost 16); least ragged: "aaa" / "bb cc" / "ddddd" (10).
    expect(wrapWords(['aaa', 'bb', 'cc', 'ddddd'], 6)).toEqual([['aaa'], ['bb', 'cc'], ['ddddd']]);
    expect(wrapWords(['fits', 'on', 'one'], 30)).toEqual([['fits', 'on', 'one']]);
  });

  it('gives a word longer than 30 columns its own line and widens the column to it', () => {
    const word = 'x'.repeat(34);
    const out = renderCalicoTable(['Info'], [[`Active ${word}`]]);
    expect(out).toBe(
      [
        `+${'-'.repeat(36)}+`,
        `| ${' '.repeat(15)}INFO${' '.repeat(15)} |`,
        `+${'-'.repeat(36)}+`,
        `| Active${' '.repeat(28)} |`,
        `| ${word} |`,
        `+${'-'.repeat(36)}+`,
        '',
      ].join('\n'),
    );
  });

  it('right-aligns a cell that is a plain number', () => {
    expect(renderCalicoTable(['Count'], [['7']])).toContain('|     7 |');
  });
});
