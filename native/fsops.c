// The file-system calls a plugin run makes, one system call each, for
// pkg/native/fs.ts. A Bun executable loads its node:fs module (~2 ms of a
// ~17 ms start on this machine) only when something imports it; with these
// the calls every plugin makes (stdout, the host-local store, netns handles)
// import nothing. Errors as errors.h says; paths are the caller's to add.
#define _GNU_SOURCE
#include "fsops.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "args.h"
#include "errors.h"

#define PATH_BUF 4096

static int arg_path(napi_env env, napi_value v, char *buf, const char *syscall) {
  return cni_arg_str(env, v, buf, PATH_BUF, NULL, syscall);
}

// open(path, flags, mode) -> fd (O_CLOEXEC always added)
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[PATH_BUF];
  int32_t flags, mode;
  if (cni_args(env, info, 3, argv) < 0 || arg_path(env, argv[0], path, "open") || cni_arg_i32(env, argv[1], &flags, "open") ||
      cni_arg_i32(env, argv[2], &mode, "open"))
    return NULL;
  int fd;
  do fd = open(path, flags | O_CLOEXEC, (mode_t)mode); while (fd < 0 && errno == EINTR);
  if (fd < 0) return cni_throw_errno(env, "open", errno);
  return cni_int32(env, fd);
}

// close(fd) -> undefined
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "close")) return NULL;
  // Linux releases the descriptor even when close reports EINTR: never retry
  if (close(fd) != 0 && errno != EINTR) return cni_throw_errno(env, "close", errno);
  return NULL;
}

// write(fd, bytes, position) -> bytes written: all of them (short writes resumed, EINTR retried),
// at `position` (pwrite) when it is >= 0. EAGAIN is thrown after a partial write too: the count is lost,
// so callers give non-blocking descriptors one write at a time (see pkg/native/fs.ts).
static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  int64_t pos;
  void *data;
  size_t len;
  if (cni_args(env, info, 3, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "write") || cni_arg_bytes(env, argv[1], &data, &len, "write") ||
      cni_arg_i64(env, argv[2], &pos, "write"))
    return NULL;
  size_t off = 0;
  while (off < len) {
    ssize_t n = pos >= 0 ? pwrite(fd, (char *)data + off, len - off, (off_t)(pos + (int64_t)off)) : write(fd, (char *)data + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && off > 0) break; // report what went out; the caller writes the rest
    if (n < 0) return cni_throw_errno(env, pos >= 0 ? "pwrite" : "write", errno);
    off += (size_t)n;
  }
  napi_value r;
  CNI_NAPI(env, napi_create_double(env, (double)off, &r));
  return r;
}

static int set_str(napi_env env, napi_value obj, const char *key, unsigned long long v) {
  char buf[32];
  napi_value s;
  snprintf(buf, sizeof buf, "%llu", v);
  if (CNI_NAPI_FAILED(env, napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &s))) return -1;
  return CNI_NAPI_FAILED(env, napi_set_named_property(env, obj, key, s)) ? -1 : 0;
}

static int set_num(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  if (CNI_NAPI_FAILED(env, napi_create_double(env, v, &n))) return -1;
  return CNI_NAPI_FAILED(env, napi_set_named_property(env, obj, key, n)) ? -1 : 0;
}

// { dev, ino, mtimeNs } as decimal strings (exact: 64-bit values), { mode, nlink, uid, gid, size } as numbers
static napi_value stat_object(napi_env env, const struct stat *st) {
  napi_value o;
  CNI_NAPI(env, napi_create_object(env, &o));
  unsigned long long mtime_ns = (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st->st_mtim.tv_nsec;
  if (set_str(env, o, "dev", (unsigned long long)st->st_dev) || set_str(env, o, "ino", (unsigned long long)st->st_ino) ||
      set_str(env, o, "mtimeNs", mtime_ns) || set_num(env, o, "mode", st->st_mode) || set_num(env, o, "nlink", (double)st->st_nlink) ||
      set_num(env, o, "uid", st->st_uid) || set_num(env, o, "gid", st->st_gid) || set_num(env, o, "size", (double)st->st_size))
    return NULL;
  return o;
}

static napi_value path_stat(napi_env env, napi_callback_info info, int follow) {
  napi_value argv[1];
  char path[PATH_BUF];
  const char *sc = follow ? "stat" : "lstat";
  if (cni_args(env, info, 1, argv) < 0 || arg_path(env, argv[0], path, sc)) return NULL;
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return cni_throw_errno(env, sc, errno);
  return stat_object(env, &st);
}

static napi_value js_stat(napi_env env, napi_callback_info info) { return path_stat(env, info, 1); }
static napi_value js_lstat(napi_env env, napi_callback_info info) { return path_stat(env, info, 0); }

static napi_value js_fstat(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "fstat")) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) return cni_throw_errno(env, "fstat", errno);
  return stat_object(env, &st);
}

static napi_value js_ftruncate(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  int64_t len;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "ftruncate") || cni_arg_i64(env, argv[1], &len, "ftruncate")) return NULL;
  int rc;
  do rc = ftruncate(fd, (off_t)len); while (rc != 0 && errno == EINTR);
  if (rc != 0) return cni_throw_errno(env, "ftruncate", errno);
  return NULL;
}

// link(from, to) and rename(from, to)
static napi_value two_paths(napi_env env, napi_callback_info info, const char *sc, int (*fn)(const char *, const char *)) {
  napi_value argv[2];
  char a[PATH_BUF], b[PATH_BUF];
  if (cni_args(env, info, 2, argv) < 0 || arg_path(env, argv[0], a, sc) || arg_path(env, argv[1], b, sc)) return NULL;
  if (fn(a, b) != 0) return cni_throw_errno(env, sc, errno);
  return NULL;
}

