// The calculation's public surface (pure functions of the datastore snapshot and this node's
// identity, and CalcGraph, the same kept up to date from changes; between the datastore and the
// speaker and dataplane): what src/daemon wires into the Speaker and the Dataplane.
export type { AutodetectInput, AutodetectResult, InterfaceInfo, NodeStatusAddress } from './autodetect.ts';
export { chooseAddress, DEFAULT_EXCLUDED_INTERFACES, MARGAY_INTERFACES } from './autodetect.ts';
export { calculate, GRACEFUL_RESTART_TIME, SPEAKER_MAX_PATHS } from './calculate.ts';
export { CalcGraph, snapshotChanges } from './graph.ts';
export type { BestPath, RemoteRoutesInput } from './routes.ts';
export { remoteRoutes } from './routes.ts';
export type {
  CalcChanges,
  CalcOutput,
  CalculatedNode,
  CalculatedState,
  DesiredPeer,
  NodeIdentity,
  PeerType,
} from './types.ts';
