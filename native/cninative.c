// The few system calls Node does not expose: setns, flock, statfs magic and a
// synchronous AF_NETLINK socket. Everything else (message encoding, policy) is
// TypeScript. Errors are thrown as Error objects carrying `errno` (positive) and
// `code` (the errno name) so callers branch on numbers, never on text.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <node_api.h>
#include "cninative.h"
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

napi_value cni_errno_error(napi_env env, const char *syscall, int e) {
  napi_value msg, err, num, code, sc;
  char buf[256];
  // glibc >= 2.32 names every errno ("ENOENT"); code is what callers branch on
  const char *name = strerrorname_np(e);
  snprintf(buf, sizeof buf, "%s: %s", syscall, strerror(e));
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_create_int32(env, e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_set_named_property(env, err, "code", code);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, err, "syscall", sc);
  return err;
}

napi_value cni_throw_errno(napi_env env, const char *syscall, int e) {
  napi_throw(env, cni_errno_error(env, syscall, e));
  return NULL;
}

static int32_t arg_i32(napi_env env, napi_callback_info info, size_t i) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t v = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (i < argc) napi_get_value_int32(env, argv[i], &v);
  return v;
}

static napi_value ret_i32(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

// setns(fd, nstype): moves the calling (main) thread only.
static napi_value js_setns(napi_env env, napi_callback_info info) {
  int fd = arg_i32(env, info, 0), type = arg_i32(env, info, 1);
  if (setns(fd, type) != 0) return cni_throw_errno(env, "setns", errno);
  return ret_i32(env, 0);
}

// flock(fd, op) -> true, or false when LOCK_NB was asked and the lock is held.
static napi_value js_flock(napi_env env, napi_callback_info info) {
  int fd = arg_i32(env, info, 0), op = arg_i32(env, info, 1);
  int rc;
  do rc = flock(fd, op); while (rc != 0 && errno == EINTR);
  napi_value r;
  if (rc != 0) {
    if (errno == EWOULDBLOCK) {
      napi_get_boolean(env, false, &r);
      return r;
    }
    return cni_throw_errno(env, "flock", errno);
  }
  napi_get_boolean(env, true, &r);
  return r;
}

// fsMagic(path) -> f_type of statfs, to tell nsfs/procfs from ordinary files.
static napi_value js_fsmagic(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok)
    return cni_throw_errno(env, "statfs", EINVAL);
  struct statfs st;
  if (statfs(path, &st) != 0) return cni_throw_errno(env, "statfs", errno);
  napi_value r;
  napi_create_double(env, (double)(unsigned long)st.f_type, &r);
  return r;
}

struct growbuf {
  char *data;
  size_t len, cap;
};

static int grow_read(int fd, struct growbuf *b) {
  if (b->cap - b->len < 65536) {
    size_t cap = b->cap ? b->cap * 2 : 65536;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
  if (n > 0) b->len += (size_t)n;
  return (int)n;
}

// Small file primitives for the hot paths of a plugin run. Node's fs does the
// same, but each of its functions costs 0.3-0.9 ms on its first call in a
// process (lazy internal set-up: Stats objects, buffer pools, validators),
// and a plugin makes most calls exactly once.

static int path_arg(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok && len < size - 1;
}

static napi_value id_string(napi_env env, const struct stat *st) {
  char id[64];
  snprintf(id, sizeof id, "%llu:%llu", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
  napi_value r;
  napi_create_string_utf8(env, id, NAPI_AUTO_LENGTH, &r);
  return r;
}

// fileId(path) -> "dev:ino" (stat, following links)
static napi_value js_fileid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !path_arg(env, argv[0], path, sizeof path)) return cni_throw_errno(env, "stat", EINVAL);
  struct stat st;
  if (stat(path, &st) != 0) return cni_throw_errno(env, "stat", errno);
  return id_string(env, &st);
}

// openNetns(path) -> { fd, id: "dev:ino", magic }: statfs, open(O_RDONLY|O_CLOEXEC), fstat.
static napi_value js_opennetns(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !path_arg(env, argv[0], path, sizeof path)) return cni_throw_errno(env, "open", EINVAL);
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
  napi_value r, v;
  napi_create_object(env, &r);
  napi_create_int32(env, fd, &v);
  napi_set_named_property(env, r, "fd", v);
  napi_set_named_property(env, r, "id", id_string(env, &st));
  napi_create_double(env, (double)(unsigned long)sfs.f_type, &v);
  napi_set_named_property(env, r, "magic", v);
  return r;
}

