// The heap rule of the daemons (src/heap.ts): which flags it adds for a memory limit and the flags
// a user gave, and how it finds the memory limit in the cgroup files of cgroup v1, v2 and hybrid
// systems, from a host and from inside a container. Running it under a real limited cgroup is
// test/unit/src/cli/speaker-heap.test.ts.
import { describe, expect, it } from 'vitest';
import { cgroupMemoryLimit, givenHeapFlags, heapFlags, memoryCgroups } from '../../../src/heap.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const none = { oldSpace: false, semiSpace: false };

function semiSpaceMb(flags: readonly string[]): number | undefined {
  const f = flags.find((x) => x.startsWith('--max-semi-space-size='));
  return f === undefined ? undefined : Number(f.split('=')[1]);
}

describe('heapFlags', () => {
  it('gives the old space half the memory limit', () => {
    expect(heapFlags(256 * MiB, none)).toContain('--max-old-space-size=128');
    expect(heapFlags(1 * GiB, none)).toContain('--max-old-space-size=512');
    expect(heapFlags(384 * MiB + 123_456, none)).toContain('--max-old-space-size=192');
  });

  it('never writes 0, which V8 reads as no limit, for a limit of a few MiB', () => {
    const old = heapFlags(1 * MiB, none).find((f) => f.startsWith('--max-old-space-size='));
    expect(Number(old?.split('=')[1])).toBeGreaterThan(0);
  });

  it('leaves the old space to V8 without a limit, and sets a small semi-space either way', () => {
    const flags = heapFlags(undefined, none);
    expect(flags.some((f) => f.startsWith('--max-old-space-size'))).toBe(false);
    expect(semiSpaceMb(flags)).toBeGreaterThan(0);
    // V8's own maximum reaches 64 MiB on a machine with several GiB; the daemon's stays small.
    expect(semiSpaceMb(flags)).toBeLessThanOrEqual(16);
    expect(semiSpaceMb(heapFlags(256 * MiB, none))).toBe(semiSpaceMb(flags));
  });

  it('adds nothing the user has set', () => {
    expect(heapFlags(256 * MiB, { oldSpace: true, semiSpace: false })).toEqual([
      expect.stringMatching(/^--max-semi-space-size=\d+$/),
    ]);
    expect(heapFlags(256 * MiB, { oldSpace: false, semiSpace: true })).toEqual(['--max-old-space-size=128']);
    expect(heapFlags(256 * MiB, { oldSpace: true, semiSpace: true })).toEqual([]);
  });
});

describe('givenHeapFlags', () => {
  it('finds the flags on the command line and in NODE_OPTIONS, with - or _', () => {
    expect(givenHeapFlags(['--max-old-space-size=300'], undefined)).toEqual({
      oldSpace: true,
      semiSpace: false,
    });
    expect(givenHeapFlags([], '--enable-source-maps --max_semi_space_size=2')).toEqual({
      oldSpace: false,
      semiSpace: true,
    });
    expect(givenHeapFlags(['--max-semi-space-size', '4'], '"--max-old-space-size=512"')).toEqual({
      oldSpace: true,
      semiSpace: true,
    });
  });

  it('counts the percentage form as an old-space size and --max-heap-size as both', () => {
    expect(givenHeapFlags([], '--max-old-space-size-percentage=40')).toEqual({
      oldSpace: true,
      semiSpace: false,
    });
    expect(givenHeapFlags(['--max-heap-size=400'], '')).toEqual({ oldSpace: true, semiSpace: true });
  });

  it('is nothing when neither names a heap size', () => {
    expect(givenHeapFlags(['--enable-source-maps'], '--trace-warnings  --stack-size=2000')).toEqual(none);
    expect(givenHeapFlags([], undefined)).toEqual(none);
  });
});

/** A read function over a fixed set of files. */
const files =
  (map: Record<string, string>) =>
  (path: string): string | undefined =>
    map[path];

// /proc/self/mountinfo lines, as the kernel writes them.
const V1_MEMORY_MOUNT = (root: string) =>
  `35 25 0:30 ${root} /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory`;
const V1_CPU_MOUNT = '33 25 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:13 - cgroup cgroup rw,cpu';
const V2_MOUNT = (root: string, at = '/sys/fs/cgroup') =>
  `30 24 0:26 ${root} ${at} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate`;
const ROOT_MOUNT = '24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw';
const V1_UNLIMITED = '9223372036854771712\n';
const MACHINE = 16 * GiB;

