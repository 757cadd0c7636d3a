// The libcni-like runner on fake plugins (sh scripts that record what they were given): order
// for ADD/CHECK/DEL, prevResult chaining, runtimeConfig only for declared capabilities, errors.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addNetworkList,
  type ConfList,
  checkNetworkList,
  delNetworkList,
  findPlugin,
  PluginError,
  pluginConfig,
} from '../../../../src/cni/invoke.ts';

const dir = mkdtempSync(join(tmpdir(), 'mgy-cni-invoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const record = join(dir, 'calls');

/** A plugin that appends "type command stdin" to the record and prints a result naming itself. */
function fakePlugin(type: string, fail = false): void {
  const body = fail
    ? `echo '{"cniVersion":"1.0.0","code":100,"msg":"${type} is full"}'; exit 1`
    : `printf '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/32"}],"by":"%s"}' ${type}`;
  const file = join(dir, type);
  writeFileSync(
    file,
    `#!/bin/sh\nin=$(cat)\nprintf '%s %s %s %s\\n' ${type} "$CNI_COMMAND" "$CNI_CONTAINERID" "$in" >> ${record}\n${body}\n`,
  );
  chmodSync(file, 0o755);
}
fakePlugin('first');
fakePlugin('second');
fakePlugin('broken', true);

const list: ConfList = {
  cniVersion: '1.0.0',
  name: 'chain',
  plugins: [{ type: 'first' }, { type: 'second', capabilities: { portMappings: true } }],
};
const att = {
  containerId: 'c1',
  ifName: 'eth0',
  netns: '/var/run/netns/x',
  capabilities: { portMappings: [{ hostPort: 80 }], bandwidth: {} },
};
const opts = { cniPath: ['/nonexistent', dir] };
const calls = () =>
  readFileSync(record, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [type, cmd, id, ...json] = l.split(' ');
      return { type, cmd, id, conf: JSON.parse(json.join(' ')) as Record<string, unknown> };
    });

describe('running a conflist as libcni does', () => {
  it('ADD: in order, each given the previous result; capabilities only where declared', async () => {
    const result = await addNetworkList(list, att, opts);
    expect(result).toMatchObject({ by: 'second' });
    const c = calls();
    expect(c.map((x) => `${x.type} ${x.cmd}`)).toEqual(['first ADD', 'second ADD']);
    expect(c[0]?.conf).toEqual({ type: 'first', name: 'chain', cniVersion: '1.0.0' });
    expect(c[1]?.conf).toMatchObject({
      runtimeConfig: { portMappings: [{ hostPort: 80 }] },
      prevResult: { by: 'first' },
    });
    expect(c[1]?.conf.runtimeConfig).not.toHaveProperty('bandwidth');
  });

  it('CHECK in order and DEL in reverse order, both with the cached result', async () => {
    writeFileSync(record, '');
    await checkNetworkList(list, att, { cached: true }, opts);
    await delNetworkList(list, att, { cached: true }, opts);
    const c = calls();
    expect(c.map((x) => `${x.type} ${x.cmd}`)).toEqual([
      'first CHECK',
      'second CHECK',
      'second DEL',
      'first DEL',
    ]);
    for (const x of c) expect(x.conf.prevResult).toEqual({ cached: true });
  });

  it('a failing plugin stops the chain with its CNI error', async () => {
    writeFileSync(record, '');
    const bad: ConfList = { ...list, plugins: [{ type: 'broken' }, { type: 'second' }] };
    const err = await addNetworkList(bad, att, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toBe('broken ADD: exit 1, CNI error 100: broken is full');
    expect(calls().map((x) => x.type)).toEqual(['broken']);
  });

  it('finds plugins along CNI_PATH and names the path when it cannot', () => {
    expect(findPlugin('first', opts.cniPath)).toBe(join(dir, 'first'));
    expect(() => findPlugin('nope', opts.cniPath)).toThrow(`not found in /nonexistent:${dir}`);
    expect(pluginConfig(list, { type: 'x', name: 'ignored' }, att, undefined)).toEqual({
      type: 'x',
      name: 'chain',
      cniVersion: '1.0.0',
    });
  });
});
