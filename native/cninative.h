// Shared by the addon's C files: errors as the addon throws them (Error objects
// carrying `errno`, `code` = the errno name, and `syscall`), and the init hooks
// of the files beside cninative.c.
#ifndef CNINATIVE_H
#define CNINATIVE_H
#include <node_api.h>
#include <uv.h>

/** An Error for errno `e` from `syscall`. */
napi_value cni_errno_error(napi_env env, const char *syscall, int e);
/** Throws cni_errno_error(...); returns NULL for `return cni_throw_errno(...)`. */
napi_value cni_throw_errno(napi_env env, const char *syscall, int e);

/**
 * A socket whose events reach a JS callback on the event loop (packet.c,
 * unixsock.c embed one as their first member). poll.data points at it.
 */
struct cni_watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;               // NULL once closed: callbacks check it
  napi_async_context ctx;
  int fd;
  struct cni_watch *next;
  void (*release)(struct cni_watch *w); // frees the embedding struct once libuv has let go (fd already closed)
};

/** Sets `w` up on `fd` (not yet polling) and links it into `list`; 0 or an errno (then nothing is kept, fd stays open). */
int cni_watch_init(napi_env env, struct cni_watch *w, struct cni_watch **list, int fd, napi_value cb, const char *name);
/** The watch of `fd` in `list`, or NULL. */
struct cni_watch *cni_watch_find(struct cni_watch *list, int fd);
/** Unlinks the watch of `fd`, stops it, drops the callback; the fd is closed and release() called once libuv lets go. No-op for unknown fds. */
void cni_watch_close(napi_env env, struct cni_watch **list, int fd);

void cni_packet_init(napi_env env, napi_value exports);   // packet.c: AF_PACKET sockets for dhcp
void cni_unixsock_init(napi_env env, napi_value exports); // unixsock.c: the dhcp plugin's RPC socket
void cni_tun_init(napi_env env, napi_value exports);      // tun.c: TUN/TAP devices through /dev/net/tun
#endif
