#!/usr/bin/env bash
# Runs a command as root inside a throw-away qemu guest booted on Debian's 6.1
# kernel (test/vm/setup.sh installs it), for tests that need kernel features the
# host lacks (bridge VLAN filtering, 8021q, ipvlan, macvlan, dummy).
#
#   vm-run.sh [-m MEM] [-t TIMEOUT] [-c CPUS] [-e NAME=VALUE]... [-v] 'COMMAND' [DIR]
#   vm-run.sh --check      exit 0 when a guest can boot, else print why and exit 1
#   vm-run.sh --prepare    build the boot cache only
#
# The guest sees the host root read-only with a tmpfs overlay (writes vanish),
# fresh /tmp and /run, and DIR (default: the repo root) read-write at the same
# path; COMMAND runs with bash in DIR with CNI_TS_VM=1 and the -e variables.
# Its stdout and stderr are ours; the exit status is its own, 124 on timeout,
# 125 when the guest died before reporting one.
# Environment: CNI_TS_VM_ACCEL (auto|kvm|tcg), CNI_TS_VM_KVER, CNI_TS_VM_CACHE,
# CNI_TS_VM_RW_CACHE (9p cache mode of DIR: loose, the default, or mmap/none).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CNI_TS_VM_CACHE:-/var/cache/cni-ts-vm}
MODULES=(virtio_pci virtio_console 9pnet_virtio 9p overlay veth bridge 8021q ipvlan macvlan dummy)

die() { echo "vm-run: $*" >&2; exit 125; }
usage() { sed -n '6,9p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }

# The kernel unpacked by setup.sh: $CNI_TS_VM_KVER or the newest one in the cache.
pick_kernel() {
  KVER=${CNI_TS_VM_KVER:-}
  if [ -z "$KVER" ]; then
    local v
    for v in "$CACHE"/*/root/boot/vmlinuz-*; do [ -f "$v" ] && KVER=${v##*/vmlinuz-}; done
  fi
  KDIR=$CACHE/$KVER
  KROOT=$KDIR/root
  [ -n "$KVER" ] && [ -f "$KROOT/boot/vmlinuz-$KVER" ] && [ -f "$KROOT/lib/modules/$KVER/modules.dep" ]
}

# Why a guest can't boot here (empty when it can).
why_not() {
  [ "$(id -u)" = 0 ] || { echo "needs root"; return; }
  command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not installed (run test/vm/setup.sh)"; return; }
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || { echo "static busybox missing (busybox-static)"; return; }
  [ -x /sbin/modprobe ] || { echo "/sbin/modprobe missing (kmod)"; return; }
  command -v xz >/dev/null && command -v strip >/dev/null || { echo "xz or strip missing (xz-utils, binutils)"; return; }
  pick_kernel || { echo "no kernel under $CACHE (run test/vm/setup.sh)"; return; }
}

