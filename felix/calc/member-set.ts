// The members of one ipset, kept up to date one member at a time (PolicyStore's sets).
//
// Members are counted, since two pods may hold one address for a while (a pod deleted after its
// address went to a new one): a member leaves the set only when its last holder does. `output()`
// gives the set as a normalized IpSet: the same object as last time when no member came or went,
// otherwise the previous one with the members that came and went (ipSetWithChange: the new set
// builds its sorted members array only when something reads it, and the ipset writer writes the
// change without reading it), so a change costs the number of members that changed — never a copy
// or a sort of the whole set. Members are canonical when they arrive (the store builds them from
// resolved pods and normalized policies), so they are never parsed again here or in the Dataplane.
import type { IpSet } from '../model/ipsets.ts';
import { ipSetOfCanonicalMembers, ipSetWithChange } from '../model/ipsets.ts';
import type { SetIdentity } from './policy-sets.ts';

export class MemberSet {
  readonly id: SetIdentity;
  readonly #counts = new Map<string, number>();
  // Members whose presence may differ from the last output, with whether they were in it.
  readonly #touched = new Map<string, boolean>();
  readonly #onTouch: (set: MemberSet) => void;
  #out: IpSet | undefined;
  #previous: IpSet | undefined;

  /**
   * `onTouch` is called whenever the set's members may have changed since the last output.
   * `previous` is an earlier output of a set of this name: the first output is that object when
   * the members are the same.
   */
  constructor(id: SetIdentity, onTouch: (set: MemberSet) => void, previous?: IpSet) {
    this.id = id;
    this.#onTouch = onTouch;
    this.#previous = previous;
  }

  get size(): number {
    return this.#counts.size;
  }

  /** The last output (undefined before the first). */
  get current(): IpSet | undefined {
    return this.#out;
  }

  add(member: string): void {
    const n = this.#counts.get(member) ?? 0;
    this.#counts.set(member, n + 1);
    if (n === 0) this.#touch(member, false);
  }

  remove(member: string): void {
    const n = this.#counts.get(member);
    if (n === undefined) throw new Error(`ipset ${this.id.name}: ${member} removed more often than added`);
    if (n > 1) this.#counts.set(member, n - 1);
    else {
      this.#counts.delete(member);
      this.#touch(member, true);
    }
  }

  /** Replaces the whole content (each member counted once). */
  reset(members: Iterable<string>): void {
    const next = new Set(members);
    for (const m of this.#counts.keys()) if (!next.has(m)) this.#touch(m, true);
    for (const m of next) if (!this.#counts.has(m)) this.#touch(m, false);
    this.#counts.clear();
    for (const m of next) this.#counts.set(m, 1);
  }

  has(member: string): boolean {
    return this.#counts.has(member);
  }

  output(): IpSet {
    const prev = this.#out;
    if (prev !== undefined && this.#touched.size === 0) return prev;
    if (prev !== undefined) {
      const adds: string[] = [];
      const dels: string[] = [];
      for (const [m, was] of this.#touched) {
        const now = this.#counts.has(m);
        if (now && !was) adds.push(m);
        else if (was && !now) dels.push(m);
      }
      this.#touched.clear();
      if (adds.length === 0 && dels.length === 0) return prev;
      this.#out = ipSetWithChange(prev, { adds: adds.sort(), dels: dels.sort() });
      return this.#out;
    }
    const members = [...this.#counts.keys()].sort();
    this.#touched.clear();
    const earlier = this.#previous;
    this.#previous = undefined;
    if (earlier !== undefined && sameArray(earlier.members, members)) {
      this.#out = earlier;
      return earlier;
    }
    // Sorted without duplicates by construction: the keys of a map, sorted.
    this.#out = ipSetOfCanonicalMembers({ ...this.id, members }, { sorted: true });
    return this.#out;
  }

  #touch(member: string, was: boolean): void {
    if (this.#touched.size === 0) this.#onTouch(this);
    // Before the first output every member is new: the first output sorts them all anyway.
    if (this.#out === undefined) this.#touched.set('', false);
    else if (!this.#touched.has(member)) this.#touched.set(member, was);
  }
}

function sameArray(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
