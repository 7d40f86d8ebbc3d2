#!/usr/bin/env bash
# The whole documented stack on this machine from locally built images (no registry pull): 3-node ZooKeeper, Redis,
# PostgreSQL, 2 authorizer replicas, nginx on :8080 — then the README's curl examples through nginx.
#
#   scripts/compose-local.sh            # = up: build missing images, start, wait until nginx answers, check
#   scripts/compose-local.sh check      # the README examples against the running stack
#   scripts/compose-local.sh down       # stop and remove containers, network and volumes
#
# Needs root, a Docker engine (Debian: apt-get install docker.io; dockerd --storage-driver vfs where overlayfs is
# unavailable), debootstrap, docker-compose, npm and Node for the checks. Images: deploy/local-images/build-images.sh
# (REBUILD=1 rebuilds them; the first build takes ~15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT="${COMPOSE_PROJECT:-catraca-local}"
export COMPOSE_HTTP_TIMEOUT="${COMPOSE_HTTP_TIMEOUT:-900}"  # vfs copies each image per container: slow creates
compose() { docker-compose -f docker-compose.yml -f docker-compose.local.yml -p "$PROJECT" "$@"; }
URL="${CATRACA_URL:-http://localhost:8080}"

images=(catraca-local/zookeeper:3.8 catraca-local/redis:7 catraca-local/postgres:15 catraca-local/nginx:1
  catraca-local/latency-proxy:1 catraca/authorizer:local)

up() {
  local missing=0
  for image in "${images[@]}"; do docker image inspect "$image" >/dev/null 2>&1 || missing=1; done
  if [[ "$missing" == 1 || "${REBUILD:-0}" == 1 ]]; then deploy/local-images/build-images.sh; fi
  local started=$SECONDS
  compose up -d --no-build
  echo "waiting for $URL/readyz (through nginx) ..."
  for _ in $(seq 1 180); do
    if curl -sf -o /dev/null "$URL/readyz"; then
      echo "stack up in $((SECONDS - started)) s"
      compose ps
      check
      return
    fi
    sleep 2
  done
  compose ps
  compose logs --tail=50
  echo "nginx did not answer /readyz within 360 s" >&2
  return 1
}

check() {
  npx tsx scripts/readme-examples.ts "$URL"
}

case "${1:-up}" in
  up) up ;;
  check) check ;;
  down) compose down -v --remove-orphans ;;
  *) echo "usage: $0 [up|check|down]" >&2; exit 2 ;;
esac
