// Where `margayctl get` and `node status --all` read the cluster from: a file datastore
// (`--datastore-file PATH`, the same multi-document YAML the agent reads) or the Kubernetes API
// (`--kubeconfig PATH`, or in-cluster credentials with `--kubernetes`). Read-only.
import { readRegularFile } from '../config/regular-file.ts';
import { parseResourceFile } from '../datastore/file/parse.ts';
import { MargayError } from '../errors.ts';
import { type Snapshot, snapshotOf } from '../model/snapshot.ts';

export interface SnapshotSource {
  readonly file?: string;
  readonly kubeconfig?: string;
  readonly inCluster?: boolean;
}

export async function loadSnapshot(source: SnapshotSource): Promise<Snapshot> {
  if (source.file !== undefined) {
    let text: string;
    try {
      text = await readRegularFile(source.file);
    } catch (err) {
      throw new MargayError('MARGAY_ERR_DATASTORE_READ', `${source.file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return snapshotOf(parseResourceFile(text, source.file));
  }
  if (source.kubeconfig === undefined && !source.inCluster) {
    throw new MargayError(
      'MARGAY_ERR_USAGE',
      'say where the cluster is: --datastore-file PATH, --kubeconfig PATH or --kubernetes (in-cluster)',
    );
  }
  const { KubernetesDatastore } = await import('../datastore/k8s/index.ts');
  const ds = KubernetesDatastore.fromConfig({ kubeconfig: source.kubeconfig });
  try {
    await ds.start();
    if (!ds.ready()) {
      throw new MargayError(
        'MARGAY_ERR_DATASTORE_UNAVAILABLE',
        `cannot list the cluster: ${ds.lastError?.message ?? 'the API server did not answer'}`,
      );
    }
    return ds.snapshot();
  } finally {
    await ds.stop();
  }
}
