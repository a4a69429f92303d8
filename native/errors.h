// How the addon's C files report failure to JavaScript: a failed system call as
// an Error carrying `errno` (positive), `code` (the errno's name) and `syscall`,
// so callers branch on numbers, never on text; a failed N-API call as an Error
// (code ERR_NAPI) naming that call.
#ifndef CNI_ERRORS_H
#define CNI_ERRORS_H
#include <node_api.h>

/** An Error for errno `e` from `syscall`; NULL (an exception pending) when even that cannot be made. */
napi_value cni_errno_error(napi_env env, const char *syscall, int e);
/** Throws cni_errno_error(...); returns NULL for `return cni_throw_errno(...)`. */
napi_value cni_throw_errno(napi_env env, const char *syscall, int e);
/**
 * Throws an Error for the N-API call whose source text is `call` (the name up to
 * "(" is kept) and which returned `status`, unless that call failed because a
 * JavaScript exception is already pending (that one is the error). Returns NULL.
 * Call it right after the failing call: it reads napi_get_last_error_info.
 */
napi_value cni_throw_napi(napi_env env, const char *call, napi_status status);

static inline int cni_napi_failed(napi_env env, napi_status status, const char *call) {
  if (status == napi_ok) return 0;
  cni_throw_napi(env, call, status);
  return 1;
}

/** True, with an Error thrown naming the call, when the napi_* call `call` fails: `if (CNI_NAPI_FAILED(env, ...)) { free(...); return NULL; }`. */
#define CNI_NAPI_FAILED(env, call) cni_napi_failed((env), (call), #call)
/** Runs the napi_* call `call`; when it fails, throws (CNI_NAPI_FAILED) and returns NULL from the calling function. */
#define CNI_NAPI(env, call)                      \
  do {                                           \
    if (CNI_NAPI_FAILED(env, call)) return NULL; \
  } while (0)
#endif
