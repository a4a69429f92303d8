// A JS call's arguments in, its return values out, for the addon's functions.
// An argument of the wrong type is EINVAL from the function's `syscall` (as
// system calls report a bad argument); any other failure is thrown as errors.h
// says. Each returns 0, or -1 (NULL for values) with an exception thrown.
#ifndef CNI_ARGS_H
#define CNI_ARGS_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/** The call's first `n` arguments into argv (undefined past those passed); how many were passed, or -1. */
int cni_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv);
/** A number as int32. */
int cni_arg_i32(napi_env env, napi_value v, int32_t *out, const char *syscall);
/** A number as int64. */
int cni_arg_i64(napi_env env, napi_value v, int64_t *out, const char *syscall);
/** A string that fits in `size` bytes with its NUL (a path, a sysctl value): its length in *len (may be NULL). */
int cni_arg_str(napi_env env, napi_value v, char *buf, size_t size, size_t *len, const char *syscall);
/** For predicates that answer false for anything but a path: 1 with a string that fits in `size` bytes copied to buf, 0 for any other value, -1 (thrown) when N-API fails. */
int cni_arg_path_or_none(napi_env env, napi_value v, char *buf, size_t size);
/** A Buffer or typed array's bytes. */
int cni_arg_bytes(napi_env env, napi_value v, void **data, size_t *len, const char *syscall);
/** The pointer an external holds. */
int cni_arg_external(napi_env env, napi_value v, void **out, const char *syscall);
/** A function. */
int cni_arg_fn(napi_env env, napi_value v, const char *syscall);

napi_value cni_int32(napi_env env, int32_t v);
napi_value cni_boolean(napi_env env, int v);
/** A Buffer holding a copy of `len` bytes at `data` (NULL when len is 0). */
napi_value cni_buffer_copy(napi_env env, const void *data, size_t len);
/** Adds `n` functions to the addon's exports; NULL, or exports. */
napi_value cni_define(napi_env env, napi_value exports, const napi_property_descriptor *props, size_t n);
/** A property of cni_define's list: a function `name`, enumerable. */
#define CNI_FN(name, fn) {(name), NULL, (fn), NULL, NULL, NULL, napi_enumerable, NULL}
#endif
