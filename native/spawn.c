// Running a program to completion: posix_spawnp with three pipes and a poll
// loop that feeds stdin and collects stdout/stderr until the program exits, on
// the calling thread (spawnSync) or on a thread of its own (spawnStart, then
// spawnWait). No JavaScript module has to be loaded to run iptables-restore,
// nft or an IPAM plugin (node:child_process costs ~8 ms of start-up on every
// call that loads it).
#define _GNU_SOURCE
#include "spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "errors.h"
#include "growbuf.h"

extern char **environ;

// One program run. Pure C with its own copies of every input, so it can run on
// a thread of its own.
struct spawn_job {
  char *file;
  char **args, **envp;
  char *in;
  size_t inLen;
  int32_t timeout;
  int err;     // the program did not start: posix_spawn's errno (or pipe2's)
  int readErr; // ENOMEM when stdout or stderr outgrew memory (the rest was not read)
  int status, timedOut;
  struct growbuf ob, eb;
  pthread_t thread;
};

static void free_string_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
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

// A C copy of the string `v`; NULL with an exception thrown (EINVAL for a non-string, ENOMEM).
static char *dup_string(napi_env env, napi_value v) {
  size_t len = 0;
  napi_valuetype t;
  if (CNI_NAPI_FAILED(env, napi_typeof(env, v, &t))) return NULL;
  if (t != napi_string) return cni_throw_errno(env, "posix_spawn", EINVAL), NULL;
  CNI_NAPI(env, napi_get_value_string_utf8(env, v, NULL, 0, &len));
  char *s = malloc(len + 1);
  if (!s) return cni_throw_errno(env, "posix_spawn", ENOMEM), NULL;
  if (CNI_NAPI_FAILED(env, napi_get_value_string_utf8(env, v, s, len + 1, &len))) {
    free(s);
    return NULL;
  }
  return s;
}

// A NULL-terminated C copy of an array of strings; NULL with an exception thrown.
static char **dup_string_array(napi_env env, napi_value arr) {
  uint32_t n = 0;
  bool is = false;
  if (CNI_NAPI_FAILED(env, napi_is_array(env, arr, &is))) return NULL;
  if (!is) return cni_throw_errno(env, "posix_spawn", EINVAL), NULL;
  CNI_NAPI(env, napi_get_array_length(env, arr, &n));
  char **out = calloc((size_t)n + 1, sizeof(char *));
  if (!out) return cni_throw_errno(env, "posix_spawn", ENOMEM), NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    // out stays NULL-terminated after each step, so free_string_array frees what was copied so far
    if (CNI_NAPI_FAILED(env, napi_get_element(env, arr, i, &item)) || !(out[i] = dup_string(env, item))) {
      free_string_array(out);
      return NULL;
    }
  }
  return out;
}

// A copy of our environment with `overrides` ("KEY=VALUE" each, may be NULL)
// replacing the variables they name and the rest appended; NULL when out of memory.
static char **dup_environ(char **overrides) {
  size_t n = 0, no = 0;
  while (environ[n]) n++;
  while (overrides && overrides[no]) no++;
  char **out = calloc(n + no + 1, sizeof(char *));
  if (!out) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    int replaced = 0;
    for (size_t o = 0; o < no && !replaced; o++) replaced = strncmp(overrides[o], environ[i], klen) == 0 && overrides[o][klen] == '=';
    if (!replaced && !(out[k++] = strdup(environ[i]))) goto nomem;
  }
  for (size_t o = 0; o < no; o++)
    if (!(out[k++] = strdup(overrides[o]))) goto nomem;
  return out;
nomem:
  free_string_array(out); // NULL-terminated at the failed copy
  return NULL;
}

// The environment argument: a copy of `env` (an array), or, for null, a copy of
// ours with `overrides` (an array, or undefined) applied; NULL with an exception thrown.
static char **job_environ(napi_env env, napi_value envArg, napi_value overridesArg) {
  napi_valuetype t, ot;
  CNI_NAPI(env, napi_typeof(env, envArg, &t));
  if (t == napi_object) return dup_string_array(env, envArg);
  CNI_NAPI(env, napi_typeof(env, overridesArg, &ot));
  char **overrides = NULL;
  if (ot == napi_object && !(overrides = dup_string_array(env, overridesArg))) return NULL;
  char **out = dup_environ(overrides);
  free_string_array(overrides);
  if (!out) return cni_throw_errno(env, "posix_spawn", ENOMEM), NULL;
  return out;
}

