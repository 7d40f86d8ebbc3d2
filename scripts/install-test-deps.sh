#!/usr/bin/env bash
# Installs the servers the integration tests start for themselves (Debian/Ubuntu, as root):
# ZooKeeper (Java), redis-server, PostgreSQL binaries, nginx (the local cluster's load balancer),
# docker-compose (validates docker-compose.yml offline), Maven and the Apache Kafka broker jars (scripts/fetch-kafka.sh).
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing+=(postgresql)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
# docker-compose: only to validate docker-compose.yml offline (`docker-compose config -q`); no Docker engine needed.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# Maven: fetches the Kafka broker's jars from Maven Central (no Debian Kafka package).
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: every package present"
else
  echo "install-test-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Apache Kafka (KRaft) for the async path's integration tests: ~43 MB of jars, cached (no-op when present).
bash "$(dirname "$0")/fetch-kafka.sh"
