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
#include "watch.h"
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "errors.h"

static void wake(struct cni_watch *w) {
  uint64_t one = 1;
  while (write(w->wakefd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

// What a handler left pending (a JS callback's exception, a failed N-API call)
// goes where an exception from an event callback goes: uncaught.
static void report_pending(napi_env env) {
  bool pending = false;
  napi_value exc;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) return;
  if (napi_get_and_clear_last_exception(env, &exc) != napi_ok || napi_fatal_exception(env, exc) != napi_ok)
    napi_fatal_error("cni-ts watch.c", NAPI_AUTO_LENGTH, "an exception from an event handler could not be reported", NAPI_AUTO_LENGTH);
}

// JS thread: one readiness event (data: the poll revents, 0 after close).
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  struct cni_watch *w = context;
  int revents = (int)(intptr_t)data;
  if (env && w->cb && w->events) {
    int events = (revents & (POLLIN | POLLHUP) ? CNI_READABLE : 0) | (revents & POLLOUT ? CNI_WRITABLE : 0);
    int status = revents & POLLERR ? -EIO : 0;
    w->on_event(w, status, events);
    report_pending(env);
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
    // fails only once the environment is going away (napi_closing): stop
    if (napi_call_threadsafe_function(w->tsfn, (void *)(intptr_t)p[0].revents, napi_tsfn_nonblocking) != napi_ok) break;
  }
  // Not the JS thread: nothing to throw to. It fails only for a function already
  // released, and this thread holds the one reference to it.
  if (napi_release_threadsafe_function(w->tsfn, napi_tsfn_release) != napi_ok) return NULL;
  return NULL;
}

// The poller told to stop before it ever used the threadsafe function (there is none).
static void stop_unready(struct cni_watch *w) {
  pthread_mutex_lock(&w->mu);
  w->closing = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
}

int cni_watch_init(napi_env env, struct cni_watch *w, struct cni_watch **list, int fd, napi_value cb, const char *name, cni_watch_cb on_event) {
  napi_value resource, label;
  w->env = env;
  w->fd = fd;
  w->on_event = on_event;
  if (CNI_NAPI_FAILED(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &label)) || CNI_NAPI_FAILED(env, napi_create_object(env, &resource)) ||
      CNI_NAPI_FAILED(env, napi_create_reference(env, cb, 1, &w->cb)))
    return -1;
  if (CNI_NAPI_FAILED(env, napi_async_init(env, resource, label, &w->ctx))) goto fail_ref;
  w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->wakefd < 0) {
    cni_throw_errno(env, "eventfd", errno);
    goto fail_ctx;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  // the thread first, so that a failure leaves no threadsafe function (whose finalizer owns the fd) behind
  int e = pthread_create(&w->thread, NULL, poller, w);
  if (e) {
    cni_throw_errno(env, "pthread_create", e);
    goto fail_sync;
  }
  if (CNI_NAPI_FAILED(env, napi_create_threadsafe_function(env, NULL, resource, label, 0, 1, w, finalize, w, call_js, &w->tsfn))) {
    stop_unready(w);
    goto fail_sync;
  }
  // created referenced: the caller's first cni_watch_poll decides
  w->refed = 1;
  pthread_mutex_lock(&w->mu);
  w->ready = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  w->next = *list;
  *list = w;
  return 0;
fail_sync:
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  close(w->wakefd);
fail_ctx:
  CNI_NAPI_FAILED(env, napi_async_destroy(env, w->ctx));
fail_ref:
  CNI_NAPI_FAILED(env, napi_delete_reference(env, w->cb));
  w->cb = NULL;
  return -1;
}

int cni_watch_poll(struct cni_watch *w, int events) {
  // a socket being polled keeps the process alive, a stopped one does not (as a libuv handle)
  if (events && !w->refed) {
    if (CNI_NAPI_FAILED(w->env, napi_ref_threadsafe_function(w->env, w->tsfn))) return -1;
    w->refed = 1;
  } else if (!events && w->refed) {
    if (CNI_NAPI_FAILED(w->env, napi_unref_threadsafe_function(w->env, w->tsfn))) return -1;
    w->refed = 0;
  }
  if (events == w->events) return 0;
  pthread_mutex_lock(&w->mu);
  w->events = events;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  wake(w);
  return 0;
}

struct cni_watch *cni_watch_find(struct cni_watch *list, int fd) {
  for (struct cni_watch *w = list; w; w = w->next)
    if (w->fd == fd) return w;
  return NULL;
}

int cni_watch_close(napi_env env, struct cni_watch **list, int fd) {
  for (struct cni_watch **p = list; *p; p = &(*p)->next) {
    struct cni_watch *w = *p;
    if (w->fd != fd) continue;
    *p = w->next;
    int rc = 0;
    if (cni_watch_poll(w, 0)) {
      // the loop must not wait for a watch that is gone: stop polling even so
      rc = -1;
      pthread_mutex_lock(&w->mu);
      w->events = 0;
      pthread_mutex_unlock(&w->mu);
    }
    if (CNI_NAPI_FAILED(env, napi_delete_reference(env, w->cb))) rc = -1;
    w->cb = NULL;
    if (CNI_NAPI_FAILED(env, napi_async_destroy(env, w->ctx))) rc = -1;
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    wake(w);
    return rc;
  }
  return 0;
}
