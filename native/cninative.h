// Shared by the addon's C files: errors as the addon throws them (Error objects
// carrying `errno`, `code` = the errno name, and `syscall`), and the init hooks
// of the files beside cninative.c.
#ifndef CNINATIVE_H
#define CNINATIVE_H
#include <node_api.h>

/** An Error for errno `e` from `syscall`. */
napi_value cni_errno_error(napi_env env, const char *syscall, int e);
/** Throws cni_errno_error(...); returns NULL for `return cni_throw_errno(...)`. */
napi_value cni_throw_errno(napi_env env, const char *syscall, int e);

void cni_packet_init(napi_env env, napi_value exports);   // packet.c: AF_PACKET sockets for dhcp
void cni_unixsock_init(napi_env env, napi_value exports); // unixsock.c: the dhcp plugin's RPC socket
#endif
