// Synchronous AF_NETLINK sockets: open, send one datagram, receive one, and a
// send on a thread of its own (nlSendStart/nlSendWait). Message encoding, the
// request/ack/dump loop and the errors' meaning are TypeScript (pkg/ip/netlink.ts).
#define _GNU_SOURCE
#include "netlink.h"
#include <errno.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "args.h"
#include "errors.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

// nlOpen(protocol) -> fd of a bound, close-on-exec netlink socket with extended acks.
static napi_value js_nlopen(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t proto;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_i32(env, argv[0], &proto, "socket")) return NULL;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
  if (fd < 0) return cni_throw_errno(env, "socket", errno);
  int one = 1, rcv = 1 << 20;
  // best effort: without extended acks an error carries no message; the default buffer only fills sooner
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    return cni_throw_errno(env, "bind", e);
  }
  napi_value r = cni_int32(env, fd);
  if (!r) close(fd);
  return r;
}

// nlSend(fd, buffer): one datagram to the kernel.
static napi_value js_nlsend(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  void *data = NULL;
  size_t len = 0;
  int32_t fd;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "sendto") || cni_arg_bytes(env, argv[1], &data, &len, "sendto")) return NULL;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(fd, data, len, 0, (struct sockaddr *)&sa, sizeof sa); while (n < 0 && errno == EINTR);
  if (n < 0) return cni_throw_errno(env, "sendto", errno);
  return cni_int32(env, (int32_t)n);
}

// nlRecv(fd) -> Buffer with one datagram, sized with MSG_PEEK|MSG_TRUNC first.
static napi_value js_nlrecv(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "recv")) return NULL;
  char probe[1];
  ssize_t want;
  do want = recv(fd, probe, sizeof probe, MSG_PEEK | MSG_TRUNC); while (want < 0 && errno == EINTR);
  if (want < 0) return cni_throw_errno(env, "recv", errno);
  void *data = NULL;
  napi_value buf;
  CNI_NAPI(env, napi_create_buffer(env, (size_t)(want > 0 ? want : 1), &data, &buf));
  ssize_t n;
  do n = recv(fd, data, (size_t)(want > 0 ? want : 1), 0); while (n < 0 && errno == EINTR);
  if (n < 0) return cni_throw_errno(env, "recv", errno);
  if (n < want) return cni_buffer_copy(env, data, (size_t)n);
  return buf;
}

// The kernel carries a request out inside sendto(), and destroying a veth holds
// it there for about 20 ms (RCU barriers). Sent from a thread of its own, the JS
// thread goes on meanwhile (an in-process IPAM DEL); the reply stays queued on
// the socket for nlRecv.
struct nl_send_job {
  int fd;
  void *buf;
  size_t len;
  ssize_t sent;
  int err;
  pthread_t thread;
};

// What a JS caller holds; job is NULL once nlSendWait joined it.
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

static void free_send_job(struct nl_send_job *j) {
  free(j->buf);
  free(j);
}

// A handle nobody waited for keeps its job: the thread may still be using it.
static void free_send_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct nl_send_handle *h = data;
  if (!h->job) free(h);
}

// nlSendStart(fd, buffer) -> handle: nlSend on a thread of its own. The caller
// must not use the socket until it has passed the handle to nlSendWait.
static napi_value js_nlsendstart(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  void *data = NULL;
  size_t len = 0;
  int32_t fd;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "sendto") || cni_arg_bytes(env, argv[1], &data, &len, "sendto")) return NULL;
  struct nl_send_job *j = calloc(1, sizeof *j);
  struct nl_send_handle *h = malloc(sizeof *h);
  if (j) j->buf = malloc(len ? len : 1);
  if (!j || !h || !j->buf) {
    if (j) free_send_job(j);
    free(h);
    return cni_throw_errno(env, "nlSendStart", ENOMEM);
  }
  memcpy(j->buf, data, len);
  j->fd = fd;
  j->len = len;
  int e = pthread_create(&j->thread, NULL, run_send, j);
  if (e) {
    free_send_job(j);
    free(h);
    return cni_throw_errno(env, "pthread_create", e);
  }
  h->job = j;
  napi_value handle;
  if (CNI_NAPI_FAILED(env, napi_create_external(env, h, free_send_handle, NULL, &handle))) {
    // no handle to wait with: wait here
    pthread_join(j->thread, NULL);
    free_send_job(j);
    free(h);
    return NULL;
  }
  return handle;
}

// nlSendWait(handle) -> bytes sent: joins the thread (once; a second call throws EINVAL); throws sendto's errno.
static napi_value js_nlsendwait(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct nl_send_handle *h = NULL;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_external(env, argv[0], (void **)&h, "nlSendWait")) return NULL;
  if (!h || !h->job) return cni_throw_errno(env, "nlSendWait", EINVAL);
  struct nl_send_job *j = h->job;
  h->job = NULL;
  pthread_join(j->thread, NULL);
  ssize_t sent = j->sent;
  int err = j->err;
  free_send_job(j);
  if (sent < 0) return cni_throw_errno(env, "sendto", err);
  return cni_int32(env, (int32_t)sent);
}

napi_value cni_netlink_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {CNI_FN("nlOpen", js_nlopen), CNI_FN("nlSend", js_nlsend), CNI_FN("nlRecv", js_nlrecv), CNI_FN("nlSendStart", js_nlsendstart),
                                      CNI_FN("nlSendWait", js_nlsendwait)};
  return cni_define(env, exports, props, sizeof props / sizeof props[0]);
}
