// The Kubernetes datastore's public surface (src/cli/agent.ts imports it lazily, so a file-datastore
// agent never loads @kubernetes/client-node).
export type { KindSource, ListPage, ListRequest } from './kinds.ts';
export { kindSources, toWire } from './kinds.ts';
export type { KubeConfigEnvironment } from './kubeconfig.ts';
export { loadKubeConfig, SERVICE_ACCOUNT_DIR } from './kubeconfig.ts';
export type { DatastoreHealth, KubernetesDatastoreOptions, ObjectProblem } from './kubernetes-datastore.ts';
export { KubernetesDatastore } from './kubernetes-datastore.ts';
export type { BackoffOptions } from './reflector.ts';
export { Backoff } from './reflector.ts';
