// The file format: multi-document YAML, mixed kinds, List documents; a bad file is rejected as a
// whole with every problem named by line, document, kind, name and field.
import { describe, expect, it } from 'vitest';
import { DatastoreFileError, parseResourceFile } from '../../../../../src/datastore/file/parse.ts';

function rejects(text: string): readonly string[] {
  try {
    parseResourceFile(text, 'cluster.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(DatastoreFileError);
    expect((err as DatastoreFileError).code).toBe('MARGAY_ERR_DATASTORE_INVALID');
    return (err as DatastoreFileError).problems;
  }
  throw new Error('expected the file to be rejected');
}

const GOOD = `
apiVersion: margay.io/v1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 65000, nodeToNodeMeshEnabled: false}
---
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {rack: r1}
  annotations: {margay.io/ipv4-address: 192.0.2.11/24}
spec: {podCIDR: 10.244.1.0/24}
---
apiVersion: margay.io/v1
kind: BGPPeer
metadata: {name: tor-r1}
spec: {peerIP: 192.0.2.1, asNumber: 65101, nodeSelector: "rack == 'r1'"}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: shop, labels: {env: prod}}
  - apiVersion: v1
    kind: Pod
    metadata: {name: web-0, namespace: shop, labels: {app: web}}
    spec: {nodeName: node-1, containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]}
    status: {podIP: 10.244.1.5}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: http}]}]
---
apiVersion: margay.io/v1
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.244.0.0/16, vxlanMode: CrossSubnet}
---
`;

describe('parseResourceFile', () => {
  it('reads every kind, mixed, including List items, skipping empty documents', () => {
    const resources = parseResourceFile(GOOD, 'cluster.yaml');
    expect(resources.map((r) => `${r.kind} ${r.metadata.namespace ?? ''}/${r.metadata.name}`)).toEqual([
      'BGPConfiguration /default',
      'Node /node-1',
      'BGPPeer /tor-r1',
      'Namespace /shop',
      'Pod shop/web-0',
      'NetworkPolicy shop/web',
      'IPPool /pods',
    ]);
  });

  it('an empty file is an empty cluster', () => {
    expect(parseResourceFile('', 'cluster.yaml')).toEqual([]);
    expect(parseResourceFile('---\n# nothing\n---\n', 'cluster.yaml')).toEqual([]);
  });

  it('names line, document, kind, name and field of every problem', () => {
    const text = [
      'apiVersion: v1',
      'kind: Node',
      'metadata: {name: node-1}',
      '---',
      'apiVersion: margay.io/v1',
      'kind: BGPPeer',
      'metadata: {name: tor-1}',
      'spec: {peerIP: 192.0.2.1, asNumber: 0}',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: web}',
      '---',
      'apiVersion: margay.io/v1',
      'kind: IPPool',
      'metadata: {name: pods}',
      'spec: {cidr: 10.244.0.0/16, vxlanMode: Always, ipipMode: Always}',
    ].join('\n');
    expect(rejects(text)).toEqual([
      'cluster.yaml:5: document 2: BGPPeer tor-1: spec.asNumber: must be 1..4294967295',
      'cluster.yaml:10: document 3: kind: unknown kind "Service" (expected one of Node, Pod, Namespace, NetworkPolicy, BGPConfiguration, BGPPeer, IPPool, Secret)',
      'cluster.yaml:14: document 4: IPPool pods: spec.ipipMode: must be Never when vxlanMode is Always (one encapsulation per pool)',
    ]);
  });

  it('reports duplicates (same kind, namespace and name) with both places', () => {
    const pod = (ns: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, namespace: ${ns}}\n`;
    expect(rejects([pod('a'), pod('b'), pod('a')].join('---\n'))).toEqual([
      'cluster.yaml:9: document 3: Pod a/web-0: duplicates document 1 (line 1)',
    ]);
    // The same name in another kind is not a duplicate.
    const ok = parseResourceFile(
      'apiVersion: v1\nkind: Node\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n',
      'f',
    );
    expect(ok).toHaveLength(2);
  });

  it('names a List item', () => {
    expect(
      rejects(
        'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: ok}}\n  - {apiVersion: v1, kind: Namespace}\n',
      ),
    ).toEqual([
      'cluster.yaml:1: document 1 items[1]: Namespace (no name): metadata: Invalid input: expected object, received undefined',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = rejects('apiVersion: v1\nkind: Node\nmetadata: {name: a}\n---\nkind: [unclosed\n');
    expect(problems).toHaveLength(1);
    // The YAML parser names where it noticed: the unclosed flow sequence at the end of the input.
    expect(problems[0]).toMatch(/^cluster\.yaml:6: document 2: YAML: Flow sequence .* end with a \]/);
    expect(rejects('a: 1\na: 2\n')[0]).toMatch(/^cluster\.yaml:\d+: document 1: YAML: .*[Uu]nique/);
  });

  it('refuses a document that is not an object', () => {
    expect(rejects('- a\n- b\n')).toEqual([
      'cluster.yaml:1: document 1: (top level): must be an object with apiVersion, kind and metadata',
    ]);
  });
});