static napi_value read_to_buffer(napi_env env, int fd, const char *what) {
  struct growbuf b = {0};
  for (;;) {
    int n = grow_read(fd, &b);
    if (n > 0) continue;
    if (n == 0) break;
    if (errno == EINTR) continue;
    // EAGAIN (a non-blocking, empty descriptor) is thrown like any error, as Node's readFileSync does
    int e = errno;
    free(b.data);
    return cni_throw_errno(env, what, e ? e : ENOMEM);
  }
  napi_value r;
  napi_create_buffer_copy(env, b.len, b.data ? b.data : "", NULL, &r);
  free(b.data);
  return r;
}

// readFd(fd) -> Buffer: everything until end of file (stdin).
static napi_value js_readfd(napi_env env, napi_callback_info info) {
  return read_to_buffer(env, arg_i32(env, info, 0), "read");
}

// readFile(path) -> Buffer
static napi_value js_readfile(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !path_arg(env, argv[0], path, sizeof path)) return cni_throw_errno(env, "open", EINVAL);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cni_throw_errno(env, "open", errno);
  napi_value r = read_to_buffer(env, fd, "read");
  close(fd);
  return r;
}

// writeFile(path, data: string) -> undefined: open(O_WRONLY|O_TRUNC), one write, close (sysctls).
static napi_value js_writefile(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2];
  char path[4096], data[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !path_arg(env, argv[0], path, sizeof path)) return cni_throw_errno(env, "open", EINVAL);
  if (napi_get_value_string_utf8(env, argv[1], data, sizeof data, &len) != napi_ok || len >= sizeof data - 1) return cni_throw_errno(env, "write", EINVAL);
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return cni_throw_errno(env, "open", errno);
  ssize_t n = write(fd, data, len);
  int e = n < 0 ? errno : (size_t)n < len ? EIO : 0;
  if (close(fd) != 0 && !e) e = errno;
  if (e) return cni_throw_errno(env, "write", e);
  return NULL;
}

// isExecutableFile(path) -> boolean: a regular file we may execute.
static napi_value js_isexecfile(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct stat st;
  int ok = argc >= 1 && path_arg(env, argv[0], path, sizeof path) && access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
  napi_get_boolean(env, ok, &r);
  return r;
}

// nlOpen(protocol) -> fd of a bound, close-on-exec netlink socket with extended acks.
static napi_value js_nlopen(napi_env env, napi_callback_info info) {
  int proto = arg_i32(env, info, 0);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
  if (fd < 0) return cni_throw_errno(env, "socket", errno);
  int one = 1, rcv = 1 << 20;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    return cni_throw_errno(env, "bind", e);
  }
  return ret_i32(env, fd);
}

// nlSend(fd, buffer): one datagram to the kernel.
static napi_value js_nlsend(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2];
  void *data = NULL;
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) return cni_throw_errno(env, "sendto", EINVAL);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(fd, data, len, 0, (struct sockaddr *)&sa, sizeof sa); while (n < 0 && errno == EINTR);
  if (n < 0) return cni_throw_errno(env, "sendto", errno);
  return ret_i32(env, (int32_t)n);
}

// nlRecv(fd) -> Buffer with one datagram, sized with MSG_PEEK|MSG_TRUNC first.
static napi_value js_nlrecv(napi_env env, napi_callback_info info) {
  int fd = arg_i32(env, info, 0);
  char probe[1];
  ssize_t want;
  do want = recv(fd, probe, sizeof probe, MSG_PEEK | MSG_TRUNC); while (want < 0 && errno == EINTR);
  if (want < 0) return cni_throw_errno(env, "recv", errno);
  void *data = NULL;
  napi_value buf;
  if (napi_create_buffer(env, (size_t)(want > 0 ? want : 1), &data, &buf) != napi_ok) return cni_throw_errno(env, "recv", ENOBUFS);
  ssize_t n;
  do n = recv(fd, data, (size_t)(want > 0 ? want : 1), 0); while (n < 0 && errno == EINTR);
  if (n < 0) return cni_throw_errno(env, "recv", errno);
  if (n < want) {
    napi_value sub;
    napi_create_buffer_copy(env, (size_t)n, data, NULL, &sub);
    return sub;
  }
  return buf;
}

extern char **environ;

static char *dup_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static char **dup_string_array(napi_env env, napi_value arr) {
  uint32_t n = 0;
  if (napi_get_array_length(env, arr, &n) != napi_ok) return NULL;
  char **out = calloc(n + 1, sizeof(char *));
  for (uint32_t i = 0; out && i < n; i++) {
    napi_value item;
    napi_get_element(env, arr, i, &item);
    out[i] = dup_string(env, item);
  }
  return out;
}

static void free_string_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// One program run: posix_spawnp with three pipes and a poll loop that feeds
// stdin and collects stdout/stderr until the program exits. Pure C with its
// own copies of every input, so it can run on a thread of its own.
struct spawn_job {
  char *file;
  char **args, **envp;
  char *in;
  size_t inLen;
  int32_t timeout;
  int err, status, timedOut;
  struct growbuf ob, eb;
  pthread_t thread;
};

