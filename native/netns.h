// Entering and identifying network namespaces (netns.c).
#ifndef CNI_NETNS_H
#define CNI_NETNS_H
#include <node_api.h>

/** Adds setns, openNetns and fsMagic to exports; NULL, or exports. */
napi_value cni_netns_init(napi_env env, napi_value exports);
#endif
