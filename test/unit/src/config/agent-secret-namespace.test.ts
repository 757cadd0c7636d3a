// Where the agent reads BGP password Secrets: the config's secretNamespace (the chart sets the
// release namespace), else $POD_NAMESPACE, else `default`; a bad value names the field.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig, secretNamespaceOf } from '../../../../src/config/agent.ts';

const base = { nodeName: 'node-1', datastore: { type: 'file', path: '/tmp/cluster.yaml' } };

describe('agent config secretNamespace', () => {
  it('is the config value, then $POD_NAMESPACE, then default', () => {
    expect(secretNamespaceOf(parseAgentConfig({ ...base, secretNamespace: 'kube-system' }), {})).toBe(
      'kube-system',
    );
    expect(secretNamespaceOf(parseAgentConfig(base), { POD_NAMESPACE: 'margay-system' })).toBe(
      'margay-system',
    );
    expect(secretNamespaceOf(parseAgentConfig(base), { POD_NAMESPACE: 'Not A Namespace' })).toBe('default');
    expect(secretNamespaceOf(parseAgentConfig(base), {})).toBe('default');
  });

  it('refuses a value that is not a namespace name, naming the field', () => {
    expect(() => parseAgentConfig({ ...base, secretNamespace: 'Kube_System' }, 'agent.yaml')).toThrow(
      /agent\.yaml: secretNamespace: must be a DNS label/,
    );
  });
});
