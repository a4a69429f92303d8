// Unix stream sockets for the dhcp plugin's RPC client (unixsock.c).
#ifndef CNI_UNIXSOCK_H
#define CNI_UNIXSOCK_H
#include <node_api.h>

/** Adds unixConnect, unixWrite and unixClose to exports; NULL, or exports. */
napi_value cni_unixsock_init(napi_env env, napi_value exports);
#endif
