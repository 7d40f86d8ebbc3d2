#!/usr/bin/env bash
# Builds the Debian base image of the local stack from Debian's own packages, with no registry pull:
# debootstrap (minbase) into a directory, then `docker import` of its tarball. Idempotent: skips the work when the
# image exists already (FORCE=1 rebuilds). Needs root, debootstrap and a Docker engine.
#
#   deploy/local-images/build-base.sh            -> catraca-local/debian:bookworm
set -euo pipefail

IMAGE="${BASE_IMAGE:-catraca-local/debian:bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE exists (FORCE=1 rebuilds)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }

root="$(mktemp -d /var/tmp/catraca-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
# mktemp makes the directory 0700: it becomes the image's "/", which every non-root user must be able to traverse.
chmod 0755 "$root"
nice -n 19 debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$MIRROR"
# Same sources as the host's image would have (security updates included), no caches or logs in the layer.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SOURCES
# Keep images small: no docs, no man pages, no recommends (the official Debian images do the same).
cat >"$root/etc/apt/apt.conf.d/90catraca" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  - "$IMAGE"
echo "built $IMAGE"
