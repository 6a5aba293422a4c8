#!/bin/sh
# deps.sh — install the Debian packages the build and the tests need,
# non-interactively, only when something is missing.
set -eu
BUILD_PKGS="build-essential libmbedtls-dev libjpeg62-turbo-dev libjsmn-dev libtiff-dev zlib1g-dev"
TEST_PKGS="nginx-light tinyproxy-bin libvips-tools libtiff-tools openssl curl python3 valgrind time bc ca-certificates python3-requests python3-opencv python3-numpy"
[ "${DEPS_BUILD_ONLY:-0}" = 1 ] && TEST_PKGS=""
missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
