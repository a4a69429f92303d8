// Arguments in, values out (args.h).
#define _GNU_SOURCE
#include "args.h"
#include <errno.h>
#include "errors.h"

int cni_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (CNI_NAPI_FAILED(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL))) return -1;
  return (int)argc;
}

// A conversion that failed because the value has the wrong type is the caller's EINVAL.
static int arg_failed(napi_env env, napi_status s, const char *call, const char *syscall) {
  if (s == napi_ok) return 0;
  if (s == napi_number_expected || s == napi_string_expected || s == napi_invalid_arg || s == napi_function_expected || s == napi_object_expected)
    cni_throw_errno(env, syscall, EINVAL);
  else
    cni_throw_napi(env, call, s);
  return -1;
}

int cni_arg_i32(napi_env env, napi_value v, int32_t *out, const char *syscall) {
  return arg_failed(env, napi_get_value_int32(env, v, out), "napi_get_value_int32", syscall);
}

int cni_arg_i64(napi_env env, napi_value v, int64_t *out, const char *syscall) {
  return arg_failed(env, napi_get_value_int64(env, v, out), "napi_get_value_int64", syscall);
}

int cni_arg_str(napi_env env, napi_value v, char *buf, size_t size, size_t *len, const char *syscall) {
  size_t n = 0;
  // the length first: napi_get_value_string_utf8 cuts a long string short without saying so
  if (arg_failed(env, napi_get_value_string_utf8(env, v, NULL, 0, &n), "napi_get_value_string_utf8", syscall)) return -1;
  if (n >= size) return cni_throw_errno(env, syscall, EINVAL), -1;
  if (CNI_NAPI_FAILED(env, napi_get_value_string_utf8(env, v, buf, size, &n))) return -1;
  if (len) *len = n;
  return 0;
}

int cni_arg_path_or_none(napi_env env, napi_value v, char *buf, size_t size) {
  napi_valuetype t;
  size_t len = 0;
  if (CNI_NAPI_FAILED(env, napi_typeof(env, v, &t))) return -1;
  if (t != napi_string) return 0;
  if (CNI_NAPI_FAILED(env, napi_get_value_string_utf8(env, v, NULL, 0, &len))) return -1;
  if (len >= size) return 0;
  if (CNI_NAPI_FAILED(env, napi_get_value_string_utf8(env, v, buf, size, &len))) return -1;
  return 1;
}

int cni_arg_bytes(napi_env env, napi_value v, void **data, size_t *len, const char *syscall) {
  return arg_failed(env, napi_get_buffer_info(env, v, data, len), "napi_get_buffer_info", syscall);
}

int cni_arg_external(napi_env env, napi_value v, void **out, const char *syscall) {
  return arg_failed(env, napi_get_value_external(env, v, out), "napi_get_value_external", syscall);
}

int cni_arg_fn(napi_env env, napi_value v, const char *syscall) {
  napi_valuetype t;
  if (CNI_NAPI_FAILED(env, napi_typeof(env, v, &t))) return -1;
  if (t != napi_function) return cni_throw_errno(env, syscall, EINVAL), -1;
  return 0;
}

napi_value cni_int32(napi_env env, int32_t v) {
  napi_value r;
  CNI_NAPI(env, napi_create_int32(env, v, &r));
  return r;
}

napi_value cni_boolean(napi_env env, int v) {
  napi_value r;
  CNI_NAPI(env, napi_get_boolean(env, v != 0, &r));
  return r;
}

napi_value cni_buffer_copy(napi_env env, const void *data, size_t len) {
  napi_value r;
  CNI_NAPI(env, napi_create_buffer_copy(env, len, len ? data : "", NULL, &r));
  return r;
}

napi_value cni_define(napi_env env, napi_value exports, const napi_property_descriptor *props, size_t n) {
  CNI_NAPI(env, napi_define_properties(env, exports, n, props));
  return exports;
}