// A copy of our environment with `overrides` ("KEY=VALUE" each, may be NULL)
// replacing the variables they name and the rest appended.
static char **dup_environ(char **overrides) {
  size_t n = 0, no = 0;
  while (environ[n]) n++;
  while (overrides && overrides[no]) no++;
  char **out = calloc(n + no + 1, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; out && i < n; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    int replaced = 0;
    for (size_t o = 0; o < no && !replaced; o++) replaced = strncmp(overrides[o], environ[i], klen) == 0 && overrides[o][klen] == '=';
    if (!replaced) out[k++] = strdup(environ[i]);
  }
  for (size_t o = 0; out && o < no; o++) out[k++] = strdup(overrides[o]);
  return out;
}

// Copies the JavaScript arguments (file, argv[], env[] | null, stdin: Buffer,
// timeoutMs <= 0: none, overrides[]?) into a job. A null env is a copy of ours
// with `overrides` applied, taken now, so a job on another thread never reads
// environ while JavaScript changes it (and JavaScript never has to enumerate
// process.env, which costs a call into C++ per variable).
static struct spawn_job *job_from_args(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct spawn_job *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  j->file = dup_string(env, argv[0]);
  j->args = dup_string_array(env, argv[1]);
  napi_valuetype envType;
  napi_typeof(env, argv[2], &envType);
  if (envType == napi_object) {
    j->envp = dup_string_array(env, argv[2]);
  } else {
    napi_valuetype ovType = napi_undefined;
    if (argc >= 6) napi_typeof(env, argv[5], &ovType);
    char **overrides = ovType == napi_object ? dup_string_array(env, argv[5]) : NULL;
    j->envp = dup_environ(overrides);
    free_string_array(overrides);
  }
  void *in = NULL;
  napi_get_buffer_info(env, argv[3], &in, &j->inLen);
  j->in = malloc(j->inLen ? j->inLen : 1);
  if (j->in && j->inLen) memcpy(j->in, in, j->inLen);
  j->timeout = 60000;
  napi_get_value_int32(env, argv[4], &j->timeout);
  return j;
}

