// Shared by the addon's C files: errors as the addon throws them (Error objects
// carrying `errno`, `code` = the errno name, and `syscall`), and the init hooks
// of the files beside cninative.c.
#ifndef CNINATIVE_H
#define CNINATIVE_H
#include <node_api.h>
#include <pthread.h>

/** An Error for errno `e` from `syscall`. */
napi_value cni_errno_error(napi_env env, const char *syscall, int e);
/** Throws cni_errno_error(...); returns NULL for `return cni_throw_errno(...)`. */
napi_value cni_throw_errno(napi_env env, const char *syscall, int e);

#define CNI_READABLE 1
#define CNI_WRITABLE 2

struct cni_watch;
/** A watch's handler, on the JS thread: `status` 0 or a negative errno (a socket error), `events` CNI_READABLE|CNI_WRITABLE. */
typedef void (*cni_watch_cb)(struct cni_watch *w, int status, int events);

/**
 * A socket whose readiness reaches a C handler on the JS thread, which calls a
 * JS callback (packet.c, unixsock.c embed one as their first member). watch.c:
 * a poll() thread per socket and a threadsafe function, no libuv.
 */
struct cni_watch {
  napi_env env;
  napi_ref cb;               // NULL once closed: callbacks check it
  napi_async_context ctx;
  int fd;
  struct cni_watch *next;
  void (*release)(struct cni_watch *w); // frees the embedding struct once the poller has let go (fd already closed)
  cni_watch_cb on_event;
  int events;                // what is polled for; changed on the JS thread only (cni_watch_poll)
  napi_threadsafe_function tsfn;
  pthread_t thread;
  pthread_mutex_t mu;        // guards events (for the poller), busy, closing
  pthread_cond_t cv;
  int busy;                  // an event is queued for or running on the JS thread
  int closing;
  int ready;                 // the threadsafe function exists: the poller may use it
  int wakefd;                // eventfd: wakes the poller when events or closing change
};

/** Sets `w` up on `fd` (not yet polling) and links it into `list`; 0 or an errno (then nothing is kept, fd stays open). */
int cni_watch_init(napi_env env, struct cni_watch *w, struct cni_watch **list, int fd, napi_value cb, const char *name, cni_watch_cb on_event);
/** Polls for `events` from now on (0 stops), as uv_poll_start/uv_poll_stop. */
void cni_watch_poll(struct cni_watch *w, int events);
/** The watch of `fd` in `list`, or NULL. */
struct cni_watch *cni_watch_find(struct cni_watch *list, int fd);
/** Unlinks the watch of `fd`, stops it, drops the callback; the fd is closed and release() called once the poller lets go. No-op for unknown fds. */
void cni_watch_close(napi_env env, struct cni_watch **list, int fd);

void cni_packet_init(napi_env env, napi_value exports);   // packet.c: AF_PACKET sockets for dhcp
void cni_unixsock_init(napi_env env, napi_value exports); // unixsock.c: the dhcp plugin's RPC socket
void cni_tun_init(napi_env env, napi_value exports);      // tun.c: TUN/TAP devices through /dev/net/tun
void cni_nlasync_init(napi_env env, napi_value exports);  // nlasync.c: a netlink request sent from a thread of its own
#endif
