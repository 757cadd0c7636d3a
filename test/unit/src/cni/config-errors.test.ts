// Two margay-cni configuration failures by their code: an IPAM type other than margay's own is a
// field the plugin does not support (CNI code 2), and a pod CIDR file that exists but cannot be
// read is an I/O error (CNI code 5), unlike a missing one, which means "try again later".
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNetConf, resolveRanges } from '../../../../src/cni/config.ts';
import type { CniError } from '../../../../src/cni/spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'margay-cni-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const conf = (ipam: unknown): string =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'margay-cni', ipam });

function thrown(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected an error');
}

describe('margay-cni configuration errors', () => {
  it('ipam.type host-local: MARGAY_ERR_CNI_UNSUPPORTED_FIELD, CNI code 2, naming the type', () => {
    const err = thrown(() =>
      parseNetConf(conf({ type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]] })),
    );
    expect(err.code).toBe('MARGAY_ERR_CNI_UNSUPPORTED_FIELD');
    expect(err.cniCode).toBe(2);
    expect(err.message).toContain('"host-local"');
  });

  it('a pod CIDR file that cannot be read: MARGAY_ERR_CNI_IO, CNI code 5, naming the file', () => {
    const file = join(dir, 'pod-cidrs');
    mkdirSync(file); // reading a directory fails with EISDIR
    const c = parseNetConf(conf({ type: 'margay', podCIDRsFile: file }));
    const err = thrown(() => resolveRanges(c.ipam));
    expect(err.code).toBe('MARGAY_ERR_CNI_IO');
    expect(err.cniCode).toBe(5);
    expect(err.message).toContain(file);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('EISDIR');
  });
});
