// Unix stream sockets for the dhcp plugin's RPC client (pkg/gob/netrpc.ts).
// Each plugin call makes one connection to the daemon; node:net would cost
// ~2.5-3.5 ms to load and as much again in first calls of its stream machinery
// (createConnection, the connect event, socket.write), measured per call here.
// This is the few lines the client needs: a non-blocking connect, a poll thread
// (watch.c) that hands each chunk read to a JS callback on the event loop (so an
// in-process server, as in the tests and the code-cache trainer, still gets to
// answer), and a write that queues what the socket does not take at once.
#define _GNU_SOURCE
#include "unixsock.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "args.h"
#include "errors.h"
#include "watch.h"

struct us_conn {
  struct cni_watch w; // first: the watch list and on_event point at the connection too
  int eof;
  unsigned char *out;
  size_t outLen, outOff;
};

static struct cni_watch *conns;

static struct us_conn *find(int fd) {
  return (struct us_conn *)cni_watch_find(conns, fd);
}

static void release(struct cni_watch *w) {
  struct us_conn *c = (struct us_conn *)w;
  free(c->out);
  free(c);
}

// Calls onEvent(data, err) on the event loop: (Buffer) for bytes read,
// (null) at end of stream, (null, Error) for a socket error. 0, or -1 with an
// exception pending (onEvent's own, or a failed call's), which watch.c reports.
static int deliver(struct us_conn *c, napi_value data, napi_value err) {
  napi_env env = c->w.env;
  napi_value cb, recv, argv[2] = {data, err};
  if (CNI_NAPI_FAILED(env, napi_get_reference_value(env, c->w.cb, &cb)) || CNI_NAPI_FAILED(env, napi_get_global(env, &recv)) ||
      CNI_NAPI_FAILED(env, napi_make_callback(env, c->w.ctx, recv, cb, 2, argv, NULL)))
    return -1;
  return 0;
}

static void fail_conn(struct us_conn *c, const char *syscall, int e) {
  napi_env env = c->w.env;
  napi_value nul, err;
  c->eof = 1;
  if (cni_watch_poll(&c->w, 0) || CNI_NAPI_FAILED(env, napi_get_null(env, &nul)) || !(err = cni_errno_error(env, syscall, e))) return;
  deliver(c, nul, err);
}

// Sends queued bytes; 0, or the errno that ended the connection.
static int flush(struct us_conn *c) {
  while (c->outOff < c->outLen) {
    ssize_t n = send(c->w.fd, c->out + c->outOff, c->outLen - c->outOff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n < 0) return errno;
    c->outOff += (size_t)n;
  }
  free(c->out);
  c->out = NULL;
  c->outLen = c->outOff = 0;
  return 0;
}

// Waits for what is due now: reads until the end of the stream, writes while any are queued. 0, or -1 (thrown).
static int start(struct us_conn *c) {
  return cni_watch_poll(&c->w, (c->eof ? 0 : CNI_READABLE) | (c->outOff < c->outLen ? CNI_WRITABLE : 0));
}

// The chunks ready to read, bounded, each to onEvent; stops as soon as the
// callback closes the connection (c->w.cb is then NULL) or throws.
static void read_ready(struct us_conn *c) {
  napi_env env = c->w.env;
  unsigned char buf[65536];
  for (int i = 0; i < 16 && c->w.cb && !c->eof; i++) {
    ssize_t n = recv(c->w.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) {
      fail_conn(c, "recv", errno);
      break;
    }
    napi_value data, undef;
    if (CNI_NAPI_FAILED(env, napi_get_undefined(env, &undef))) break;
    if (n == 0) {
      c->eof = 1;
      if (!CNI_NAPI_FAILED(env, napi_get_null(env, &data))) deliver(c, data, undef);
      break;
    }
    if (!(data = cni_buffer_copy(env, buf, (size_t)n)) || deliver(c, data, undef)) break;
  }
}

