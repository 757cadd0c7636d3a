// The chart's grant for BGP passwords, with the real helm: a namespaced Role that names exactly the
// Secrets of bgp.peers[].password, bgp.nodeMeshPassword and bgp.passwordSecrets (resourceNames,
// get/list/watch), bound to the agent's ServiceAccount; no Role at all when no Secret is named (an
// empty resourceNames would grant every Secret of the namespace); never a rule on all Secrets.
// The rendered BGPPeer and BGPConfiguration carry the secretKeyRef, and the agent configuration
// names the release namespace as the one Secrets are read in.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseAgentConfig } from '../../../src/config/agent.ts';
import { validateResource } from '../../../src/model/index.ts';
import { type KubeObject, NAMESPACE, RELEASE, render, template } from './helm.ts';

const PEER = 'bgp.peers[0].name=tor,bgp.peers[0].peerIP=192.0.2.1,bgp.peers[0].asNumber=65000';
const PEER_PASSWORD = `${PEER},bgp.peers[0].password.secretKeyRef.name=tor-md5,bgp.peers[0].password.secretKeyRef.key=password`;
const MESH_PASSWORD =
  'bgp.nodeMeshPassword.secretKeyRef.name=mesh-md5,bgp.nodeMeshPassword.secretKeyRef.key=pw';

const ofKind = (objs: KubeObject[], kind: string) => objs.filter((o) => o.kind === kind);

describe('chart: BGP password Secrets', () => {
  it('grants get/list/watch on exactly the named Secrets, in the release namespace', () => {
    const objs = render({ set: [PEER_PASSWORD, MESH_PASSWORD, 'bgp.passwordSecrets={outside,tor-md5}'] });
    const [role, ...moreRoles] = ofKind(objs, 'Role');
    expect(moreRoles).toEqual([]);
    expect(role?.metadata.namespace).toBe(NAMESPACE);
    expect(role?.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['mesh-md5', 'outside', 'tor-md5'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
    const [binding, ...moreBindings] = ofKind(objs, 'RoleBinding');
    expect(moreBindings).toEqual([]);
    expect(binding?.metadata.namespace).toBe(NAMESPACE);
    expect(binding?.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role?.metadata.name,
    });
    const account = ofKind(objs, 'ServiceAccount')[0];
    expect(binding?.subjects).toEqual([
      { kind: 'ServiceAccount', name: account?.metadata.name, namespace: NAMESPACE },
    ]);
    // The ClusterRole still names no Secret.
    expect(JSON.stringify(ofKind(objs, 'ClusterRole'))).not.toContain('secrets');
  });

  it('renders no Role when no Secret is named', () => {
    const objs = render({ set: [PEER] });
    expect(ofKind(objs, 'Role')).toEqual([]);
    expect(ofKind(objs, 'RoleBinding')).toEqual([]);
  });

  it('renders the secretKeyRefs into valid objects, and the namespace into the agent config', () => {
    const objs = render({ set: [PEER_PASSWORD, MESH_PASSWORD] });
    for (const o of [...ofKind(objs, 'BGPPeer'), ...ofKind(objs, 'BGPConfiguration')]) {
      const r = validateResource(o);
      expect(r.ok ? [] : r.problems).toEqual([]);
    }
    const peer = ofKind(objs, 'BGPPeer')[0];
    expect((peer!.spec as { password?: unknown }).password).toEqual({
      secretKeyRef: { name: 'tor-md5', key: 'password' },
    });
    const bgpConfig = ofKind(objs, 'BGPConfiguration')[0];
    expect((bgpConfig!.spec as { nodeMeshPassword?: unknown }).nodeMeshPassword).toEqual({
      secretKeyRef: { name: 'mesh-md5', key: 'pw' },
    });
    const cm = ofKind(objs, 'ConfigMap').find((o) => o.metadata.name === RELEASE);
    const config = parseAgentConfig(parseYaml((cm!.data as Record<string, string>)['agent.json']!));
    expect(config.secretNamespace).toBe(NAMESPACE);
  });

  it('rejects a password without a Secret name, or a bad passwordSecrets entry, naming the field', () => {
    const noName = template({ set: [`${PEER},bgp.peers[0].password.secretKeyRef.key=password`] });
    expect(noName.status).not.toBe(0);
    expect(noName.stderr).toContain('/bgp/peers/0/password/secretKeyRef');
    expect(noName.stderr).toMatch(/name/);
    const bad = template({ set: ['bgp.passwordSecrets={Not_A_Name}'] });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('/bgp/passwordSecrets/0');
  });
});
