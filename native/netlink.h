// Synchronous AF_NETLINK sockets (netlink.c).
#ifndef CNI_NETLINK_H
#define CNI_NETLINK_H
#include <node_api.h>

/** Adds nlOpen, nlSend, nlRecv, nlSendStart and nlSendWait to exports; NULL, or exports. */
napi_value cni_netlink_init(napi_env env, napi_value exports);
#endif
