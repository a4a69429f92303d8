// A socket whose readiness reaches a C handler on the JS thread, which calls a
// JS callback (packet.c and unixsock.c embed one as their first member).
// watch.c: a poll() thread per socket and a threadsafe function, no libuv.
#ifndef CNI_WATCH_H
#define CNI_WATCH_H
#include <node_api.h>
#include <pthread.h>

#define CNI_READABLE 1
#define CNI_WRITABLE 2

struct cni_watch;
/**
 * A watch's handler, on the JS thread: `status` 0 or a negative errno (a socket
 * error), `events` CNI_READABLE|CNI_WRITABLE. An exception it leaves pending is
 * uncaught, as one thrown by a JS event callback.
 */
typedef void (*cni_watch_cb)(struct cni_watch *w, int status, int events);

struct cni_watch {
  napi_env env;
  napi_ref cb;               // NULL once closed: callbacks check it
  napi_async_context ctx;
  int fd;
  struct cni_watch *next;
  void (*release)(struct cni_watch *w); // frees the embedding struct once the poller has let go (fd already closed)
  cni_watch_cb on_event;
  int events;                // what is polled for; changed on the JS thread only (cni_watch_poll)
  int refed;                 // the threadsafe function keeps the event loop alive (JS thread only)
  napi_threadsafe_function tsfn;
  pthread_t thread;
  pthread_mutex_t mu;        // guards events (for the poller), busy, closing
  pthread_cond_t cv;
  int busy;                  // an event is queued for or running on the JS thread
  int closing;
  int ready;                 // the threadsafe function exists: the poller may use it
  int wakefd;                // eventfd: wakes the poller when events or closing change
};

/**
 * Sets `w` up on `fd` and links it into `list`; the caller sets w->release and
 * starts polling next (until then the watch keeps the event loop alive). 0, or
 * -1 with an exception thrown and nothing kept: the caller closes fd and frees w.
 */
int cni_watch_init(napi_env env, struct cni_watch *w, struct cni_watch **list, int fd, napi_value cb, const char *name, cni_watch_cb on_event);
/** Polls for `events` from now on (0 stops), as uv_poll_start/uv_poll_stop; 0, or -1 with an exception thrown (nothing changed). */
int cni_watch_poll(struct cni_watch *w, int events);
/** The watch of `fd` in `list`, or NULL. */
struct cni_watch *cni_watch_find(struct cni_watch *list, int fd);
/**
 * Unlinks the watch of `fd`, stops it, drops the callback; the fd is closed and
 * release() called once the poller lets go. No-op for unknown fds. 0, or -1
 * with an exception thrown (the watch is closed all the same).
 */
int cni_watch_close(napi_env env, struct cni_watch **list, int fd);
#endif
