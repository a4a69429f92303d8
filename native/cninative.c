// The few system calls Node does not expose: setns, flock, statfs magic and a
// synchronous AF_NETLINK socket. Everything else (message encoding, policy) is
// TypeScript. Errors are thrown as Error objects carrying `errno` (positive) and
// `code` (the errno name) so callers branch on numbers, never on text.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

static const char *errno_name(int e) {
  switch (e) {
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case EINTR: return "EINTR";
  case EBADF: return "EBADF";
  case EAGAIN: return "EAGAIN";
  case EBUSY: return "EBUSY";
  case EEXIST: return "EEXIST";
  case ENODEV: return "ENODEV";
  case EINVAL: return "EINVAL";
  case ENOSPC: return "ENOSPC";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
  case ENOBUFS: return "ENOBUFS";
  case ERANGE: return "ERANGE";
  case ESRCH: return "ESRCH";
  case EACCES: return "EACCES";
  case ENETUNREACH: return "ENETUNREACH";
  default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, const char *syscall, int e) {
  napi_value msg, err, num, code, sc;
  char buf[256];
  snprintf(buf, sizeof buf, "%s: %s", syscall, strerror(e));
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_create_int32(env, e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_set_named_property(env, err, "code", code);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, err, "syscall", sc);
  napi_throw(env, err);
  return NULL;
}

static int32_t arg_i32(napi_env env, napi_callback_info info, size_t i) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t v = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (i < argc) napi_get_value_int32(env, argv[i], &v);
  return v;
}

static napi_value ret_i32(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

// setns(fd, nstype): moves the calling (main) thread only.
static napi_value js_setns(napi_env env, napi_callback_info info) {
  int fd = arg_i32(env, info, 0), type = arg_i32(env, info, 1);
  if (setns(fd, type) != 0) return throw_errno(env, "setns", errno);
  return ret_i32(env, 0);
}

// flock(fd, op) -> true, or false when LOCK_NB was asked and the lock is held.
static napi_value js_flock(napi_env env, napi_callback_info info) {
  int fd = arg_i32(env, info, 0), op = arg_i32(env, info, 1);
  int rc;
  do rc = flock(fd, op); while (rc != 0 && errno == EINTR);
  napi_value r;
  if (rc != 0) {
    if (errno == EWOULDBLOCK) {
      napi_get_boolean(env, false, &r);
      return r;
    }
    return throw_errno(env, "flock", errno);
  }
  napi_get_boolean(env, true, &r);
  return r;
}

// fsMagic(path) -> f_type of statfs, to tell nsfs/procfs from ordinary files.
static napi_value js_fsmagic(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok)
    return throw_errno(env, "statfs", EINVAL);
  struct statfs st;
  if (statfs(path, &st) != 0) return throw_errno(env, "statfs", errno);
  napi_value r;
  napi_create_double(env, (double)(unsigned long)st.f_type, &r);
  return r;
}

// nlOpen(protocol) -> fd of a bound, close-on-exec netlink socket with extended acks.
static napi_value js_nlopen(napi_env env, napi_callback_info info) {
  int proto = arg_i32(env, info, 0);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1, rcv = 1 << 20;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  return ret_i32(env, fd);
}

// nlSend(fd, buffer): one datagram to the kernel.
static napi_value js_nlsend(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2];
  void *data = NULL;
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) return throw_errno(env, "sendto", EINVAL);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(fd, data, len, 0, (struct sockaddr *)&sa, sizeof sa); while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "sendto", errno);
  return ret_i32(env, (int32_t)n);
}

// nlRecv(fd) -> Buffer with one datagram, sized with MSG_PEEK|MSG_TRUNC first.
static napi_value js_nlrecv(napi_env env, napi_callback_info info) {
  int fd = arg_i32(env, info, 0);
  char probe[1];
  ssize_t want;
  do want = recv(fd, probe, sizeof probe, MSG_PEEK | MSG_TRUNC); while (want < 0 && errno == EINTR);
  if (want < 0) return throw_errno(env, "recv", errno);
  void *data = NULL;
  napi_value buf;
  if (napi_create_buffer(env, (size_t)(want > 0 ? want : 1), &data, &buf) != napi_ok) return throw_errno(env, "recv", ENOBUFS);
  ssize_t n;
  do n = recv(fd, data, (size_t)(want > 0 ? want : 1), 0); while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "recv", errno);
  if (n < want) {
    napi_value sub;
    napi_create_buffer_copy(env, (size_t)n, data, NULL, &sub);
    return sub;
  }
  return buf;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setns", NULL, js_setns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flock", NULL, js_flock, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fsMagic", NULL, js_fsmagic, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlOpen", NULL, js_nlopen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlSend", NULL, js_nlsend, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlRecv", NULL, js_nlrecv, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
