// Namespaces, which Node has no call for: setns(2), and opening a namespace
// file with what tells it apart from an ordinary file (its filesystem's magic,
// its identity) in one call.
#define _GNU_SOURCE
#include "netns.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "args.h"
#include "errors.h"
#include "fileio.h"

// setns(fd, nstype): moves the calling (main) thread only.
static napi_value js_setns(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, type;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "setns") || cni_arg_i32(env, argv[1], &type, "setns")) return NULL;
  if (setns(fd, type) != 0) return cni_throw_errno(env, "setns", errno);
  return cni_int32(env, 0);
}

// fsMagic(path) -> f_type of statfs, to tell nsfs/procfs from ordinary files.
static napi_value js_fsmagic(napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  char path[4096];
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_str(env, argv[0], path, sizeof path, NULL, "statfs")) return NULL;
  struct statfs st;
  if (statfs(path, &st) != 0) return cni_throw_errno(env, "statfs", errno);
  CNI_NAPI(env, napi_create_double(env, (double)(unsigned long)st.f_type, &r));
  return r;
}

// openNetns(path) -> { fd, id: "dev:ino", magic }: statfs, open(O_RDONLY|O_CLOEXEC), fstat.
static napi_value js_opennetns(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[4096];
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_str(env, argv[0], path, sizeof path, NULL, "open")) return NULL;
  struct statfs sfs;
  if (statfs(path, &sfs) != 0) return cni_throw_errno(env, "statfs", errno);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cni_throw_errno(env, "open", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return cni_throw_errno(env, "fstat", e);
  }
  // from here on a failure closes fd: JavaScript never learns its number
  napi_value r, v, id;
  if (CNI_NAPI_FAILED(env, napi_create_object(env, &r)) || CNI_NAPI_FAILED(env, napi_create_int32(env, fd, &v)) ||
      CNI_NAPI_FAILED(env, napi_set_named_property(env, r, "fd", v)) || !(id = cni_file_id(env, &st)) ||
      CNI_NAPI_FAILED(env, napi_set_named_property(env, r, "id", id)) ||
      CNI_NAPI_FAILED(env, napi_create_double(env, (double)(unsigned long)sfs.f_type, &v)) ||
      CNI_NAPI_FAILED(env, napi_set_named_property(env, r, "magic", v))) {
    close(fd);
    return NULL;
  }
  return r;
}

napi_value cni_netns_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {CNI_FN("setns", js_setns), CNI_FN("fsMagic", js_fsmagic), CNI_FN("openNetns", js_opennetns)};
  return cni_define(env, exports, props, sizeof props / sizeof props[0]);
}
