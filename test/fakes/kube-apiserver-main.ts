#!/usr/bin/env node
// The fake kube-apiserver (kube-apiserver.ts) as a process, for tests that need it somewhere a
// test's own event loop cannot be: e.g. inside a lab node's network namespace, where only that
// node's loopback reaches it (test/interop/lab-e2e-k8s.test.ts runs it with `ip netns exec`).
//
//   node test/fakes/kube-apiserver-main.ts --objects FILE --kubeconfig OUT [--token T] [--admin-token A]
//
// Loads every object of the multi-document YAML FILE (a `kind: List` contributes its items; the
// file datastore's format) into the store, listens on 127.0.0.1 on a port the kernel picks, writes
// a kubeconfig for that port to OUT (temp + rename, so a reader never sees half a file), prints
// "ready URL", and serves until SIGTERM/SIGINT. No namespaces exist besides the ones in FILE, so the
// server holds exactly what the file does. Secrets are served; a `kind: Role` in FILE is not stored
// but enforced: its rules on `secrets` with resourceNames become the fake's named-resource RBAC
// (kube/rbac.ts), so a chart's rendered Role restricts the client as it would in a cluster
// (RoleBindings are not checked: every request is the agent's, except those with --admin-token,
// which the Role does not restrict). Exit 2 on bad arguments or a file it cannot load.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { coreV1 } from './kube/resources.ts';
import { FakeKubeApiServer, type KubeObject, type NamedResourceRule } from './kube-apiserver.ts';

function usage(message: string): never {
  process.stderr.write(
    `kube-apiserver-main: ${message}\nusage: kube-apiserver-main.ts --objects FILE --kubeconfig OUT [--token T] [--admin-token A]\n`,
  );
  process.exit(2);
}

function flags(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (name === undefined || !name.startsWith('--') || value === undefined) usage(`bad argument "${name}"`);
    out[name.slice(2)] = value;
  }
  return out;
}

export function loadObjects(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${source}: document ${i + 1}: ${doc.errors[0]?.message}`);
    const v = doc.toJS() as (KubeObject & { items?: KubeObject[] }) | null;
    if (v === null || v === undefined) return;
    out.push(...(v.kind === 'List' ? (v.items ?? []) : [v]));
  });
  return out;
}

/** The rules of the Roles in `objects` that name core-group resources (resourceNames). */
function namedResourceRules(objects: readonly KubeObject[]): NamedResourceRule[] {
  const out: NamedResourceRule[] = [];
  for (const o of objects) {
    if (o.kind !== 'Role') continue;
    const rules = (o.rules ?? []) as {
      apiGroups?: string[];
      resources?: string[];
      verbs?: string[];
      resourceNames?: string[];
    }[];
    for (const r of rules) {
      if (!(r.apiGroups ?? []).includes('') || r.resourceNames === undefined) continue;
      for (const resource of r.resources ?? [])
        out.push({
          resource,
          namespace: o.metadata.namespace ?? 'default',
          verbs: r.verbs ?? [],
          resourceNames: r.resourceNames,
        });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const f = flags(process.argv.slice(2));
  if (f.objects === undefined || f.kubeconfig === undefined) usage('--objects and --kubeconfig are required');
  let objects: KubeObject[];
  try {
    objects = loadObjects(readFileSync(f.objects, 'utf8'), f.objects);
  } catch (err) {
    usage((err as Error).message);
  }
  const rbac = namedResourceRules(objects);
  const server = new FakeKubeApiServer({
    namespaces: [],
    resources: [coreV1('secrets', 'Secret', {})],
    rbac,
    ...(f['admin-token'] !== undefined ? { adminToken: f['admin-token'] } : {}),
    ...(f.token !== undefined ? { token: f.token } : {}),
  });
  for (const o of objects) if (o.kind !== 'Role' && o.kind !== 'RoleBinding') server.apply(o);
  await server.start();
  const tmp = `${f.kubeconfig}.tmp`;
  writeFileSync(tmp, server.kubeconfigYaml());
  renameSync(tmp, f.kubeconfig);
  process.stdout.write(`ready ${server.url} (${objects.length} objects)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await server.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(
    `kube-apiserver-main: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
