// host-local IPAM: configuration, allocator and on-disk store (reference §2.7).
export { DEFAULT_DATA_DIR, loadHostLocalConf, loadHostLocalDelConf, type HostLocalConf } from './config.js';
export { allocateAll, allocateFromSet, type Attachment } from './allocator.js';
export { parseResolvConf, readResolvConf } from './dns.js';
export { candidates, ipString, rangeFor, rangeSetString, rangeString, type Range, type RangeSet } from './range.js';
export { isBookkeeping, reservationKey, Store, type Reservation } from './store.js';
