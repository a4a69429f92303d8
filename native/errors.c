// Errors as the addon throws them (errors.h).
#define _GNU_SOURCE
#include "errors.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

napi_value cni_errno_error(napi_env env, const char *syscall, int e) {
  napi_value msg, err, num, code, sc;
  char buf[256];
  // glibc >= 2.32 names every errno ("ENOENT"); code is what callers branch on
  const char *name = strerrorname_np(e);
  snprintf(buf, sizeof buf, "%s: %s", syscall, strerror(e));
  CNI_NAPI(env, napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg));
  CNI_NAPI(env, napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code));
  CNI_NAPI(env, napi_create_error(env, code, msg, &err));
  CNI_NAPI(env, napi_create_int32(env, e, &num));
  CNI_NAPI(env, napi_set_named_property(env, err, "errno", num));
  CNI_NAPI(env, napi_set_named_property(env, err, "code", code));
  CNI_NAPI(env, napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc));
  CNI_NAPI(env, napi_set_named_property(env, err, "syscall", sc));
  return err;
}

napi_value cni_throw_errno(napi_env env, const char *syscall, int e) {
  napi_value err = cni_errno_error(env, syscall, e);
  if (err) CNI_NAPI(env, napi_throw(env, err));
  return NULL;
}

napi_value cni_throw_napi(napi_env env, const char *call, napi_status status) {
  // first: any other N-API call resets the last error
  const napi_extended_error_info *info = NULL;
  const char *why = napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message ? info->error_message : "failed";
  bool pending = false;
  if (status == napi_pending_exception || (napi_is_exception_pending(env, &pending) == napi_ok && pending)) return NULL;
  char msg[256];
  snprintf(msg, sizeof msg, "%.*s: %s (napi_status %d)", (int)strcspn(call, "("), call, why, (int)status);
  // if even this fails there is nothing left to report it with
  if (napi_throw_error(env, "ERR_NAPI", msg) != napi_ok) return NULL;
  return NULL;
}
