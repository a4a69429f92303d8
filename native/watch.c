// The life cycle shared by the addon's event-loop sockets (packet.c, unixsock.c):
// a JS callback kept alive by a reference, an async context for it, a libuv poll
// handle on the fd, a list to find it by fd, and a close that lets libuv finish
// with the handle before the fd is closed and the memory freed.
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>
#include "cninative.h"

int cni_watch_init(napi_env env, struct cni_watch *w, struct cni_watch **list, int fd, napi_value cb, const char *name) {
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init_socket(loop, &w->poll, fd) != 0) return ENOMEM;
  w->env = env;
  w->fd = fd;
  w->poll.data = w;
  napi_value resource, label;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &label);
  napi_create_object(env, &resource);
  napi_create_reference(env, cb, 1, &w->cb);
  napi_async_init(env, resource, label, &w->ctx);
  w->next = *list;
  *list = w;
  return 0;
}

struct cni_watch *cni_watch_find(struct cni_watch *list, int fd) {
  for (struct cni_watch *w = list; w; w = w->next)
    if (w->fd == fd) return w;
  return NULL;
}

static void on_closed(uv_handle_t *h) {
  struct cni_watch *w = h->data;
  close(w->fd);
  w->release(w);
}

void cni_watch_close(napi_env env, struct cni_watch **list, int fd) {
  for (struct cni_watch **p = list; *p; p = &(*p)->next) {
    struct cni_watch *w = *p;
    if (w->fd != fd) continue;
    *p = w->next;
    uv_poll_stop(&w->poll);
    napi_delete_reference(env, w->cb);
    w->cb = NULL;
    napi_async_destroy(env, w->ctx);
    uv_close((uv_handle_t *)&w->poll, on_closed);
    return;
  }
}
