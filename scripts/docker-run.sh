#!/usr/bin/env bash
# docker-run.sh [DOCKER RUN ARGS...] IMAGE [CMD...]
# Runs a container with `--net=none` networking supplied by our plugins: a
# pause container holds the namespace, exec-plugins.sh joins it to every
# network in $NETCONFPATH, the real container shares it, and everything is
# torn down on exit. Needs a reachable Docker engine.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -eq 0 ]; then
  echo "usage: $0 [DOCKER RUN ARGS...] IMAGE [CMD...]" >&2
  exit 2
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "docker-run: the docker command is not installed; this script needs a Docker engine (use scripts/priv-net-run.sh instead)" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "docker-run: no Docker engine is reachable ('docker info' failed); start dockerd or use scripts/priv-net-run.sh" >&2
  exit 1
fi
PAUSE_IMAGE=${PAUSE_IMAGE:-busybox:latest}
contid=$(docker run -d --net=none "$PAUSE_IMAGE" /bin/sleep 2147483647)
joined=0
cleanup() {
  if [ $joined -eq 1 ]; then "$ROOT/scripts/exec-plugins.sh" del "$contid" "$netns" || true; fi
  docker rm -f "$contid" >/dev/null
}
trap cleanup EXIT
pid=$(docker inspect -f '{{ .State.Pid }}' "$contid")
netns=/proc/$pid/ns/net
"$ROOT/scripts/exec-plugins.sh" add "$contid" "$netns"
joined=1
docker run --net="container:$contid" "$@"
