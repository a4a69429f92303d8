// The life cycle shared by the addon's event-loop sockets (packet.c, unixsock.c):
// a JS callback kept alive by a reference, an async context for it, a list to
// find it by fd, and readiness of the fd reported on the JS thread.
// Readiness comes from a thread of the watch's own that poll()s the fd and hands
// each event to the JS thread through a napi_threadsafe_function. libuv's
// uv_poll_* would be shorter, but only Node has libuv: Bun's N-API aborts on
// napi_get_uv_event_loop, and this is plain N-API, so both runtimes run it.
// Semantics are uv_poll's: level-triggered, persistent until changed, one event
// at a time (the thread waits until the handler has run before polling again,
// so the handler can read without the thread racing it to the same readiness).
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "cninative.h"

static void wake(struct cni_watch *w) {
  uint64_t one = 1;
  while (write(w->wakefd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

// JS thread: one readiness event (data: the poll revents, 0 after close).
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  struct cni_watch *w = context;
  int revents = (int)(intptr_t)data;
  if (env && w->cb && w->events) {
    int events = (revents & (POLLIN | POLLHUP) ? CNI_READABLE : 0) | (revents & POLLOUT ? CNI_WRITABLE : 0);
    int status = revents & POLLERR ? -EIO : 0;
    w->on_event(w, status, events);
  }
  pthread_mutex_lock(&w->mu);
  w->busy = 0;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

// JS thread, once the poller has let go and every queued event has run.
static void finalize(napi_env env, void *data, void *hint) {
  struct cni_watch *w = data;
  pthread_join(w->thread, NULL);
  close(w->wakefd);
  close(w->fd);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  w->release(w);
}

static void *poller(void *arg) {
  struct cni_watch *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (!w->closing && (!w->ready || w->busy || !w->events)) pthread_cond_wait(&w->cv, &w->mu);
    int closing = w->closing, events = w->events, ready = w->ready;
    pthread_mutex_unlock(&w->mu);
    if (closing && !ready) return NULL; // cni_watch_init failed after starting us
    if (closing) break;
    struct pollfd p[2] = {{.fd = w->fd, .events = (short)((events & CNI_READABLE ? POLLIN : 0) | (events & CNI_WRITABLE ? POLLOUT : 0))}, {.fd = w->wakefd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) continue; // EINTR
    if (p[1].revents) {
      uint64_t n;
      while (read(w->wakefd, &n, sizeof n) < 0 && errno == EINTR) {
      }
      continue; // interest changed, or closing: look again
    }
    if (!p[0].revents) continue;
    pthread_mutex_lock(&w->mu);
    w->busy = 1;
    pthread_mutex_unlock(&w->mu);
    if (napi_call_threadsafe_function(w->tsfn, (void *)(intptr_t)p[0].revents, napi_tsfn_nonblocking) != napi_ok) break;
  }
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  return NULL;
}

int cni_watch_init(napi_env env, struct cni_watch *w, struct cni_watch **list, int fd, napi_value cb, const char *name, cni_watch_cb on_event) {
  napi_value resource, label;
  w->env = env;
  w->fd = fd;
  w->on_event = on_event;
  w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->wakefd < 0) return errno;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  // the thread first, so that a failure leaves no threadsafe function (whose finalizer owns the fd) behind
  int e = pthread_create(&w->thread, NULL, poller, w);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &label);
  napi_create_object(env, &resource);
  if (!e && napi_create_threadsafe_function(env, NULL, resource, label, 0, 1, w, finalize, w, call_js, &w->tsfn) != napi_ok) {
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    e = ENOMEM;
  }
  if (e) {
    close(w->wakefd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    return e;
  }
  // not polling yet: nothing to keep the event loop alive for
  napi_unref_threadsafe_function(env, w->tsfn);
  napi_create_reference(env, cb, 1, &w->cb);
  napi_async_init(env, resource, label, &w->ctx);
  pthread_mutex_lock(&w->mu);
  w->ready = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  w->next = *list;
  *list = w;
  return 0;
}

void cni_watch_poll(struct cni_watch *w, int events) {
  if (events == w->events) return;
  // a socket being polled keeps the process alive, a stopped one does not (as a libuv handle)
  if (events && !w->events) napi_ref_threadsafe_function(w->env, w->tsfn);
  if (!events && w->events) napi_unref_threadsafe_function(w->env, w->tsfn);
  pthread_mutex_lock(&w->mu);
  w->events = events;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  wake(w);
}

struct cni_watch *cni_watch_find(struct cni_watch *list, int fd) {
  for (struct cni_watch *w = list; w; w = w->next)
    if (w->fd == fd) return w;
  return NULL;
}

void cni_watch_close(napi_env env, struct cni_watch **list, int fd) {
  for (struct cni_watch **p = list; *p; p = &(*p)->next) {
    struct cni_watch *w = *p;
    if (w->fd != fd) continue;
    *p = w->next;
    cni_watch_poll(w, 0);
    napi_delete_reference(env, w->cb);
    w->cb = NULL;
    napi_async_destroy(env, w->ctx);
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    wake(w);
    return;
  }
}
