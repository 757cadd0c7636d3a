// The tunnel devices a node wants, as plain data: the VXLAN device with every remote node's VTEP,
// and the IPIP device's tunnel address. The calculation (src/calc) produces them from the nodes
// and IP pools; felix/dataplane/links.ts hands them to the VXLAN and IPIP managers
// (dataplane/encap/), which program the kernel. Addresses are canonical text; the VTEP addressing
// (tunnel address from the pod CIDR, MAC from the node name) is vtepTunnelAddress and vtepMac in
// routes.ts.

/** A remote node reached through VXLAN: the FDB entry and neighbour entries that lead to it. */
export interface RemoteVtep {
  readonly nodeName: string;
  /** Underlay address of the remote node (FDB `dst`). */
  readonly nodeIp: string;
  /** Its tunnel address (`vtepTunnelAddress(its IPv4 pod CIDR)`). */
  readonly tunnelAddress: string;
  /** Its IPv6 tunnel address (`vtepTunnelAddress(its IPv6 pod CIDR)`), when IPv6 pods use VXLAN. */
  readonly tunnelAddressV6?: string;
  /** Default vtepMac(nodeName). */
  readonly mac?: string;
}

/** This node's VXLAN device and the remote VTEPs it reaches. */
export interface VxlanDesired {
  readonly nodeName: string;
  /** This node's underlay IPv4 address (the device's `local`). */
  readonly underlayAddress: string;
  readonly underlayDevice?: string;
  /** Default 1500; the device gets 50 less. */
  readonly underlayMtu?: number;
  /** This node's tunnel address: vtepTunnelAddress(its IPv4 pod CIDR). */
  readonly tunnelAddress: string;
  /**
   * This node's IPv6 tunnel address, vtepTunnelAddress(its IPv6 pod CIDR), when IPv6 pods use
   * VXLAN (over the same IPv4 underlay); remotes then carry theirs in `tunnelAddressV6`.
   */
  readonly tunnelAddressV6?: string;
  readonly vni?: number;
  readonly port?: number;
  /** Every other node reached through VXLAN. */
  readonly remoteVteps: readonly RemoteVtep[];
}

/** This node's IPIP device (`tunl0`): its tunnel address and the underlay MTU it is sized from. */
export interface IpipDesired {
  readonly tunnelAddress: string;
  readonly underlayMtu?: number;
}
