// AF_PACKET sockets for the dhcp daemon. A DHCP client has no address during
// DISCOVER/REQUEST, and servers unicast OFFER/ACK to the offered address at the
// link layer, which no UDP socket receives: the daemon sends and receives whole
// Ethernet frames on the container's interface instead (frames are built and
// parsed in TypeScript, pkg/dhcp/message.ts).
//
// A socket is opened by the calling thread, so inside the namespace the main
// thread has setns'ed into; it then keeps working from any thread. Reception is
// a poll() thread per socket (watch.c) that wakes the JS thread when frames are
// queued; the JS thread never blocks. Each matching frame is handed to a JS callback.
#define _GNU_SOURCE
#include "packet.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "args.h"
#include "errors.h"
#include "watch.h"

// Every open packet socket (struct cni_watch, watch.c); nothing else is kept per socket.
static struct cni_watch *watches;

// Accepts IPv4 UDP to port 68 that is not a later fragment (tcpdump's
// "udp dst port 68" on an Ethernet socket).
static struct sock_filter dhcp_client_filter[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 6),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 68, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0x40000),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

static void release(struct cni_watch *w) {
  free(w);
}

static void on_readable(struct cni_watch *w, int status, int events) {
  napi_env env = w->env;
  if (status < 0) {
    // A socket error (ENETDOWN when the link goes down): clear it and poll on.
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return;
  }
  napi_handle_scope scope;
  if (CNI_NAPI_FAILED(env, napi_open_handle_scope(env, &scope))) return;
  unsigned char frame[4096];
  // Bounded: a flood on the interface must not starve the event loop.
  for (int i = 0; i < 64 && w->cb; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(w->fd, frame, sizeof frame, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
    if (n < 0) break;
    // our own transmissions are looped back to packet sockets
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    napi_value buf, cb, recv;
    // an exception (onFrame's own, or a failed call's) is left for watch.c to report, as uncaught
    if (!(buf = cni_buffer_copy(env, frame, (size_t)n)) || CNI_NAPI_FAILED(env, napi_get_reference_value(env, w->cb, &cb)) ||
        CNI_NAPI_FAILED(env, napi_get_global(env, &recv)) || CNI_NAPI_FAILED(env, napi_make_callback(env, w->ctx, recv, cb, 1, &buf, NULL)))
      break;
  }
  CNI_NAPI_FAILED(env, napi_close_handle_scope(env, scope));
}

// packetOpen(ifindex, onFrame) -> fd: a raw Ethernet socket on ifindex, filtered
// to DHCP client traffic, whose frames go to onFrame(buffer) on the event loop.
static napi_value js_packet_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t ifindex;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_i32(env, argv[0], &ifindex, "packetOpen") || cni_arg_fn(env, argv[1], "packetOpen")) return NULL;
  // Protocol 0 receives nothing until bind: the filter is in place before the first frame queues.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return cni_throw_errno(env, "socket", errno);
  struct sock_fprog prog = {.len = sizeof dhcp_client_filter / sizeof dhcp_client_filter[0], .filter = dhcp_client_filter};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    int e = errno;
    close(fd);
    return cni_throw_errno(env, "setsockopt(SO_ATTACH_FILTER)", e);
  }
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = ifindex};
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
    int e = errno;
    close(fd);
    return cni_throw_errno(env, "bind", e);
  }
  struct cni_watch *w = calloc(1, sizeof *w);
  if (!w) {
    close(fd);
    return cni_throw_errno(env, "packetOpen", ENOMEM);
  }
  if (cni_watch_init(env, w, &watches, fd, argv[1], "cni-ts:packet", on_readable)) {
    close(fd);
    free(w);
    return NULL;
  }
  w->release = release;
  napi_value r;
  // from here on the watch owns fd: closing the watch closes it
  if (cni_watch_poll(w, CNI_READABLE) || !(r = cni_int32(env, fd))) {
    cni_watch_close(env, &watches, fd);
    return NULL;
  }
  return r;
}

// packetSend(fd, frame): one whole Ethernet frame out of the bound interface.
static napi_value js_packet_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  void *data = NULL;
  size_t len = 0;
  int32_t fd;
  if (cni_args(env, info, 2, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "packetSend") || cni_arg_bytes(env, argv[1], &data, &len, "packetSend")) return NULL;
  ssize_t n;
  do n = send(fd, data, len, 0); while (n < 0 && errno == EINTR);
  if (n < 0) return cni_throw_errno(env, "send", errno);
  return cni_int32(env, (int32_t)n);
}

// packetClose(fd): stops polling, drops the callback and closes the
// socket (once its poll thread has let go of it). Unknown fds are ignored.
static napi_value js_packet_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (cni_args(env, info, 1, argv) < 0 || cni_arg_i32(env, argv[0], &fd, "packetClose")) return NULL;
  cni_watch_close(env, &watches, fd);
  return NULL;
}

napi_value cni_packet_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {CNI_FN("packetOpen", js_packet_open), CNI_FN("packetSend", js_packet_send), CNI_FN("packetClose", js_packet_close)};
  return cni_define(env, exports, props, sizeof props / sizeof props[0]);
}
