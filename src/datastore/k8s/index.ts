// The Kubernetes datastore's public surface (src/cli/agent.ts imports it lazily, so a file-datastore
// agent never loads it).
export type { ListPage, ListQuery, WatchListener, WatchQuery, WatchStream } from './client.ts';
export { KubeApiError, KubeClient } from './client.ts';
export type { KindSource, ListRequest } from './kinds.ts';
export { kindSources } from './kinds.ts';
export type { KubeConfig, KubeConfigEnvironment } from './kubeconfig.ts';
export { loadKubeConfig, SERVICE_ACCOUNT_DIR } from './kubeconfig.ts';
export type { DatastoreHealth, KubernetesDatastoreOptions, ObjectProblem } from './kubernetes-datastore.ts';
export { KubernetesDatastore } from './kubernetes-datastore.ts';
export type { BackoffOptions } from './reflector.ts';
export { Backoff } from './reflector.ts';
