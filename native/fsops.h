// The file-system calls pkg/native/fs.ts offers in place of node:fs (fsops.c).
#ifndef CNI_FSOPS_H
#define CNI_FSOPS_H
#include <node_api.h>
/** Adds open, close, write, stat, lstat, fstat, ftruncate, link, rename, mkdir, rmdir, unlink, readdir, exists, access and readlink to exports; NULL, or exports. */
napi_value cni_fsops_init(napi_env env, napi_value exports);
#endif
