// Small file primitives for the hot paths of a plugin run (fileio.c).
#ifndef CNI_FILEIO_H
#define CNI_FILEIO_H
#include <node_api.h>
#include <sys/stat.h>

/** "dev:ino" of `st` as a JS string (what fileId returns; netns.c's openNetns too). */
napi_value cni_file_id(napi_env env, const struct stat *st);
/** Adds fileId, flock, readFd, readFile, writeFile and isExecutableFile to exports; NULL, or exports. */
napi_value cni_fileio_init(napi_env env, napi_value exports);
#endif