static void *run_job(void *arg) {
  struct spawn_job *j = arg;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  pid_t pid = -1;
  if (!j->file || !j->args || !j->envp || !j->in || pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) j->err = errno ? errno : ENOMEM;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (!j->err) {
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    // Node ignores SIGPIPE; an ignored signal survives exec, so reset them all.
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    j->err = posix_spawnp(&pid, j->file, &fa, &attr, j->args, j->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  if (pin[0] >= 0) close(pin[0]);
  if (pout[1] >= 0) close(pout[1]);
  if (perr[1] >= 0) close(perr[1]);
  if (!j->err) {
    size_t off = 0;
    if (j->inLen == 0) {
      close(pin[1]);
      pin[1] = -1;
    } else {
      fcntl(pin[1], F_SETFL, O_NONBLOCK);
    }
    long long deadline = now_ms() + j->timeout;
    while (pout[0] >= 0 || perr[0] >= 0 || pin[1] >= 0) {
      struct pollfd fds[3];
      int nf = 0, iout = -1, ierr = -1, iin = -1;
      if (pout[0] >= 0) { iout = nf; fds[nf++] = (struct pollfd){pout[0], POLLIN, 0}; }
      if (perr[0] >= 0) { ierr = nf; fds[nf++] = (struct pollfd){perr[0], POLLIN, 0}; }
      if (pin[1] >= 0) { iin = nf; fds[nf++] = (struct pollfd){pin[1], POLLOUT, 0}; }
      long long left = j->timeout > 0 ? deadline - now_ms() : -1;
      if (j->timeout > 0 && left <= 0) { j->timedOut = 1; break; }
      int r = poll(fds, nf, (int)left);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) break;
      if (iout >= 0 && fds[iout].revents) { if (grow_read(pout[0], &j->ob) <= 0) { close(pout[0]); pout[0] = -1; } }
      if (ierr >= 0 && fds[ierr].revents) { if (grow_read(perr[0], &j->eb) <= 0) { close(perr[0]); perr[0] = -1; } }
      if (iin >= 0 && fds[iin].revents) {
        ssize_t n = (fds[iin].revents & POLLOUT) ? write(pin[1], j->in + off, j->inLen - off) : -1;
        if (n > 0) off += (size_t)n;
        if (n < 0 && errno == EAGAIN) continue;
        if (n < 0 || off >= j->inLen) { close(pin[1]); pin[1] = -1; }
      }
    }
    if (j->timedOut) kill(pid, SIGKILL);
    while (waitpid(pid, &j->status, 0) < 0 && errno == EINTR) {}
  }
  if (pin[1] >= 0) close(pin[1]);
  if (pout[0] >= 0) close(pout[0]);
  if (perr[0] >= 0) close(perr[0]);
  return NULL;
}

static void free_job(struct spawn_job *j) {
  free(j->file);
  free_string_array(j->args);
  free_string_array(j->envp);
  free(j->in);
  free(j->ob.data);
  free(j->eb.data);
  free(j);
}

// The job's outcome as { status, signal, timedOut, stdout: Buffer, stderr: Buffer }
// (or a thrown errno error when the program could not start); frees the job.
static napi_value job_result(napi_env env, struct spawn_job *j) {
  if (j->err) {
    int err = j->err;
    free_job(j);
    return cni_throw_errno(env, "posix_spawn", err);
  }
  napi_value res, v;
  napi_create_object(env, &res);
  napi_create_int32(env, j->timedOut ? -1 : WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1, &v);
  napi_set_named_property(env, res, "status", v);
  napi_create_int32(env, j->timedOut ? SIGKILL : WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0, &v);
  napi_set_named_property(env, res, "signal", v);
  napi_get_boolean(env, j->timedOut, &v);
  napi_set_named_property(env, res, "timedOut", v);
  napi_create_buffer_copy(env, j->ob.len, j->ob.data ? j->ob.data : "", NULL, &v);
  napi_set_named_property(env, res, "stdout", v);
  napi_create_buffer_copy(env, j->eb.len, j->eb.data ? j->eb.data : "", NULL, &v);
  napi_set_named_property(env, res, "stderr", v);
  free_job(j);
  return res;
}

// spawnSync(file, argv[], env[] | null, stdin: Buffer, timeoutMs) -> result:
// no JavaScript module has to be loaded to run iptables-restore, nft or an IPAM
// plugin (node:child_process costs ~8 ms of start-up on every call that loads it).
static napi_value js_spawnsync(napi_env env, napi_callback_info info) {
  struct spawn_job *j = job_from_args(env, info);
  if (!j) return cni_throw_errno(env, "posix_spawn", ENOMEM);
  run_job(j);
  return job_result(env, j);
}

// What JavaScript holds for a started job; job is NULL once waited for.
struct spawn_handle {
  struct spawn_job *job;
};

// A handle nobody waited for keeps its job: the thread may still be using it.
static void free_handle(napi_env env, void *data, void *hint) {
  struct spawn_handle *h = data;
  if (!h->job) free(h);
}

// spawnStart(same arguments) -> handle: the same run on a thread of its own, so
// the caller can do other work (netlink, sysctls) while the program runs. The
// thread is created from the calling thread, so the program starts in the
// namespaces that thread is in now. Every handle must be passed to spawnWait.
static napi_value js_spawnstart(napi_env env, napi_callback_info info) {
  struct spawn_job *j = job_from_args(env, info);
  if (!j) return cni_throw_errno(env, "posix_spawn", ENOMEM);
  int e = pthread_create(&j->thread, NULL, run_job, j);
  if (e) {
    free_job(j);
    return cni_throw_errno(env, "pthread_create", e);
  }
  struct spawn_handle *h = malloc(sizeof *h);
  if (!h) {
    pthread_join(j->thread, NULL);
    free_job(j);
    return cni_throw_errno(env, "spawnStart", ENOMEM);
  }
  h->job = j;
  napi_value handle;
  napi_create_external(env, h, free_handle, NULL, &handle);
  return handle;
}

// spawnWait(handle) -> result: joins the thread (once; a second call throws EINVAL).
static napi_value js_spawnwait(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct spawn_handle *h = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&h) != napi_ok || !h || !h->job) return cni_throw_errno(env, "spawnWait", EINVAL);
  struct spawn_job *j = h->job;
  h->job = NULL;
  pthread_join(j->thread, NULL);
  return job_result(env, j);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setns", NULL, js_setns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flock", NULL, js_flock, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fsMagic", NULL, js_fsmagic, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fileId", NULL, js_fileid, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openNetns", NULL, js_opennetns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readFd", NULL, js_readfd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readFile", NULL, js_readfile, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeFile", NULL, js_writefile, NULL, NULL, NULL, napi_enumerable, NULL},
      {"isExecutableFile", NULL, js_isexecfile, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlOpen", NULL, js_nlopen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlSend", NULL, js_nlsend, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlRecv", NULL, js_nlrecv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"spawnSync", NULL, js_spawnsync, NULL, NULL, NULL, napi_enumerable, NULL},
      {"spawnStart", NULL, js_spawnstart, NULL, NULL, NULL, napi_enumerable, NULL},
      {"spawnWait", NULL, js_spawnwait, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  cni_packet_init(env, exports);
  cni_unixsock_init(env, exports);
  cni_tun_init(env, exports);
  cni_nlasync_init(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
