// A runtime-side CNI library modelled on libcni: load configuration lists, run
// them through ADD/CHECK/DEL/GC/STATUS against plugin binaries, cache results
// on disk in libcni's format. cmd/cnitool, the scripts and the tests use it.
export * from './api.js';
export * from './cache.js';
export * from './conf.js';
export * from './invoke.js';
