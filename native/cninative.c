// The addon's module initialisation: the few system calls Node does not expose
// (namespaces, netlink, flock, posix_spawn, small file I/O, packet and unix
// sockets, TUN/TAP), each part adding its functions to the exports. Everything
// else (message encoding, policy) is TypeScript. native/README.md maps the parts.
#include <node_api.h>
#include "fileio.h"
#include "fsops.h"
#include "netlink.h"
#include "netns.h"
#include "packet.h"
#include "spawn.h"
#include "tun.h"
#include "unixsock.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_value (*const parts[])(napi_env, napi_value) = {cni_netns_init, cni_fileio_init, cni_fsops_init, cni_netlink_init, cni_spawn_init, cni_packet_init, cni_unixsock_init, cni_tun_init};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (!parts[i](env, exports)) return NULL; // the part threw
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