static napi_value js_link(napi_env env, napi_callback_info info) { return two_paths(env, info, "link", link); }
static napi_value js_rename(napi_env env, napi_callback_info info) { return two_paths(env, info, "rename", rename); }

// mkdir(path, mode): one level; EEXIST is the caller's to judge
static napi_value js_mkdir(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_BUF];
  int32_t mode;
  if (cni_args(env, info, 2, argv) < 0 || arg_path(env, argv[0], path, "mkdir") || cni_arg_i32(env, argv[1], &mode, "mkdir")) return NULL;
  if (mkdir(path, (mode_t)mode) != 0) return cni_throw_errno(env, "mkdir", errno);
  return NULL;
}

// rmdir(path) and unlink(path)
static napi_value one_path(napi_env env, napi_callback_info info, const char *sc, int (*fn)(const char *)) {
  napi_value argv[1];
  char path[PATH_BUF];
  if (cni_args(env, info, 1, argv) < 0 || arg_path(env, argv[0], path, sc)) return NULL;
  if (fn(path) != 0) return cni_throw_errno(env, sc, errno);
  return NULL;
}

static napi_value js_rmdir(napi_env env, napi_callback_info info) { return one_path(env, info, "rmdir", rmdir); }
static napi_value js_unlink(napi_env env, napi_callback_info info) { return one_path(env, info, "unlink", unlink); }

// readdir(path) -> [name, type, name, type, ...] without "." and "..": type 'f' regular file, 'd' directory,
// 'l' symbolic link, 'o' anything else, '?' unknown (the caller lstat()s those)
static napi_value js_readdir(napi_env env, napi_callback_info info) {
  napi_value argv[1], arr;
  char path[PATH_BUF];
  if (cni_args(env, info, 1, argv) < 0 || arg_path(env, argv[0], path, "opendir")) return NULL;
  DIR *d = opendir(path);
  if (!d) return cni_throw_errno(env, "opendir", errno);
  if (CNI_NAPI_FAILED(env, napi_create_array(env, &arr))) {
    closedir(d);
    return NULL;
  }
  uint32_t i = 0;
  for (;;) {
    errno = 0;
    struct dirent *ent = readdir(d);
    if (!ent) {
      int e = errno;
      closedir(d);
      if (e) return cni_throw_errno(env, "readdir", e);
      return arr;
    }
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
    const char *t = ent->d_type == DT_REG ? "f" : ent->d_type == DT_DIR ? "d" : ent->d_type == DT_LNK ? "l" : ent->d_type == DT_UNKNOWN ? "?" : "o";
    napi_value name, type;
    if (CNI_NAPI_FAILED(env, napi_create_string_utf8(env, ent->d_name, NAPI_AUTO_LENGTH, &name)) ||
        CNI_NAPI_FAILED(env, napi_create_string_utf8(env, t, 1, &type)) || CNI_NAPI_FAILED(env, napi_set_element(env, arr, i++, name)) ||
        CNI_NAPI_FAILED(env, napi_set_element(env, arr, i++, type))) {
      closedir(d);
      return NULL;
    }
  }
}

// exists(path) -> boolean: access(F_OK), as node's existsSync (false for anything but a usable path)
static napi_value js_exists(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[PATH_BUF];
  if (cni_args(env, info, 1, argv) < 0) return NULL;
  int ok = cni_arg_path_or_none(env, argv[0], path, sizeof path);
  if (ok < 0) return NULL;
  return cni_boolean(env, ok && access(path, F_OK) == 0);
}

// readlink(path) -> string: the link's target
static napi_value js_readlink(napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  char path[PATH_BUF], target[PATH_BUF];
  if (cni_args(env, info, 1, argv) < 0 || arg_path(env, argv[0], path, "readlink")) return NULL;
  ssize_t n = readlink(path, target, sizeof target);
  if (n < 0) return cni_throw_errno(env, "readlink", errno);
  if ((size_t)n >= sizeof target) return cni_throw_errno(env, "readlink", ENAMETOOLONG);
  CNI_NAPI(env, napi_create_string_utf8(env, target, (size_t)n, &r));
  return r;
}

// access(path, mode) -> undefined, or the errno thrown
static napi_value js_access(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_BUF];
  int32_t mode;
  if (cni_args(env, info, 2, argv) < 0 || arg_path(env, argv[0], path, "access") || cni_arg_i32(env, argv[1], &mode, "access")) return NULL;
  if (access(path, mode) != 0) return cni_throw_errno(env, "access", errno);
  return NULL;
}

napi_value cni_fsops_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      CNI_FN("fsOpen", js_open),   CNI_FN("fsClose", js_close),   CNI_FN("fsWrite", js_write),   CNI_FN("fsStat", js_stat),
      CNI_FN("fsLstat", js_lstat), CNI_FN("fsFstat", js_fstat),   CNI_FN("fsFtruncate", js_ftruncate), CNI_FN("fsLink", js_link),
      CNI_FN("fsRename", js_rename), CNI_FN("fsMkdir", js_mkdir), CNI_FN("fsRmdir", js_rmdir),   CNI_FN("fsUnlink", js_unlink),
      CNI_FN("fsReaddir", js_readdir), CNI_FN("fsExists", js_exists), CNI_FN("fsAccess", js_access), CNI_FN("fsReadlink", js_readlink),
  };
  return cni_define(env, exports, props, sizeof props / sizeof props[0]);
}
