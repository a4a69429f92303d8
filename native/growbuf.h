// A byte buffer that grows as a descriptor is read into it (fileio.c's whole
// files, spawn.c's stdout and stderr pipes). Plain C: no N-API, any thread.
#ifndef CNI_GROWBUF_H
#define CNI_GROWBUF_H
#include <stddef.h>

struct growbuf {
  char *data; // NULL until the first read; free() it
  size_t len, cap;
};

/** One read(2) of `fd` onto the end of `b` (growing it first when less than 64 KiB is free): read's result, -1 with errno ENOMEM when it cannot grow. */
int cni_grow_read(int fd, struct growbuf *b);
#endif