describe('cgroupMemoryLimit', () => {
  it('cgroup v1 on a host: the limit of the process cgroup, below the hierarchy root', () => {
    const read = files({
      '/proc/self/cgroup': '5:cpu:/\n4:memory:/kubepods/burstable/pod1/c1\n0::/\n',
      '/proc/self/mountinfo': [ROOT_MOUNT, V1_CPU_MOUNT, V1_MEMORY_MOUNT('/')].join('\n'),
      '/sys/fs/cgroup/memory/kubepods/burstable/pod1/c1/memory.limit_in_bytes': `${256 * MiB}\n`,
      '/sys/fs/cgroup/memory/kubepods/burstable/pod1/memory.limit_in_bytes': `${300 * MiB}\n`,
      '/sys/fs/cgroup/memory/kubepods/burstable/memory.limit_in_bytes': V1_UNLIMITED,
      '/sys/fs/cgroup/memory/kubepods/memory.limit_in_bytes': V1_UNLIMITED,
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
    });
    expect(memoryCgroups(read)).toEqual([
      {
        version: 1,
        dir: '/sys/fs/cgroup/memory/kubepods/burstable/pod1/c1',
        mountPoint: '/sys/fs/cgroup/memory',
      },
    ]);
    expect(cgroupMemoryLimit(read, MACHINE)).toBe(256 * MiB);
  });

  it('a parent limit smaller than the process cgroup binds it', () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods.slice/pod1.slice/c1.scope\n',
      '/proc/self/mountinfo': [ROOT_MOUNT, V2_MOUNT('/')].join('\n'),
      '/sys/fs/cgroup/kubepods.slice/pod1.slice/c1.scope/memory.max': 'max\n',
      '/sys/fs/cgroup/kubepods.slice/pod1.slice/memory.max': `${512 * MiB}\n`,
      '/sys/fs/cgroup/kubepods.slice/memory.max': `${8 * GiB}\n`,
    });
    expect(cgroupMemoryLimit(read, MACHINE)).toBe(512 * MiB);
  });

  it('cgroup v1 in a container: the mount shows the container cgroup itself', () => {
    const read = files({
      '/proc/self/cgroup': '4:memory:/docker/0123abcd\n3:cpu,cpuacct:/docker/0123abcd\n',
      '/proc/self/mountinfo': [ROOT_MOUNT, V1_MEMORY_MOUNT('/docker/0123abcd')].join('\n'),
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': `${384 * MiB}\n`,
    });
    expect(memoryCgroups(read)).toEqual([
      { version: 1, dir: '/sys/fs/cgroup/memory', mountPoint: '/sys/fs/cgroup/memory' },
    ]);
    expect(cgroupMemoryLimit(read, MACHINE)).toBe(384 * MiB);
  });

  it('cgroup v2 in a container with its own cgroup namespace', () => {
    const read = files({
      '/proc/self/cgroup': '0::/\n',
      '/proc/self/mountinfo': [ROOT_MOUNT, V2_MOUNT('/')].join('\n'),
      '/sys/fs/cgroup/memory.max': `${256 * MiB}\n`,
    });
    expect(cgroupMemoryLimit(read, MACHINE)).toBe(256 * MiB);
  });

  it('a hybrid system: the memory limit from v1, the v2 hierarchy without memory files', () => {
    const read = files({
      '/proc/self/cgroup': '9:name=systemd:/\n4:memory:/session/a\n0::/\n',
      '/proc/self/mountinfo': [
        ROOT_MOUNT,
        V1_MEMORY_MOUNT('/'),
        V2_MOUNT('/', '/sys/fs/cgroup/unified'),
      ].join('\n'),
      '/sys/fs/cgroup/memory/session/a/memory.limit_in_bytes': `${200 * MiB}\n`,
      '/sys/fs/cgroup/memory/session/memory.limit_in_bytes': V1_UNLIMITED,
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
    });
    expect(memoryCgroups(read).map((c) => c.version)).toEqual([1, 2]);
    expect(cgroupMemoryLimit(read, MACHINE)).toBe(200 * MiB);
  });

  it('no limit: v2 "max", v1 unlimited, a limit above the machine, or no cgroup files at all', () => {
    const v2max = files({
      '/proc/self/cgroup': '0::/user.slice\n',
      '/proc/self/mountinfo': [ROOT_MOUNT, V2_MOUNT('/')].join('\n'),
      '/sys/fs/cgroup/user.slice/memory.max': 'max\n',
    });
    expect(cgroupMemoryLimit(v2max, MACHINE)).toBeUndefined();
    const v1 = files({
      '/proc/self/cgroup': '4:memory:/\n',
      '/proc/self/mountinfo': V1_MEMORY_MOUNT('/'),
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
    });
    expect(cgroupMemoryLimit(v1, MACHINE)).toBeUndefined();
    const above = files({
      '/proc/self/cgroup': '0::/\n',
      '/proc/self/mountinfo': V2_MOUNT('/'),
      '/sys/fs/cgroup/memory.max': `${32 * GiB}\n`,
    });
    expect(cgroupMemoryLimit(above, MACHINE)).toBeUndefined();
    expect(cgroupMemoryLimit(files({}), MACHINE)).toBeUndefined();
  });
});
