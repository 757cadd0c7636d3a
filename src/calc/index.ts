// The calculation's public surface (pure functions of the datastore snapshot and this node's
// identity, between the datastore and the speaker and dataplane): what src/daemon wires into the
// Speaker and the Dataplane.
export type { AutodetectInput, AutodetectResult, InterfaceInfo, NodeStatusAddress } from './autodetect.ts';
export { chooseAddress, DEFAULT_EXCLUDED_INTERFACES, MARGAY_INTERFACES } from './autodetect.ts';
export { calculate, GRACEFUL_RESTART_TIME, SPEAKER_MAX_PATHS } from './calculate.ts';
export type { BestPath, RemoteRoutesInput } from './routes.ts';
export { remoteRoutes } from './routes.ts';
export type {
  CalculatedNode,
  CalculatedState,
  DesiredPeer,
  NodeIdentity,
  PeerType,
} from './types.ts';
