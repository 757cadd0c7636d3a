// The interop lab: network namespaces, links, processes and real BGP daemons (BIRD 2, FRR,
// GoBGP, ExaBGP), shared by test/interop, test/bench, test/golden/tools and `margay lab`.
export * from './bird.ts';
export * from './exabgp.ts';
export * from './frr.ts';
export * from './gobgp.ts';
export * from './lab.ts';
export * from './netns.ts';
export * from './wait.ts';
