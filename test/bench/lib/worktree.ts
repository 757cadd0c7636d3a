// Another version of the code for a benchmark to run beside this checkout's: a git worktree of a
// given commit under the temporary directory, detached, with this checkout's node_modules linked
// in (the dependencies of an older commit are a subset of today's), removed again by the run's
// teardown (`git worktree remove --force`, which also drops git's record of it).

import { rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_PREFIX } from './netns.ts';
import { run } from './proc.ts';
import type { Teardown } from './teardown.ts';

export interface CodeVersion {
  /** The directory whose src/main.ts is run. */
  readonly dir: string;
  /** The commit checked out there (`+dirty` when the checkout has uncommitted changes). */
  readonly commit: string;
}

/** The commit of a checkout, with `+dirty` when it has uncommitted changes to tracked files. */
export async function describeCheckout(dir: string): Promise<CodeVersion> {
  const commit = (await run(['git', '-C', dir, 'rev-parse', '--short=12', 'HEAD'])).stdout.trim();
  const dirty = (
    await run(['git', '-C', dir, 'status', '--porcelain', '--untracked-files=no'])
  ).stdout.trim();
  return { dir, commit: dirty === '' ? commit : `${commit}+dirty` };
}

/** A detached worktree of `ref` (of the repository at `repo`), removed by `teardown`. */
export async function addWorktree(teardown: Teardown, repo: string, ref: string): Promise<CodeVersion> {
  const commit = (
    await run(['git', '-C', repo, 'rev-parse', '--verify', '--short=12', `${ref}^{commit}`])
  ).stdout.trim();
  const dir = join(tmpdir(), `${RUN_PREFIX}worktree-${commit}`);
  await run(['git', '-C', repo, 'worktree', 'add', '--detach', dir, commit], { timeoutMs: 60_000 });
  teardown.add(`worktree ${dir}`, async () => {
    // The link first, so that nothing removing the worktree can ever reach into the real
    // node_modules through it.
    await rm(join(dir, 'node_modules'), { force: true });
    await run(['git', '-C', repo, 'worktree', 'remove', '--force', dir], { timeoutMs: 60_000 });
  });
  await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return { dir, commit };
}
