// The deletions a file datastore applies only after they have lasted: a file cut short (written in
// place and read before the writer finished, or left so by a writer that stalled or died) parses
// as a valid file without its last objects, and "those objects were deleted" would withdraw a
// BGP peer's session or a node's routes. What a cut-short file looks like against the state in
// force is the rule here; how long it must last is file-datastore.ts's CONFIRM_MS.
import type { ResourceKind } from '../../model/resource.ts';
import type { ResourceChange, Snapshot } from '../../model/snapshot.ts';
import { SNAPSHOT_FIELD } from '../../model/snapshot.ts';

/**
 * Why the step from `previous` (read from `previousText`) to `next` (from `nextText`) by
 * `changes` is a sudden loss, or undefined when it is an ordinary edit. A sudden loss deletes at
 * least one object and
 * - leaves a kind that had objects with none (the last BGPPeer, every Node), or
 * - deletes more than half of all objects: an edit that large is rare, a cut-short file common, or
 * - is a strict prefix of the text in force: the same file rewritten in place and read halfway.
 */
export function suddenLoss(
  previous: Snapshot,
  next: Snapshot,
  changes: readonly ResourceChange[],
  previousText: Buffer,
  nextText: Buffer,
): string | undefined {
  const deleted = changes.filter((c) => c.type === 'deleted').length;
  if (deleted === 0) return undefined;
  let total = 0;
  const emptied: ResourceKind[] = [];
  for (const [kind, field] of Object.entries(SNAPSHOT_FIELD) as [ResourceKind, keyof Snapshot][]) {
    total += previous[field].size;
    if (previous[field].size > 0 && next[field].size === 0) emptied.push(kind);
  }
  if (emptied.length > 0) return `it deletes every ${emptied.join(', every ')}`;
  if (deleted * 2 > total) return `it deletes ${deleted} of ${total} objects`;
  if (nextText.length < previousText.length && previousText.subarray(0, nextText.length).equals(nextText))
    return 'it is the file in force cut short';
  return undefined;
}
