#!/usr/bin/env bash
# Fetches Apache Kafka's broker jars from Maven Central (with Maven) into a cache directory, for the integration
# tests' single-node KRaft broker (test-support/kafka.ts) and `pnpm cluster` with Kafka. No Debian package exists.
# Idempotent and cached: does nothing when the directory holds a complete copy. Runs as root, without stdin.
#   KAFKA_VERSION   default 4.1.1
#   KAFKA_LIBS_DIR  default /opt/catraca/kafka-$KAFKA_VERSION/libs (what test-support/kafka.ts looks for)
set -euo pipefail
version="${KAFKA_VERSION:-4.1.1}"
dest="${KAFKA_LIBS_DIR:-/opt/catraca/kafka-$version/libs}"
if [ -f "$dest/.complete" ]; then
  echo "fetch-kafka: Kafka $version present in $dest"
  exit 0
fi
command -v mvn >/dev/null 2>&1 || { echo "fetch-kafka: needs Maven (apt-get install maven)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>catraca</groupId>
  <artifactId>kafka-test-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
echo "fetch-kafka: fetching Kafka $version jars into $dest"
mkdir -p "$dest.tmp"
mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dest.tmp" </dev/null
rm -rf "$dest"
mv "$dest.tmp" "$dest"
touch "$dest/.complete"
echo "fetch-kafka: $(ls "$dest" | wc -l) jars, $(du -sh "$dest" | cut -f1)"
