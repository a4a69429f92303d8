// Which IPAM plugins never look at the container interface. An interface
// plugin may overlap those with its own link work (ADD: run them from the start
// on a thread of their own; DEL: release while the kernel destroys the link).
// Any other type keeps the interface around it, as in the reference: dhcp
// needs the link to exist on ADD and to send its DHCPRELEASE on DEL, and a
// third-party plugin might too.
const NETNS_BLIND = new Set(['host-local', 'static']);

/** True for IPAM types known not to touch the container interface. */
export const netnsBlind = (type: string): boolean => NETNS_BLIND.has(type);
