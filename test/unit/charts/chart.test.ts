// charts/margay with the real helm (Helm 4, test/unit/charts/helm.ts): `helm lint --strict` and
// `helm template` with every values file in values/, the rendered objects checked per kind
// (shape, references between them, margay.io objects through src/model's validateResource, the
// agent configuration through src/config/agent.ts), the security decisions (RBAC verbs exactly
// get/list/watch on the listed resources, no privileged container, the documented capabilities,
// exec probes of `margay health`), and values.schema.json rejecting bad values with the field named.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseAgentConfig } from '../../../src/config/agent.ts';
import { KINDS, validateResource } from '../../../src/model/index.ts';
import { CHART, helm, type KubeObject, NAMESPACE, RELEASE, render, template, VALUES_DIR } from './helm.ts';

type Obj = Record<string, unknown>;
type Container = {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: Obj }[];
  securityContext?: Obj & { capabilities?: { add?: string[]; drop?: string[] }; privileged?: boolean };
  livenessProbe?: { exec?: { command: string[] } };
  readinessProbe?: { exec?: { command: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = {
  hostNetwork?: boolean;
  serviceAccountName?: string;
  priorityClassName?: string;
  terminationGracePeriodSeconds?: number;
  tolerations?: Obj[];
  initContainers?: Container[];
  containers: Container[];
  volumes?: (Obj & { name: string })[];
};

const VALUES_FILES = readdirSync(VALUES_DIR).filter((f) => f.endsWith('.yaml'));

const EXPECTED_RULES = [
  { apiGroups: [''], resources: ['namespaces', 'nodes', 'pods'], verbs: ['get', 'list', 'watch'] },
  {
    apiGroups: ['margay.io'],
    resources: ['bgpconfigurations', 'bgppeers', 'ippools'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
];
const AGENT_CAPABILITIES = ['NET_ADMIN', 'NET_BIND_SERVICE', 'NET_RAW'];
const KNOWN_KINDS = new Set([
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'DaemonSet',
  'BGPConfiguration',
  'BGPPeer',
  'IPPool',
]);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function only(objs: KubeObject[], kind: string): KubeObject {
  const found = objs.filter((o) => o.kind === kind);
  expect(
    found.map((o) => o.metadata.name),
    `exactly one ${kind}`,
  ).toHaveLength(1);
  return found[0]!;
}

function podSpec(objs: KubeObject[]): PodSpec {
  return ((only(objs, 'DaemonSet').spec as Obj).template as Obj).spec as PodSpec;
}

function agent(objs: KubeObject[]): Container {
  const c = podSpec(objs).containers.find((x) => x.name === 'margay');
  expect(c, 'container margay').toBeDefined();
  return c!;
}

function envOf(c: Container, name: string) {
  return c.env?.find((e) => e.name === name);
}

/** A small structural check per kind; returns problems ("DaemonSet margay: spec.x: …"). */
function checkObject(o: KubeObject, all: KubeObject[]): string[] {
  const problems: string[] = [];
  const who = `${o.kind} ${o.metadata?.name}`;
  const need = (cond: unknown, what: string) => {
    if (!cond) problems.push(`${who}: ${what}`);
  };
  need(typeof o.apiVersion === 'string' && o.apiVersion !== '', 'apiVersion missing');
  need(typeof o.metadata?.name === 'string' && o.metadata.name.length <= 253, 'metadata.name missing');
  need(KNOWN_KINDS.has(o.kind), `unexpected kind ${o.kind}`);
  const names = (kind: string) => all.filter((x) => x.kind === kind).map((x) => x.metadata.name);
  switch (o.kind) {
    case 'ServiceAccount':
    case 'ConfigMap':
    case 'Secret':
      need(o.apiVersion === 'v1', 'apiVersion must be v1');
      need(o.metadata.namespace === NAMESPACE, 'namespaced object in the release namespace');
      if (o.kind === 'ConfigMap') {
        const data = o.data as Obj;
        need(
          Object.values(data).every((v) => typeof v === 'string'),
          'data values are strings',
        );
        const cfg = parseYaml(data['agent.json'] as string) as { api?: { listen?: string; token?: string } };
        need(cfg.api?.token === undefined, 'the ConfigMap carries no API token');
        // Beyond loopback the agent needs a token: an init container adds it from the Secret to
        // the configuration the agent reads (daemonset.yaml), as this does.
        const listen = cfg.api?.listen ?? '127.0.0.1:9099';
        const token = /^(127\.|\[::1\]:)/.test(listen) ? {} : { token: 'x'.repeat(16) };
        parseAgentConfig({ ...cfg, api: { ...cfg.api, ...token } }, 'ConfigMap agent.json');
      }
      if (o.kind === 'Secret') {
        const data = o.data as Record<string, string>;
        for (const [k, v] of Object.entries(data)) {
          need(/^[A-Za-z0-9+/]+=*$/.test(v), `data.${k} is base64`);
          need(Buffer.from(v, 'base64').toString().length >= 16, `data.${k} token has 16+ characters`);
        }
      }
      break;
    case 'ClusterRole': {
      need(o.apiVersion === 'rbac.authorization.k8s.io/v1', 'apiVersion');
      need(o.metadata.namespace === undefined, 'cluster-scoped');
      const rules = o.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
      need(Array.isArray(rules) && rules.length > 0, 'rules');
      for (const r of rules) {
        need(
          Array.isArray(r.apiGroups) && Array.isArray(r.resources) && Array.isArray(r.verbs),
          'rule shape',
        );
        need(
          Object.keys(r).every((k) => ['apiGroups', 'resources', 'verbs'].includes(k)),
          'no resourceNames/nonResourceURLs',
        );
      }
      break;
    }
    case 'ClusterRoleBinding': {
      need(o.apiVersion === 'rbac.authorization.k8s.io/v1', 'apiVersion');
      const ref = o.roleRef as Obj;
      need(ref.apiGroup === 'rbac.authorization.k8s.io' && ref.kind === 'ClusterRole', 'roleRef kind');
      need(names('ClusterRole').includes(ref.name as string), 'roleRef names the rendered ClusterRole');
      const subjects = o.subjects as Obj[];
      need(subjects.length === 1, 'one subject');
      need(
        subjects[0]?.kind === 'ServiceAccount' &&
          subjects[0]?.namespace === NAMESPACE &&
          names('ServiceAccount').includes(subjects[0]?.name as string),
        'subject is the rendered ServiceAccount',
      );
      break;
    }
    case 'DaemonSet': {
      need(o.apiVersion === 'apps/v1', 'apiVersion must be apps/v1');
      need(o.metadata.namespace === NAMESPACE, 'namespace');
      const spec = o.spec as Obj;
      const selector = (spec.selector as { matchLabels: Record<string, string> }).matchLabels;
      const tpl = spec.template as { metadata: { labels: Record<string, string> }; spec: PodSpec };
      need(
        Object.entries(selector).every(([k, v]) => tpl.metadata.labels[k] === v),
        'spec.selector matches the pod template labels',
      );
      const pod = tpl.spec;
      const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        need(DNS_LABEL.test(c.name), `container name ${c.name}`);
        need(typeof c.image === 'string' && c.image.includes(':'), `${c.name}: image with a tag`);
        for (const m of c.volumeMounts ?? []) need(volumes.has(m.name), `${c.name}: volume ${m.name} exists`);
        for (const e of c.env ?? []) {
          const ref = (e.valueFrom as { secretKeyRef?: { name: string } } | undefined)?.secretKeyRef;
          if (ref)
            need(
              names('Secret').includes(ref.name) || ref.name === 'margay-api-token',
              `${c.name}: secret ${ref.name}`,
            );
        }
      }
      need(names('ServiceAccount').includes(pod.serviceAccountName ?? ''), 'serviceAccountName is rendered');
      for (const v of pod.volumes ?? []) {
        const cm = (v.configMap as { name?: string } | undefined)?.name;
        if (cm !== undefined) need(names('ConfigMap').includes(cm), `volume ${v.name}: ConfigMap ${cm}`);
      }
      break;
    }
    case 'BGPConfiguration':
    case 'BGPPeer':
    case 'IPPool': {
      need(o.metadata.namespace === undefined, 'cluster-scoped');
      const r = validateResource(o);
      if (!r.ok) problems.push(...r.problems);
      break;
    }
  }
  return problems;
}

describe('helm lint', () => {
  it.each(VALUES_FILES)('passes --strict with %s', (file) => {
    const r = helm(['lint', '--strict', CHART, '--values', join(VALUES_DIR, file)]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('helm template', () => {
  it('has a values file for each install scenario: defaults, reflectors, ToR, VXLAN, token', () => {
    expect(VALUES_FILES).toEqual(
      expect.arrayContaining([
        'defaults.yaml',
        'route-reflectors.yaml',
        'tor-peering.yaml',
        'vxlan.yaml',
        'api-token.yaml',
      ]),
    );
  });

  describe.each(VALUES_FILES)('%s', (file) => {
    let objs: KubeObject[];
    beforeAll(() => {
      objs = render({ values: [file] });
    });

    it('renders only valid objects of the expected kinds', () => {
      expect(objs.length).toBeGreaterThan(5);
      expect(objs.flatMap((o) => checkObject(o, objs))).toEqual([]);
      const keys = objs.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(keys).size, 'no duplicate objects').toBe(keys.length);
    });

    it('grants exactly get/list/watch on the watched resources and nothing else', () => {
      const roles = objs.filter((o) => o.kind === 'ClusterRole');
      expect(roles).toHaveLength(1);
      const rules = (roles[0]!.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).map(
        (r) => ({ apiGroups: r.apiGroups, resources: [...r.resources].sort(), verbs: [...r.verbs].sort() }),
      );
      rules.sort((a, b) => (a.apiGroups[0] ?? '').localeCompare(b.apiGroups[0] ?? ''));
      expect(rules).toEqual(EXPECTED_RULES);
      const flat = JSON.stringify(rules);
      expect(flat).not.toContain('*');
      // The one namespaced grant: the password Secrets by name (secrets-role.test.ts).
      for (const role of objs.filter((o) => o.kind === 'Role'))
        expect(role.rules).toEqual([
          {
            apiGroups: [''],
            resources: ['secrets'],
            resourceNames: expect.arrayContaining([expect.any(String)]),
            verbs: ['get', 'list', 'watch'],
          },
        ]);
    });

    it('runs on every node with the host network, critical priority, one node at a time', () => {
      const ds = only(objs, 'DaemonSet');
      const spec = ds.spec as { updateStrategy: { type: string; rollingUpdate: { maxUnavailable: number } } };
      expect(spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
      const pod = podSpec(objs);
      expect(pod.hostNetwork).toBe(true);
      expect(pod.priorityClassName).toBe('system-node-critical');
      expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
      expect(envOf(agent(objs), 'NODENAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    });

    it('runs no container privileged; the agent has exactly the documented capabilities', () => {
      const pod = podSpec(objs);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(c.securityContext?.privileged, c.name).not.toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
        expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
        expect(c.securityContext?.capabilities?.drop, c.name).toEqual(['ALL']);
      }
      expect([...(agent(objs).securityContext?.capabilities?.add ?? [])].sort()).toEqual(AGENT_CAPABILITIES);
      for (const c of pod.initContainers ?? [])
        expect(c.securityContext?.capabilities?.add, c.name).toBeUndefined();
    });

    it('probes liveness and readiness with `margay health` exec probes', () => {
      const c = agent(objs);
      const api = envOf(c, 'MARGAY_API')?.value;
      expect(c.livenessProbe?.exec?.command).toEqual(['margay', 'health', '--live', '--api', api]);
      expect(c.readinessProbe?.exec?.command).toEqual(['margay', 'health', '--ready', '--api', api]);
      expect(c.command?.slice(0, 3)).toEqual(['margay', 'agent', '--config']);
    });

    it('installs the CNI plugin from an init container onto the host paths', () => {
      const pod = podSpec(objs);
      const init = pod.initContainers?.find((c) => c.name === 'install-cni');
      expect(init?.command).toEqual(['node', '/etc/margay/config/install.mjs', 'cni']);
      const hostPath = (name: string) =>
        (pod.volumes?.find((v) => v.name === name)?.hostPath as { path: string } | undefined)?.path;
      const mounted = Object.fromEntries(
        (init?.volumeMounts ?? []).map((m) => [m.mountPath, hostPath(m.name)]),
      );
      expect(mounted).toMatchObject({
        '/host/cni/bin': '/opt/cni/bin',
        '/host/cni/net.d': '/etc/cni/net.d',
        '/host/var/lib/margay': '/var/lib/margay',
      });
      expect(envOf(init!, 'NODENAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    });
  });
});

describe('scenarios', () => {
  const cr = (objs: KubeObject[], kind: string) => objs.filter((o) => o.kind === kind);
  const spec = (o: KubeObject | undefined) => o?.spec as Obj;

  it('defaults: a mesh, the default BGPConfiguration, one pool, API on loopback without a token', () => {
    const objs = render();
    expect(spec(cr(objs, 'BGPConfiguration')[0])).toMatchObject({
      asNumber: 64512,
      nodeToNodeMeshEnabled: true,
    });
    expect(cr(objs, 'BGPConfiguration')[0]?.metadata.name).toBe('default');
    expect(cr(objs, 'IPPool').map((o) => spec(o).cidr)).toEqual(['10.244.0.0/16']);
    expect(cr(objs, 'BGPPeer')).toEqual([]);
    expect(cr(objs, 'Secret')).toEqual([]);
    expect(envOf(agent(objs), 'MARGAY_API')?.value).toBe('127.0.0.1:9099');
    expect(envOf(agent(objs), 'MARGAY_API_TOKEN')).toBeUndefined();
    expect(podSpec(objs).initContainers?.map((c) => c.name)).toEqual(['install-cni']);
    expect(envOf(podSpec(objs).initContainers![0]!, 'CNI_MTU')?.value).toBe('1500');
  });

  it('route reflectors: mesh off, cluster ID by selector, every node peers with the reflectors', () => {
    const objs = render({ values: ['route-reflectors.yaml'] });
    expect(spec(cr(objs, 'BGPConfiguration')[0])).toMatchObject({
      nodeToNodeMeshEnabled: false,
      routeReflectorClusterIDs: [
        { nodeSelector: "margay.io/route-reflector == 'true'", clusterID: '244.0.0.1' },
      ],
    });
    expect(cr(objs, 'BGPPeer').map((o) => [o.metadata.name, spec(o)])).toEqual([
      [
        `${RELEASE}-route-reflectors`,
        { nodeSelector: 'all()', peerSelector: "margay.io/route-reflector == 'true'" },
      ],
    ]);
  });

  it('ToR peering: one BGPPeer per rack by node selector and one AS per rack', () => {
    const objs = render({ values: ['tor-peering.yaml'] });
    const peers = cr(objs, 'BGPPeer').map((o) => validateResource(o));
    expect(peers.every((r) => r.ok)).toBe(true);
    expect(cr(objs, 'BGPPeer').map((o) => [o.metadata.name, spec(o).peerIP, spec(o).nodeSelector])).toEqual([
      ['tor-r1', '192.0.2.1', "rack == 'r1'"],
      ['tor-r2', '198.51.100.1', { matchLabels: { rack: 'r2' } }],
    ]);
    expect((spec(cr(objs, 'BGPConfiguration')[0]).nodeASNumbers as unknown[]).length).toBe(2);
    const config = parseAgentConfig(
      parseYaml(
        only(objs, 'ConfigMap').data ? ((only(objs, 'ConfigMap').data as Obj)['agent.json'] as string) : '',
      ),
    );
    expect(config.ipv6Autodetection).toBe('cidr=2001:db8::/32');
  });

  it('VXLAN: the pool mode, no BGP, pod MTU 50 below the underlay', () => {
    const objs = render({ values: ['vxlan.yaml'] });
    expect(spec(cr(objs, 'IPPool')[0])).toMatchObject({ vxlanMode: 'CrossSubnet', natOutgoing: true });
    const config = parseAgentConfig(parseYaml((only(objs, 'ConfigMap').data as Obj)['agent.json'] as string));
    expect(config.bgp.enabled).toBe(false);
    expect(config.dataplane.iptablesBackend).toBe('nft');
    const init = podSpec(objs).initContainers!.find((c) => c.name === 'install-cni')!;
    expect(envOf(init, 'CNI_MTU')?.value).toBe('1450');
    expect(agent(objs).securityContext?.capabilities?.add).toBeDefined();
  });

  it('API on 0.0.0.0: a generated token Secret, added to the config by an init container, never in the ConfigMap', () => {
    const objs = render({ values: ['api-token.yaml'] });
    const secret = only(objs, 'Secret');
    const key = Object.keys(secret.data as Obj);
    expect(key).toEqual(['token']);
    const token = Buffer.from((secret.data as Record<string, string>).token!, 'base64').toString();
    expect(token).toMatch(/^[A-Za-z0-9]{48}$/);
    const cm = only(objs, 'ConfigMap');
    expect(JSON.stringify(cm.data)).not.toContain(token);
    const ref = { secretKeyRef: { name: secret.metadata.name, key: 'token' } };
    const init = podSpec(objs).initContainers!.find((c) => c.name === 'agent-config')!;
    expect(envOf(init, 'MARGAY_API_TOKEN')?.valueFrom).toEqual(ref);
    expect(envOf(agent(objs), 'MARGAY_API_TOKEN')?.valueFrom).toEqual(ref);
    expect(agent(objs).command).toEqual(['margay', 'agent', '--config', '/run/margay/agent.json']);
    expect(envOf(agent(objs), 'MARGAY_API')?.value).toBe('127.0.0.1:9099');
    expect(envOf(agent(objs), 'MARGAY_EXAMPLE')?.value).toBe('1');
  });

  it('API with an existing Secret: no Secret rendered, its name and key referenced', () => {
    const objs = render({ values: ['api-existing-secret.yaml'] });
    expect(cr(objs, 'Secret')).toEqual([]);
    expect(envOf(agent(objs), 'MARGAY_API_TOKEN')?.valueFrom).toEqual({
      secretKeyRef: { name: 'margay-api-token', key: 'api-token' },
    });
    expect(envOf(agent(objs), 'MARGAY_API')?.value).toBe('127.0.0.1:9443');
  });

  it('a specific API address is probed at that address', () => {
    const objs = render({ set: ['api.listen=192.0.2.10:9099'] });
    expect(agent(objs).livenessProbe?.exec?.command).toContain('192.0.2.10:9099');
    expect(cr(objs, 'Secret')).toHaveLength(1);
  });

  it('privileged=true is the documented opt-in, and only for the agent', () => {
    const objs = render({ set: ['privileged=true'] });
    expect(agent(objs).securityContext).toEqual({ privileged: true, runAsUser: 0 });
    for (const c of podSpec(objs).initContainers ?? []) expect(c.securityContext?.privileged).toBeUndefined();
  });

  it('the image tag defaults to the appVersion', () => {
    const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    expect(agent(render()).image).toBe(`margay/margay:${chart.appVersion}`);
    expect(agent(render({ set: ['image.tag=dev'] })).image).toBe('margay/margay:dev');
  });

  it('the CRDs come from crds/ (installed by helm, not templated), one per margay.io kind', () => {
    expect(cr(render(), 'CustomResourceDefinition')).toEqual([]);
    const r = template({ extra: ['--include-crds'] });
    const crds = cr(render({ extra: ['--include-crds'] }), 'CustomResourceDefinition');
    expect(r.status).toBe(0);
    const custom = Object.values(KINDS).filter((k) => k.isCustom);
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(
      custom.map((k) => `${k.plural}.margay.io`).sort(),
    );
  });

  it('NOTES.txt tells the next step', () => {
    const r = helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--dry-run=client']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `kubectl -n ${NAMESPACE} exec ds/${RELEASE} -c margay -- margayctl node status`,
    );
  });
});

describe('values.schema.json', () => {
  const rejects = (set: string[], field: string, words: RegExp) => {
    const r = template({ set });
    expect(r.status, r.stdout).not.toBe(0);
    expect(r.stderr).toContain(field);
    expect(r.stderr).toMatch(words);
  };

  it('rejects an AS number out of range, naming the field', () => {
    rejects(['bgp.asNumber=0'], '/bgp/asNumber', /minimum/);
  });
  it('rejects an unknown key (a typo), naming it', () => {
    rejects(['bgp.nodeToNodeMeshEnabled=false'], "'nodeToNodeMeshEnabled'", /additional properties/);
  });
  it('rejects an encapsulation mode that does not exist', () => {
    rejects(
      ['ipPools[0].name=p,ipPools[0].cidr=10.0.0.0/8,ipPools[0].vxlanMode=Sometimes'],
      '/ipPools/0/vxlanMode',
      /one of/,
    );
  });
  it('rejects a router peer without its AS number', () => {
    rejects(['bgp.peers[0].name=tor,bgp.peers[0].peerIP=192.0.2.1'], '/bgp/peers/0', /asNumber/);
  });
  it('takes a peer with bfd and rejects a bfd interval out of range, naming it', () => {
    const peer = 'bgp.peers[0].name=tor,bgp.peers[0].peerIP=192.0.2.1,bgp.peers[0].asNumber=65000';
    const ok = template({ set: [`${peer},bgp.peers[0].bfd.minRxMs=100,bgp.peers[0].bfd.multiplier=3`] });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/bfd:\n\s+minRxMs: 100\n\s+multiplier: 3/);
    rejects([`${peer},bgp.peers[0].bfd.minTxMs=5`], '/bgp/peers/0/bfd/minTxMs', /minimum/);
  });
  it('takes per-family prefix limits and TTL security on a peer, and rejects bad ones, naming them', () => {
    const peer = 'bgp.peers[0].name=tor,bgp.peers[0].peerIP=192.0.2.1,bgp.peers[0].asNumber=65000';
    const ok = template({
      set: [
        `${peer},bgp.peers[0].ttlSecurity=1,bgp.peers[0].maxPrefix.ipv4-unicast.limit=100,bgp.peers[0].maxPrefix.ipv4-unicast.action=warn`,
      ],
    });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/maxPrefix:\n\s+ipv4-unicast:\n\s+action: warn\n\s+limit: 100/);
    expect(ok.stdout).toMatch(/ttlSecurity: 1\n/);
    expect(template({ set: [`${peer},bgp.peers[0].maxPrefix=500`] }).status).toBe(0);
    rejects([`${peer},bgp.peers[0].ttlSecurity=255`], '/bgp/peers/0/ttlSecurity', /maximum/);
    rejects([`${peer},bgp.peers[0].maxPrefix.ipv4-unicast.action=drop`], '/bgp/peers/0/maxPrefix', /.+/);
  });
  it('takes restart times for a peer and the mesh, and rejects them out of range, naming them', () => {
    const peer = 'bgp.peers[0].name=tor,bgp.peers[0].peerIP=192.0.2.1,bgp.peers[0].asNumber=65000';
    const ok = template({ set: [`${peer},bgp.peers[0].maxRestartTime=300,bgp.nodeMeshMaxRestartTime=0`] });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/maxRestartTime: 300\n/);
    expect(ok.stdout).toMatch(/nodeMeshMaxRestartTime: 0\n/);
    expect(template({}).stdout).not.toMatch(/nodeMeshMaxRestartTime/);
    rejects([`${peer},bgp.peers[0].maxRestartTime=4096`], '/bgp/peers/0/maxRestartTime', /maximum/);
    rejects(['bgp.nodeMeshMaxRestartTime=-1'], '/bgp/nodeMeshMaxRestartTime', /minimum/);
  });
  it('takes the BGP times as Calico durations too, and rejects one that is not, naming it', () => {
    const peer = 'bgp.peers[0].name=tor,bgp.peers[0].peerIP=192.0.2.1,bgp.peers[0].asNumber=65000';
    const times =
      'bgp.peers[0].maxRestartTime=2m,bgp.peers[0].holdTime=1m30s,bgp.peers[0].keepaliveTime=10s,' +
      'bgp.peers[0].longLivedStaleTime=1h,bgp.nodeMeshMaxRestartTime=90s';
    const ok = template({ set: [`${peer},${times}`] });
    expect(ok.status, ok.stderr).toBe(0);
    for (const line of [
      'maxRestartTime: 2m',
      'holdTime: 1m30s',
      'keepaliveTime: 10s',
      'longLivedStaleTime: 1h',
      'nodeMeshMaxRestartTime: 90s',
    ])
      expect(ok.stdout).toContain(`${line}\n`);
    rejects([`${peer},bgp.peers[0].maxRestartTime=1d`], '/bgp/peers/0/maxRestartTime', /pattern|match/);
    rejects([`${peer},bgp.peers[0].keepaliveTime=-1s`], '/bgp/peers/0/keepaliveTime', /pattern|match/);
    rejects(['bgp.nodeMeshMaxRestartTime=5 s'], '/bgp/nodeMeshMaxRestartTime', /pattern|match/);
  });
  it('rejects a bad log level and a bad API address', () => {
    rejects(['logLevel=verbose'], '/logLevel', /one of/);
    rejects(['api.listen=localhost'], '/api/listen', /pattern|match/);
  });
});
