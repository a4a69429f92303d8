// TUN/TAP devices through /dev/net/tun: the kernel creates them only by
// ioctl (rtnetlink's "tun" kind refuses creation). The device is made in the
// network namespace of the calling thread (the namespace of the file's socket
// is the opener's), persistent, and no queue fd is kept: it outlives us, as
// `ip tuntap add` makes it.
#define _GNU_SOURCE
#include "tun.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "args.h"
#include "errors.h"

// tunCreate(name, flags, owner, group) -> the device's name. `flags` are
// TUNSETIFF's IFF_*; owner/group -1 leave them unset. On any failure the fd is
// closed before TUNSETPERSIST, which removes the device with it.
static napi_value js_tuncreate(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char name[IFNAMSIZ];
  size_t len = 0;
  int32_t flags;
  int64_t owner, group;
  // owner and group: -1, or an id up to 2^32-1
  if (cni_args(env, info, 4, argv) < 0 || cni_arg_str(env, argv[0], name, sizeof name, &len, "tunCreate") || cni_arg_i32(env, argv[1], &flags, "tunCreate") ||
      cni_arg_i64(env, argv[2], &owner, "tunCreate") || cni_arg_i64(env, argv[3], &group, "tunCreate"))
    return NULL;
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return cni_throw_errno(env, "open /dev/net/tun", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, len);
  ifr.ifr_flags = (short)flags;
  const char *step = "TUNSETIFF";
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) goto fail;
  step = "TUNSETOWNER";
  if (owner >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long)owner) != 0) goto fail;
  step = "TUNSETGROUP";
  if (group >= 0 && ioctl(fd, TUNSETGROUP, (unsigned long)group) != 0) goto fail;
  step = "TUNSETPERSIST";
  if (ioctl(fd, TUNSETPERSIST, 1UL) != 0) goto fail;
  close(fd);
  napi_value r;
  CNI_NAPI(env, napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &r));
  return r;
fail:;
  int e = errno;
  close(fd);
  return cni_throw_errno(env, step, e);
}

napi_value cni_tun_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {CNI_FN("tunCreate", js_tuncreate)};
  return cni_define(env, exports, props, sizeof props / sizeof props[0]);
}