static void on_event(struct cni_watch *w, int status, int events) {
  struct us_conn *c = (struct us_conn *)w;
  napi_env env = c->w.env;
  napi_handle_scope scope;
  if (CNI_NAPI_FAILED(env, napi_open_handle_scope(env, &scope))) return;
  int e = 0;
  if (status < 0) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->w.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    fail_conn(c, "recv", err ? err : -status);
  } else if ((events & CNI_WRITABLE) && (e = flush(c))) {
    fail_conn(c, "send", e);
  } else {
    if (events & CNI_READABLE) read_ready(c);
    if (c->w.cb) start(c);
  }
  CNI_NAPI_FAILED(env, napi_close_handle_scope(env, scope));
}

// unixConnect(path, onEvent) -> fd: a non-blocking connect to the stream socket
// at path (errors thrown with their errno code: ENOENT, ECONNREFUSED, EAGAIN when
// the listener's backlog is full, ...), then onEvent(Buffer | null, Error?) on the
// event loop for each chunk read, the end of the stream, or an error.
static napi_value js_unix_connect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t len = 0;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  napi_valuetype t;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_fn(env, argv[1], "connect")) return NULL;
  CNI_NAPI(env, napi_typeof(env, argv[0], &t));
  if (t != napi_string) return cni_throw_errno(env, "connect", EINVAL);
  CNI_NAPI(env, napi_get_value_string_utf8(env, argv[0], NULL, 0, &len));
  if (len == 0) return cni_throw_errno(env, "connect", ENOENT);
  if (len >= sizeof sa.sun_path) return cni_throw_errno(env, "connect", ENAMETOOLONG);
  CNI_NAPI(env, napi_get_value_string_utf8(env, argv[0], sa.sun_path, sizeof sa.sun_path, &len));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return cni_throw_errno(env, "socket", errno);
  int rc;
  do rc = connect(fd, (struct sockaddr *)&sa, sizeof sa); while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int e = errno;
    close(fd);
    return cni_throw_errno(env, "connect", e);
  }
  struct us_conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return cni_throw_errno(env, "unixConnect", ENOMEM);
  }
  if (cni_watch_init(env, &c->w, &conns, fd, argv[1], "cni-ts:unixsock", on_event)) {
    free(c);
    close(fd);
    return NULL;
  }
  c->w.release = release;
  napi_value r;
  // from here on the watch owns fd: closing the watch closes it
  if (start(c) || !(r = cni_int32(env, fd))) {
    cni_watch_close(env, &conns, fd);
    return NULL;
  }
  return r;
}

// unixWrite(fd, bytes): sends now what the socket takes, queues the rest for
// the event loop (in order). Throws EPIPE/ECONNRESET... when the peer is gone,
// EBADF for an fd unixConnect did not return (or one already closed).
static napi_value js_unix_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  void *data = NULL;
  size_t len = 0;
  int32_t fd;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "send") || cni_arg_bytes(env, argv[1], &data, &len, "send")) return NULL;
  struct us_conn *c = find(fd);
  if (!c) return cni_throw_errno(env, "send", EBADF);
  if (len == 0) return NULL;
  size_t pending = c->outLen - c->outOff;
  unsigned char *out = malloc(pending + len);
  if (!out) return cni_throw_errno(env, "send", ENOMEM);
  if (pending) memcpy(out, c->out + c->outOff, pending);
  memcpy(out + pending, data, len);
  free(c->out);
  c->out = out;
  c->outLen = pending + len;
  c->outOff = 0;
  int e = flush(c);
  if (e) return cni_throw_errno(env, "send", e);
  start(c);
  return NULL;
}

// unixClose(fd): stops the callbacks and closes the socket (once its poll
// thread lets go of it). Unknown fds are ignored.
static napi_value js_unix_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "unixClose")) return NULL;
  cni_watch_close(env, &conns, fd);
  return NULL;
}

napi_value cni_unixsock_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {CNI_FN("unixConnect", js_unix_connect), CNI_FN("unixWrite", js_unix_write), CNI_FN("unixClose", js_unix_close)};
  return cni_define(env, exports, props, sizeof props / sizeof props[0]);
}
