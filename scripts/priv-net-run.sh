#!/usr/bin/env bash
# priv-net-run.sh CMD [ARGS...]
# Runs CMD in a fresh network namespace joined to every network in
# $NETCONFPATH (via exec-plugins.sh and bin/cnitool), then detaches it and
# deletes the namespace, whatever CMD's outcome. Exits with CMD's status.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
contid=$(printf 'privnet%04x%04x%04x' $RANDOM $RANDOM $RANDOM)
netns=/var/run/netns/$contid

ip netns add "$contid"
joined=0
cleanup() {
  if [ $joined -eq 1 ]; then "$ROOT/scripts/exec-plugins.sh" del "$contid" "$netns" || true; fi
  ip netns pids "$contid" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns delete "$contid"
}
trap cleanup EXIT
ip netns exec "$contid" ip link set lo up
"$ROOT/scripts/exec-plugins.sh" add "$contid" "$netns"
joined=1
status=0
ip netns exec "$contid" "$@" || status=$?
exit $status
