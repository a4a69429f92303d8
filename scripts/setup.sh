#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian 12 machine (as root):
# the kernel-facing tools the plugins and tests call, Debian's Go reference
# plugins for side-by-side tests, and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
need=(iproute2 iptables nftables conntrack hyperfine containernetworking-plugins iputils-ping socat gcc make dnsmasq-base podman runc busybox-static dbus-daemon dbus-bin python3-dbus python3-gi strace time qemu-user)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -f /usr/include/node/node_api.h ]; then
  echo "setup: Node headers missing (/usr/include/node/node_api.h); install Node 20 from a package that ships them" >&2
  exit 1
fi
# npm ci wipes node_modules; only run it when the lock file changed since the last install.
stamp=node_modules/.cni-ts-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
# qemu + Debian's kernel for `make test-vm` (kernel features this host may lack); optional: never fails setup
[ -n "${CNI_TS_NO_VM:-}" ] || bash test/vm/setup.sh || echo "setup: no VM for kernel-feature tests (reason above); make test will skip them" >&2