// Copies the JavaScript arguments (file, argv[], env[] | null, stdin: Buffer,
// timeoutMs <= 0: none, overrides[]?) into a job; NULL with an exception thrown,
// nothing kept. A null env is a copy of ours with `overrides` applied, taken
// now, so a job on another thread never reads environ while JavaScript changes
// it (and JavaScript never has to enumerate process.env, which costs a call
// into C++ per variable).
static struct spawn_job *job_from_args(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (cni_args(env, info, 6, argv) < 0) return NULL;
  struct spawn_job *j = calloc(1, sizeof *j);
  if (!j) return cni_throw_errno(env, "posix_spawn", ENOMEM), NULL;
  void *in = NULL;
  napi_valuetype t;
  j->timeout = 60000;
  if (!(j->file = dup_string(env, argv[0])) || !(j->args = dup_string_array(env, argv[1])) || !(j->envp = job_environ(env, argv[2], argv[5])) ||
      cni_arg_bytes(env, argv[3], &in, &j->inLen, "posix_spawn") || CNI_NAPI_FAILED(env, napi_typeof(env, argv[4], &t)) ||
      (t == napi_number && cni_arg_i32(env, argv[4], &j->timeout, "posix_spawn")))
    goto fail;
  if (!(j->in = malloc(j->inLen ? j->inLen : 1))) {
    cni_throw_errno(env, "posix_spawn", ENOMEM);
    goto fail;
  }
  if (j->inLen) memcpy(j->in, in, j->inLen);
  return j;
fail:
  free_job(j);
  return NULL;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// posix_spawnp of the job with its stdio on the pipes' ends and our signal
// mask and dispositions reset; 0, or an errno (then no program runs).
static int start_program(struct spawn_job *j, pid_t *pid, int in, int out, int err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int e = posix_spawn_file_actions_init(&fa);
  if (e) return e;
  if ((e = posix_spawnattr_init(&attr))) {
    posix_spawn_file_actions_destroy(&fa);
    return e;
  }
  sigset_t none, all;
  sigemptyset(&none);
  // Node ignores SIGPIPE; an ignored signal survives exec, so reset them all.
  sigfillset(&all);
  if (!(e = posix_spawn_file_actions_adddup2(&fa, in, 0)) && !(e = posix_spawn_file_actions_adddup2(&fa, out, 1)) &&
      !(e = posix_spawn_file_actions_adddup2(&fa, err, 2)) && !(e = posix_spawnattr_setsigmask(&attr, &none)) &&
      !(e = posix_spawnattr_setsigdefault(&attr, &all)) && !(e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)))
    e = posix_spawnp(pid, j->file, &fa, &attr, j->args, j->envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return e;
}

// Reads a ready pipe into `b`; closes it (*fd = -1) at its end, on an error, or
// when `b` cannot grow (then readErr is ENOMEM and the program gets EPIPE).
static void drain(struct spawn_job *j, int *fd, struct growbuf *b) {
  int n = cni_grow_read(*fd, b);
  if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN))) return;
  if (n < 0 && errno == ENOMEM) j->readErr = ENOMEM;
  close(*fd);
  *fd = -1;
}

static void *run_job(void *arg) {
  struct spawn_job *j = arg;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  pid_t pid = -1;
  if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) j->err = errno;
  if (!j->err) j->err = start_program(j, &pid, pin[0], pout[1], perr[1]);
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
      if (iout >= 0 && fds[iout].revents) drain(j, &pout[0], &j->ob);
      if (ierr >= 0 && fds[ierr].revents) drain(j, &perr[0], &j->eb);
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

// The job's outcome as { status, signal, timedOut, stdout: Buffer, stderr: Buffer }
// (or a thrown errno error when the program could not start, or its output
// outgrew memory); frees the job on every path.
static napi_value job_result(napi_env env, struct spawn_job *j) {
  napi_value res = NULL, v;
  if (j->err || j->readErr) {
    cni_throw_errno(env, j->err ? "posix_spawn" : "read", j->err ? j->err : j->readErr);
    goto done;
  }
  int status = j->timedOut ? -1 : WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1;
  int sig = j->timedOut ? SIGKILL : WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0;
  if (CNI_NAPI_FAILED(env, napi_create_object(env, &res)) || !(v = cni_int32(env, status)) || CNI_NAPI_FAILED(env, napi_set_named_property(env, res, "status", v)) ||
      !(v = cni_int32(env, sig)) || CNI_NAPI_FAILED(env, napi_set_named_property(env, res, "signal", v)) || !(v = cni_boolean(env, j->timedOut)) ||
      CNI_NAPI_FAILED(env, napi_set_named_property(env, res, "timedOut", v)) || !(v = cni_buffer_copy(env, j->ob.data, j->ob.len)) ||
      CNI_NAPI_FAILED(env, napi_set_named_property(env, res, "stdout", v)) || !(v = cni_buffer_copy(env, j->eb.data, j->eb.len)) ||
      CNI_NAPI_FAILED(env, napi_set_named_property(env, res, "stderr", v)))
    res = NULL;
done:
  free_job(j);
  return res;
}

// spawnSync(file, argv[], env[] | null, stdin: Buffer, timeoutMs, overrides[]?) -> result.
static napi_value js_spawnsync(napi_env env, napi_callback_info info) {
  struct spawn_job *j = job_from_args(env, info);
  if (!j) return NULL;
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
  // the handle first: once the thread runs, a failure here would have to wait for the program
  struct spawn_handle *h = malloc(sizeof *h);
  if (!h) return cni_throw_errno(env, "spawnStart", ENOMEM);
  napi_value handle;
  struct spawn_job *j = job_from_args(env, info);
  if (!j) {
    free(h);
    return NULL;
  }
  h->job = NULL;
  if (CNI_NAPI_FAILED(env, napi_create_external(env, h, free_handle, NULL, &handle))) {
    free(h);
    free_job(j);
    return NULL;
  }
  // from here on the handle's finalizer owns h
  int e = pthread_create(&j->thread, NULL, run_job, j);
  if (e) {
    free_job(j);
    return cni_throw_errno(env, "pthread_create", e);
  }
  h->job = j;
  return handle;
}

// spawnWait(handle) -> result: joins the thread (once; a second call throws EINVAL).
static napi_value js_spawnwait(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct spawn_handle *h = NULL;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_external(env, argv[0], (void **)&h, "spawnWait")) return NULL;
  if (!h || !h->job) return cni_throw_errno(env, "spawnWait", EINVAL);
  struct spawn_job *j = h->job;
  h->job = NULL;
  pthread_join(j->thread, NULL);
  return job_result(env, j);
}

napi_value cni_spawn_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {CNI_FN("spawnSync", js_spawnsync), CNI_FN("spawnStart", js_spawnstart), CNI_FN("spawnWait", js_spawnwait)};
  return cni_define(env, exports, props, sizeof props / sizeof props[0]);
}
