#!/usr/bin/env bash
# exec-plugins.sh add|del CONTAINER_ID NETNS
# Joins (add) or detaches (del) a network namespace to/from every network in
# $NETCONFPATH, through bin/cnitool: interfaces eth0, eth1... in the order
# cnitool finds the networks (.conflist files first, lexical), DEL in reverse.
# An ADD that fails part-way deletes the networks it already added.
#   NETCONFPATH  configuration directory (default /etc/cni/net.d)
#   CNI_PATH     plugin directories (default: this repository's bin/)
#   CNITOOL      the cnitool binary (default: this repository's bin/cnitool)
#   DEBUG=1      print each ADD result
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CNITOOL=${CNITOOL:-$ROOT/bin/cnitool}
export NETCONFPATH=${NETCONFPATH:-/etc/cni/net.d}
export CNI_PATH=${CNI_PATH:-$ROOT/bin}

if [ $# -ne 3 ] || { [ "$1" != add ] && [ "$1" != del ]; }; then
  echo "usage: $0 add|del CONTAINER_ID NETNS" >&2
  exit 2
fi
cmd=$1 contid=$2 netns=$3
[ -x "$CNITOOL" ] || { echo "exec-plugins: $CNITOOL not found: run 'make build'" >&2; exit 1; }

mapfile -t nets < <("$CNITOOL" list) || exit 1
if [ ${#nets[@]} -eq 0 ]; then
  echo "exec-plugins: no network configurations in $NETCONFPATH" >&2
  exit 1
fi

# tool VERB INDEX: runs cnitool for network INDEX with interface eth<INDEX>.
tool() {
  CNI_CONTAINERID=$contid CNI_IFNAME=eth$2 "$CNITOOL" "$1" "${nets[$2]}" "$netns"
}

del_from() {
  local status=0 i
  for ((i = $1; i >= 0; i--)); do
    tool del "$i" || { echo "exec-plugins: DEL of network ${nets[$i]} (eth$i) failed" >&2; status=1; }
  done
  return $status
}

if [ "$cmd" = add ]; then
  for i in "${!nets[@]}"; do
    if ! out=$(tool add "$i"); then
      echo "exec-plugins: ADD of network ${nets[$i]} (eth$i) failed; undoing the networks already added" >&2
      del_from $((i - 1))
      exit 1
    fi
    if [ "${DEBUG:-0}" -gt 0 ]; then printf '%s\n' "$out"; fi
  done
else
  del_from $((${#nets[@]} - 1))
fi