# Builds $KDIR/vmlinux (the ELF kernel cut out of the bzImage, booted through
# its PVH entry: no real-mode set-up or decompression under TCG) and
# $KDIR/initramfs.cpio (busybox, init, stage2, the modules with their
# signatures stripped). Rebuilt when any input changes; under a lock.
prepare() {
  local stamp
  stamp=$( { cat "$0" "$here/init" "$here/stage2"; stat -c '%n %s %Y' "$KROOT/boot/vmlinuz-$KVER" /bin/busybox; } | sha256sum | cut -c1-16)
  [ "$(cat "$KDIR/stamp" 2>/dev/null)" = "$stamp" ] && return
  exec 9>"$KDIR/.lock"
  flock 9
  if [ "$(cat "$KDIR/stamp" 2>/dev/null)" != "$stamp" ]; then
    local t off m
    rm -rf "$KDIR"/.build.*
    t=$(mktemp -d "$KDIR/.build.XXXXXX")
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KROOT/boot/vmlinuz-$KVER" | head -n1 | cut -d: -f1)
    [ -n "$off" ] || { rm -rf "$t"; die "no xz payload in vmlinuz-$KVER"; }
    # xz stops at the end of its stream and complains about the bytes after it.
    tail -c +$((off + 1)) "$KROOT/boot/vmlinuz-$KVER" | xz -dc >"$t/vmlinux" 2>/dev/null || true
    [ "$(head -c4 "$t/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] || { rm -rf "$t"; die "could not extract vmlinux"; }
    mkdir -p "$t/ird/bin" "$t/ird/mod" "$t/ird/proc" "$t/ird/sys" "$t/ird/dev"
    cp /bin/busybox "$t/ird/bin/busybox"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$t/ird/bin/$a"; done
    cp "$here/init" "$t/ird/init" && chmod 755 "$t/ird/init"
    cp "$here/stage2" "$t/ird/stage2"
    for m in $(for n in "${MODULES[@]}"; do /sbin/modprobe -d "$KROOT" -S "$KVER" --ignore-install --show-depends "$n" || exit 1; done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'); do
      strip --strip-debug -o "$t/ird/mod/${m##*/}" "$m"
      case ${m##*/} in dummy.ko) echo "dummy.ko numdummies=0" ;; *) echo "${m##*/}" ;; esac >>"$t/ird/mod/list"
    done
    sed -n 's/^[^#][^ ]* \([^ ]*\) \([bc]\)\([0-9]*\):\([0-9]*\)$/\1 \2 \3 \4/p' "$KROOT/lib/modules/$KVER/modules.devname" >"$t/ird/mod/devnodes"
    (cd "$t/ird" && find . | /bin/busybox cpio -o -H newc -R 0:0 2>/dev/null) >"$t/initramfs.cpio"
    mv "$t/vmlinux" "$t/initramfs.cpio" "$KDIR/"
    echo "$stamp" >"$KDIR/stamp"
    rm -rf "$t"
  fi
  exec 9>&-
}

if [ "${1:-}" = --check ] || [ "${1:-}" = --prepare ]; then
  reason=$(why_not)
  [ -z "$reason" ] || { echo "$reason"; exit 1; }
  pick_kernel
  [ "$1" = --check ] || prepare
  exit 0
fi

MEM=1024M TIMEOUT=1800 CPUS=$(nproc) VERBOSE= ENVS=()
while getopts 'm:t:c:e:vh' o; do
  case $o in
    m) MEM=$OPTARG ;;
    t) TIMEOUT=$OPTARG ;;
    c) CPUS=$OPTARG ;;
    e) [[ $OPTARG == [A-Za-z_]*=* ]] || die "-e wants NAME=VALUE"; ENVS+=("$OPTARG") ;;
    v) VERBOSE=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] && [ $# -le 2 ] || usage
CMD=$1
DIR=$(cd "${2:-$here/../..}" && pwd) || die "no such directory: ${2:-}"
[[ $DIR != *$'\n'* ]] || die "DIR may not contain a newline"
reason=$(why_not)
[ -z "$reason" ] || die "$reason"
pick_kernel
prepare

tmp=$(mktemp -d /tmp/cni-ts-vm.XXXXXX)
qpid= opid= epid=
cleanup() {
  [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
  [ -z "$opid" ] || kill "$opid" 2>/dev/null || true
  [ -z "$epid" ] || kill "$epid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$tmp/ctl" "$tmp/fifo"
printf '%s' "$CMD" >"$tmp/ctl/cmd"
{
  printf 'export CNI_TS_VM_DIR=%q\n' "$DIR"
  for kv in "${ENVS[@]}"; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"; done
} >"$tmp/ctl/env"
{
  echo "rw rw0 ${CNI_TS_VM_RW_CACHE:-loose} $DIR"
  echo "modules $KVER $KROOT/lib/modules/$KVER"
} >"$tmp/ctl/mounts"
for p in out err; do mkfifo "$tmp/fifo/$p.in" "$tmp/fifo/$p.out"; done

# Opened read-write here so neither cat blocks in open() if qemu never starts;
# closed once qemu is gone so the cats see EOF. A cat whose reader went away
# (vm-run ... | head) is replaced by one that drains to /dev/null.
exec 7<>"$tmp/fifo/out.out" 8<>"$tmp/fifo/err.out"
{ cat <"$tmp/fifo/out.out" 2>/dev/null || exec cat <"$tmp/fifo/out.out" >/dev/null; } 7>&- 8>&- &
opid=$!
{ cat <"$tmp/fifo/err.out" >&2 2>/dev/null || exec cat <"$tmp/fifo/err.out" >/dev/null; } 7>&- 8>&- &
epid=$!

append="console=ttyS0 panic=-1 pci=noacpi cryptomgr.notests printk.devkmsg=on random.trust_cpu=on tsc=reliable no_timer_check"
[ -n "$VERBOSE" ] || append+=" quiet loglevel=3"
serial="file:$tmp/console.log" qout=/dev/null
[ -z "$VERBOSE" ] || serial=stdio qout=/dev/stderr
# KVM only on a real Intel/AMD KVM host; this kind of machine offers kvm_pvm,
# which runs an ordinary guest far slower than TCG (measured: >100x).
accel=${CNI_TS_VM_ACCEL:-auto}
if [ "$accel" = auto ]; then
  accel=tcg
  [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; } && accel=kvm
fi
case $accel in
  kvm) accel_args=(-accel kvm -cpu host) ;;
  tcg) accel_args=(-accel tcg,thread=multi -cpu max) ;;
  *) die "CNI_TS_VM_ACCEL must be auto, kvm or tcg" ;;
esac
set +e
timeout --foreground "$TIMEOUT" qemu-system-x86_64 \
  -M pc "${accel_args[@]}" -smp "$CPUS" -m "$MEM" \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$KDIR/vmlinux" -initrd "$KDIR/initramfs.cpio" -append "$append" \
  -serial "$serial" \
  -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$tmp/ctl",mount_tag=ctl,security_model=none \
  -virtfs local,path="$DIR",mount_tag=rw0,security_model=passthrough,multidevs=remap \
  -device virtio-serial-pci,id=vser \
  -chardev pipe,id=out,path="$tmp/fifo/out" -device virtserialport,bus=vser.0,chardev=out,name=cni.out \
  -chardev pipe,id=err,path="$tmp/fifo/err" -device virtserialport,bus=vser.0,chardev=err,name=cni.err \
  </dev/null 7>&- 8>&- >"$qout" 2>"$tmp/qemu.log" &
qpid=$!
wait "$qpid"
qrc=$?
qpid=
exec 7>&- 8>&-
wait "$opid" "$epid" 2>/dev/null
opid= epid=
set -e
if [ "$qrc" = 124 ]; then
  echo "vm-run: timed out after ${TIMEOUT}s" >&2
  exit 124
fi
if [ -s "$tmp/ctl/rc" ]; then
  exit "$(cat "$tmp/ctl/rc")"
fi
{
  echo "vm-run: the guest died before reporting a status (qemu exit $qrc)"
  cat "$tmp/qemu.log"
  [ -f "$tmp/console.log" ] && tail -n 30 "$tmp/console.log"
} >&2
exit 125
