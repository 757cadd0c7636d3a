// The resource registry and the discovery documents built from it: /api, /api/v1, /apis,
// /apis/<group>, /apis/<group>/<version> (legacy, unaggregated discovery — what client-node and
// kubectl fall back to), and /version.
import type { ResourceDef } from './resources.ts';
import { apiVersionOf, resourceKey, VERBS } from './resources.ts';

export const FAKE_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0-margay-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.24.0',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

export class Registry {
  readonly #byGroupVersion = new Map<string, Map<string, ResourceDef>>();

  add(def: ResourceDef): void {
    const gv = apiVersionOf(def);
    let resources = this.#byGroupVersion.get(gv);
    if (resources === undefined) {
      resources = new Map();
      this.#byGroupVersion.set(gv, resources);
    }
    resources.set(def.resource, def);
  }

  lookup(apiVersion: string, resource: string): ResourceDef | undefined {
    return this.#byGroupVersion.get(apiVersion)?.get(resource);
  }

  hasGroupVersion(apiVersion: string): boolean {
    return this.#byGroupVersion.has(apiVersion);
  }

  all(): ResourceDef[] {
    return [...this.#byGroupVersion.values()].flatMap((m) => [...m.values()]);
  }

  /** By kind (`Pod`), resource (`pods`), `ippools.margay.io` or `IPPool.margay.io`; throws if unknown. */
  find(kindOrResource: string): ResourceDef {
    const hits = this.all().filter(
      (d) =>
        d.kind === kindOrResource ||
        d.resource === kindOrResource ||
        resourceKey(d) === kindOrResource ||
        `${d.kind}.${d.group}` === kindOrResource,
    );
    if (hits.length !== 1) {
      throw new Error(
        `fake kube-apiserver: ${hits.length === 0 ? 'no' : 'ambiguous'} resource "${kindOrResource}"`,
      );
    }
    return hits[0] as ResourceDef;
  }

  byKind(apiVersion: string, kind: string): ResourceDef {
    const def = [...(this.#byGroupVersion.get(apiVersion)?.values() ?? [])].find((d) => d.kind === kind);
    if (def === undefined) throw new Error(`fake kube-apiserver: no resource for ${apiVersion} ${kind}`);
    return def;
  }

  groups(): { name: string; versions: string[] }[] {
    const groups = new Map<string, string[]>();
    for (const def of this.all()) {
      if (def.group === '') continue;
      const versions = groups.get(def.group) ?? [];
      if (!versions.includes(def.version)) versions.push(def.version);
      groups.set(def.group, versions);
    }
    return [...groups].map(([name, versions]) => ({ name, versions }));
  }
}

function apiResources(defs: readonly ResourceDef[]): unknown[] {
  const out: unknown[] = [];
  for (const def of defs) {
    out.push({
      name: def.resource,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: [...VERBS],
      ...(def.shortNames.length > 0 ? { shortNames: [...def.shortNames] } : {}),
    });
    if (def.hasStatus) {
      out.push({
        name: `${def.resource}/status`,
        singularName: '',
        namespaced: def.namespaced,
        kind: def.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return out;
}

/** The discovery document for a path, or undefined when the path is not a discovery path. */
export function discovery(registry: Registry, pathname: string, serverAddress: string): unknown {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] === 'version' && parts.length === 1) return FAKE_VERSION;
  if (parts[0] === 'api') {
    if (parts.length === 1) {
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      };
    }
    if (parts.length === 2 && parts[1] === 'v1') {
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: apiResources(registry.all().filter((d) => d.group === '')),
      };
    }
    return undefined;
  }
  if (parts[0] !== 'apis') return undefined;
  const groups = registry.groups().map((g) => {
    const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v }));
    return { name: g.name, versions, preferredVersion: versions[0] };
  });
  if (parts.length === 1) return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  const group = groups.find((g) => g.name === parts[1]);
  if (group === undefined) return undefined;
  if (parts.length === 2) return { kind: 'APIGroup', apiVersion: 'v1', ...group };
  if (parts.length === 3 && registry.hasGroupVersion(`${parts[1]}/${parts[2]}`)) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${parts[1]}/${parts[2]}`,
      resources: apiResources(registry.all().filter((d) => apiVersionOf(d) === `${parts[1]}/${parts[2]}`)),
    };
  }
  return undefined;
}
