#!/usr/bin/env bash
# Installs what test/vm/vm-run.sh needs (as root, idempotent):
#  - qemu-system-x86, busybox-static and kmod from apt (no recommends);
#  - Debian's 6.1 kernel package, fetched with `apt-get download` and unpacked
#    with `dpkg-deb -x` under /var/cache/cni-ts-vm/<kver>/root, so /boot and
#    /lib/modules of this machine are left alone; then depmod on that tree.
# Then builds the boot cache (vmlinux + initramfs) once with `vm-run.sh --prepare`.
# Exits non-zero with a one-line reason when something can't be installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${CNI_TS_VM_CACHE:-/var/cache/cni-ts-vm}
say() { echo "setup-vm: $*"; }
trap 'say "failed (line $LINENO: $BASH_COMMAND)" >&2' ERR

[ "$(id -u)" = 0 ] || { say "needs root" >&2; exit 1; }
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || { say "only amd64 hosts are supported" >&2; exit 1; }

need=(qemu-system-x86 busybox-static kmod xz-utils binutils)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
updated=
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  apt-get update -qq && updated=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The kernel package linux-image-amd64 points at (e.g. linux-image-6.1.0-56-amd64).
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.[0-9-]*amd64\)$/\1/p' | head -n1; }
pkg=$(kpkg)
if [ -z "$pkg" ] && [ -z "$updated" ]; then apt-get update -qq && pkg=$(kpkg); fi
[ -n "$pkg" ] || { say "no linux-image-6.1.0-*-amd64 package known to apt" >&2; exit 1; }
kver=${pkg#linux-image-}
dir=$CACHE/$kver
if [ ! -f "$dir/root/lib/modules/$kver/modules.dep" ]; then
  say "apt-get download $pkg; dpkg-deb -x into $dir/root"
  mkdir -p "$dir"
  tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1) || (cd "$tmp" && apt-get update -qq && apt-get download -qq "$pkg" >/dev/null)
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root"
  # Only the kernel image and modules are used; the firmware-less rest is dropped.
  rm -rf "$dir/root"
  mkdir -p "$dir/root"
  mv "$tmp/root/boot" "$tmp/root/lib" "$dir/root/"
  /sbin/depmod -b "$dir/root" "$kver"
  rm -rf "$tmp"
  trap - EXIT
fi
# Older kernels unpacked by earlier runs are no longer needed.
for old in "$CACHE"/*/; do
  [ -d "$old" ] && [ "$(basename "$old")" != "$kver" ] && { say "removing old kernel cache $old"; rm -rf "$old"; }
done
"$here/vm-run.sh" --prepare
say "ok ($kver)"
