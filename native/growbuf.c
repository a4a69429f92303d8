// Growing read buffers (growbuf.h).
#include "growbuf.h"
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int cni_grow_read(int fd, struct growbuf *b) {
  if (b->cap - b->len < 65536) {
    size_t cap = b->cap ? b->cap * 2 : 65536;
    char *d = realloc(b->data, cap);
    if (!d) {
      errno = ENOMEM;
      return -1;
    }
    b->data = d;
    b->cap = cap;
  }
  ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
  if (n > 0) b->len += (size_t)n;
  return (int)n;
}
