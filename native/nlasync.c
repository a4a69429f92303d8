// A netlink request sent from a thread of its own. The kernel carries a
// request out inside sendto(), and destroying a veth holds it there for about
// 20 ms (RCU barriers); sent this way, the JS thread goes on (an in-process
// IPAM DEL) meanwhile. The reply stays queued on the socket for nlRecv.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>
#include "cninative.h"

struct nl_send_job {
  int fd;
  void *buf;
  size_t len;
  ssize_t sent;
  int err;
  pthread_t thread;
};

// The handle a JS caller holds; job is NULL once nlSendWait joined it.
struct nl_send_handle {
  struct nl_send_job *job;
};

static void *run_send(void *arg) {
  struct nl_send_job *j = arg;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(j->fd, j->buf, j->len, 0, (struct sockaddr *)&sa, sizeof sa); while (n < 0 && errno == EINTR);
  j->sent = n;
  j->err = n < 0 ? errno : 0;
  return NULL;
}

static void free_job(struct nl_send_job *j) {
  free(j->buf);
  free(j);
}

// A handle nobody waited for keeps its job: the thread may still be using it.
static void free_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct nl_send_handle *h = data;
  if (!h->job) free(h);
}

// nlSendStart(fd, buffer) -> handle: nlSend on a thread of its own. The caller
// must not use the socket until it has passed the handle to nlSendWait.
static napi_value js_nlsendstart(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2];
  void *data = NULL;
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok)
    return cni_throw_errno(env, "nlSendStart", EINVAL);
  struct nl_send_job *j = calloc(1, sizeof *j);
  struct nl_send_handle *h = malloc(sizeof *h);
  if (j) j->buf = malloc(len ? len : 1);
  if (!j || !h || !j->buf) {
    if (j) free_job(j);
    free(h);
    return cni_throw_errno(env, "nlSendStart", ENOMEM);
  }
  memcpy(j->buf, data, len);
  j->fd = fd;
  j->len = len;
  int e = pthread_create(&j->thread, NULL, run_send, j);
  if (e) {
    free_job(j);
    free(h);
    return cni_throw_errno(env, "pthread_create", e);
  }
  h->job = j;
  napi_value handle;
  if (napi_create_external(env, h, free_handle, NULL, &handle) != napi_ok) {
    // no handle to wait with: wait here
    pthread_join(j->thread, NULL);
    free_job(j);
    free(h);
    return cni_throw_errno(env, "nlSendStart", ENOMEM);
  }
  return handle;
}

// nlSendWait(handle) -> bytes sent: joins the thread (once; a second call throws EINVAL), throws sendto's errno.
static napi_value js_nlsendwait(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct nl_send_handle *h = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_external(env, argv[0], (void **)&h) != napi_ok || !h ||
      !h->job)
    return cni_throw_errno(env, "nlSendWait", EINVAL);
  struct nl_send_job *j = h->job;
  h->job = NULL;
  pthread_join(j->thread, NULL);
  ssize_t sent = j->sent;
  int err = j->err;
  free_job(j);
  if (sent < 0) return cni_throw_errno(env, "sendto", err);
  napi_value r;
  if (napi_create_int32(env, (int32_t)sent, &r) != napi_ok) return cni_throw_errno(env, "nlSendWait", ENOMEM);
  return r;
}

void cni_nlasync_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"nlSendStart", NULL, js_nlsendstart, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlSendWait", NULL, js_nlsendwait, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
