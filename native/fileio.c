// Small file primitives for the hot paths of a plugin run. Node's fs does the
// same, but each of its functions costs 0.3-0.9 ms on its first call in a
// process (lazy internal set-up: Stats objects, buffer pools, validators),
// and a plugin makes most calls exactly once.
#define _GNU_SOURCE
#include "fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>
#include "args.h"
#include "errors.h"
#include "growbuf.h"

napi_value cni_file_id(napi_env env, const struct stat *st) {
  char id[64];
  snprintf(id, sizeof id, "%llu:%llu", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
  napi_value r;
  CNI_NAPI(env, napi_create_string_utf8(env, id, NAPI_AUTO_LENGTH, &r));
  return r;
}

// fileId(path) -> "dev:ino" (stat, following links)
static napi_value js_fileid(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[4096];
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_str(env, argv[0], path, sizeof path, NULL, "stat")) return NULL;
  struct stat st;
  if (stat(path, &st) != 0) return cni_throw_errno(env, "stat", errno);
  return cni_file_id(env, &st);
}

// flock(fd, op) -> true, or false when LOCK_NB was asked and the lock is held.
static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, op;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "flock") || cni_arg_i32(env, argv[1], &op, "flock")) return NULL;
  int rc;
  do rc = flock(fd, op); while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno == EWOULDBLOCK) return cni_boolean(env, 0);
  if (rc != 0) return cni_throw_errno(env, "flock", errno);
  return cni_boolean(env, 1);
}

static napi_value read_to_buffer(napi_env env, int fd, const char *what) {
  struct growbuf b = {0};
  for (;;) {
    int n = cni_grow_read(fd, &b);
    if (n > 0) continue;
    if (n == 0) break;
    if (errno == EINTR) continue;
    // EAGAIN (a non-blocking, empty descriptor) is thrown like any error, as Node's readFileSync does
    int e = errno;
    free(b.data);
    return cni_throw_errno(env, what, e ? e : ENOMEM);
  }
  napi_value r = cni_buffer_copy(env, b.data, b.len);
  free(b.data);
  return r;
}

// readFd(fd) -> Buffer: everything until end of file (stdin).
static napi_value js_readfd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "read")) return NULL;
  return read_to_buffer(env, fd, "read");
}

// readFile(path) -> Buffer: open(O_RDONLY), read to the end, close.
static napi_value js_readfile(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[4096];
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_str(env, argv[0], path, sizeof path, NULL, "open")) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cni_throw_errno(env, "open", errno);
  napi_value r = read_to_buffer(env, fd, "read");
  close(fd);
  return r;
}

// writeFile(path, data: string) -> undefined: open(O_WRONLY|O_TRUNC), one write, close (sysctls).
static napi_value js_writefile(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[4096], data[4096];
  size_t len = 0;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_str(env, argv[0], path, sizeof path, NULL, "open") ||
      cni_arg_str(env, argv[1], data, sizeof data, &len, "write"))
    return NULL;
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return cni_throw_errno(env, "open", errno);
  ssize_t n = write(fd, data, len);
  int e = n < 0 ? errno : (size_t)n < len ? EIO : 0;
  if (close(fd) != 0 && !e) e = errno;
  if (e) return cni_throw_errno(env, "write", e);
  return NULL;
}

// isExecutableFile(path) -> boolean: a regular file we may execute (false for anything but a path).
static napi_value js_isexecfile(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[4096];
  struct stat st;
  if (cni_args(env, info, 1, argv) < 0) return NULL;
  int ok = cni_arg_path_or_none(env, argv[0], path, sizeof path);
  if (ok < 0) return NULL;
  return cni_boolean(env, ok && access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode));
}

napi_value cni_fileio_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      CNI_FN("fileId", js_fileid),   CNI_FN("flock", js_flock),         CNI_FN("readFd", js_readfd),
      CNI_FN("readFile", js_readfile), CNI_FN("writeFile", js_writefile), CNI_FN("isExecutableFile", js_isexecfile),
  };
  return cni_define(env, exports, props, sizeof props / sizeof props[0]);
}
