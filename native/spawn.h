// Running programs without node:child_process (spawn.c).
#ifndef CNI_SPAWN_H
#define CNI_SPAWN_H
#include <node_api.h>

/** Adds spawnSync, spawnStart and spawnWait to exports; NULL, or exports. */
napi_value cni_spawn_init(napi_env env, napi_value exports);
#endif
