// What one calculation output becomes for the two libraries: the Dataplane's desired state, and the
// local routes the Speaker announces. Both are made again only from the parts that moved, so the
// agent can tell by identity whether there is anything to hand over (a best-path change gives a
// new routes array and nothing else; a pass where nothing moved gives the very same object).
//
// A pod CIDR is announced only once its blackhole route is programmed in the kernel: before that,
// peers would send us traffic for it that we would route back out by the default route.
import type { LocalRoute } from '../../bgp/index.ts';
import type { DataplaneDesired, RouteSpec } from '../../felix/index.ts';
import type { CalcOutput } from '../calc/types.ts';

/** The parts of a calculation output the dataplane is handed. */
export type DataplaneInput = {
  readonly state: { readonly dataplane: Omit<CalcOutput['state']['dataplane'], 'policyExplain'> };
  readonly remoteRoutes: CalcOutput['remoteRoutes'];
};

export class DesiredDataplane {
  #last: DataplaneDesired | undefined;
  #local: readonly RouteSpec[] | undefined;
  #remote: readonly RouteSpec[] | undefined;

  /** The desired state for `out`; undefined when it is the one `next` gave last (nothing moved). */
  next(out: DataplaneInput): DataplaneDesired | undefined {
    const last = this.#last;
    const d = this.from(out);
    return d === last ? undefined : d;
  }

  /** The desired state for `out`: the same object as last time when no part of it moved. */
  from(out: DataplaneInput): DataplaneDesired {
    const d = out.state.dataplane;
    const last = this.#last;
    const routes =
      last !== undefined && this.#local === d.localRoutes && this.#remote === out.remoteRoutes
        ? last.routes
        : [...d.localRoutes, ...out.remoteRoutes];
    this.#local = d.localRoutes;
    this.#remote = out.remoteRoutes;
    const ipip = d.ipip ?? undefined;
    if (
      last !== undefined &&
      last.routes === routes &&
      last.endpoints === d.endpoints &&
      last.iptables === d.iptables &&
      last.ipsets === d.ipsets &&
      last.vxlan === d.vxlan &&
      last.ipip === ipip
    )
      return last;
    this.#last = {
      routes,
      endpoints: d.endpoints,
      iptables: d.iptables,
      ipsets: d.ipsets,
      vxlan: d.vxlan,
      ipip,
    };
    return this.#last;
  }
}

/** Which of the calculation's announcements the Speaker has, and when it needs a new list. */
export class Announcements {
  #from: readonly LocalRoute[] | undefined;
  #announced: readonly string[] = [];

  /** The prefixes handed to the Speaker last, in order. */
  get announced(): readonly string[] {
    return this.#announced;
  }

  /** A new Speaker has nothing: the next `next` hands it the list again. */
  reset(): void {
    this.#from = undefined;
    this.#announced = [];
  }

  /**
   * The list to hand the Speaker for `announcements`, keeping those whose blackhole `programmed`
   * says is in the kernel (every one when there is no dataplane); undefined when the Speaker has
   * that list already.
   */
  next(
    announcements: readonly LocalRoute[],
    programmed?: (prefix: string) => boolean,
  ): readonly LocalRoute[] | undefined {
    const ready =
      programmed === undefined ? announcements : announcements.filter((a) => programmed(a.prefix));
    const had = this.#announced;
    if (
      announcements === this.#from &&
      ready.length === had.length &&
      ready.every((a, i) => a.prefix === had[i])
    )
      return undefined;
    this.#from = announcements;
    this.#announced = ready.map((a) => a.prefix);
    return ready;
  }
}
