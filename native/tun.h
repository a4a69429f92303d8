// TUN/TAP devices through /dev/net/tun (tun.c).
#ifndef CNI_TUN_H
#define CNI_TUN_H
#include <node_api.h>

/** Adds tunCreate to exports; NULL, or exports. */
napi_value cni_tun_init(napi_env env, napi_value exports);
#endif
