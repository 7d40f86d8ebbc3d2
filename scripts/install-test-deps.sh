#!/usr/bin/env bash
# Installs the servers the integration tests start for themselves (Debian/Ubuntu, as root):
# ZooKeeper (Java), redis-server, PostgreSQL binaries, nginx (the local cluster's load balancer),
# docker-compose (validates docker-compose.yml offline), a JDK and Maven (Apache Curator interoperability), and the
# Apache Kafka broker jars (scripts/fetch-kafka.sh, with Maven).
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing+=(postgresql)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
# python3: test-support/silent-host.ts (a loopback port that drops connection attempts, like a host that is down).
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# Apache Curator interoperability (packages/coordination/test/curator-interop.int.test.ts, bench:locks): javac and
# Maven, which fetches Curator from Maven Central once into .tmp/curator/.
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
# docker-compose: only to validate docker-compose.yml offline (`docker-compose config -q`); no Docker engine needed.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: every package present"
else
  echo "install-test-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Apache Kafka (KRaft) for the async path's integration tests: 46 jars, ~43 MB from Maven Central, cached (no-op when
# present).
bash "$(dirname "$0")/fetch-kafka.sh"
