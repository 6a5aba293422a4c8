#!/bin/sh
# deps.sh — install the Debian packages the build and the tests need,
# non-interactively, only when something is missing.
#
# A cross board (make BOARD=name deps) sets DEPS_ARCH to its Debian
# architecture (arm64, armhf, armel) and DEPS_TRIPLET to its GNU triplet:
# the architecture is added to dpkg, and the cross compiler, the target's
# -dev packages (multiarch) and qemu-user are installed as well.
#
# DEPS_SYSROOT=DIR instead unpacks the target's libraries into DIR with
# apt-get download + dpkg -x. That is for an architecture whose packages
# cannot be co-installed with the host's: Debian 12's security archive no
# longer builds armel, so an up-to-date amd64 system and armel's older
# Multi-Arch: same packages (liblzma5, libssl3, linux-libc-dev) conflict.
#
# The tests start their own servers (nginx, lighttpd with iipsrv, tinyproxy)
# as the test user on free 127.0.0.1 ports. The packages' maintainer scripts
# would start the system services on port 80 and the like: while installing,
# a policy-rc.d that answers 101 ("action forbidden") tells invoke-rc.d not
# to, unless the machine already has a policy of its own.
set -eu
BUILD_PKGS="build-essential libmbedtls-dev libjpeg62-turbo-dev libjsmn-dev libtiff-dev zlib1g-dev pkg-config"
TEST_PKGS="nginx-light lighttpd iipimage-server tinyproxy-bin libvips-tools libtiff-tools openssl curl python3 valgrind time bc ca-certificates python3-requests python3-opencv python3-numpy man-db groff-base"
[ "${DEPS_BUILD_ONLY:-0}" = 1 ] && TEST_PKGS=""
CROSS_PKGS=""
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ -n "${DEPS_ARCH:-}" ] && [ "$DEPS_ARCH" != "$(dpkg --print-architecture)" ]; then
    if ! dpkg --print-foreign-architectures | grep -qx "$DEPS_ARCH"; then
        echo "adding dpkg architecture $DEPS_ARCH" >&2
        $SUDO dpkg --add-architecture "$DEPS_ARCH"
    fi
    # g++: libtiff's LERC codec is C++, a static link needs libstdc++.a
    CROSS_PKGS="gcc-$DEPS_TRIPLET g++-$DEPS_TRIPLET binutils-$DEPS_TRIPLET qemu-user"
    if [ -z "${DEPS_SYSROOT:-}" ]; then
        for p in libmbedtls-dev libjpeg62-turbo-dev libtiff-dev zlib1g-dev; do
            CROSS_PKGS="$CROSS_PKGS $p:$DEPS_ARCH"
        done
    fi
fi
missing=""
for p in $BUILD_PKGS $TEST_PKGS $CROSS_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
sysroot() { # unpack the target's -dev packages and what they link against
    [ -f "$DEPS_SYSROOT/.complete" ] && return 0
    pkgs="libmbedtls-dev libmbedtls14 libmbedx509-1 libmbedcrypto7
          libjpeg62-turbo-dev libjpeg62-turbo zlib1g-dev zlib1g
          libtiff-dev libtiff6 libzstd-dev libzstd1 liblzma-dev liblzma5
          libwebp-dev libwebp7 libwebpmux3 libwebpdemux2
          libjbig-dev libjbig0 libdeflate-dev libdeflate0 liblerc-dev liblerc4"
    echo "unpacking $DEPS_ARCH libraries into $DEPS_SYSROOT" >&2
    dl=$(mktemp -d)
    chmod 777 "$dl"   # apt-get download fetches as the _apt user
    # shellcheck disable=SC2086
    (cd "$dl" && apt-get download -qq $(for p in $pkgs; do printf '%s:%s ' "$p" "$DEPS_ARCH"; done)) </dev/null
    rm -rf "$DEPS_SYSROOT"
    mkdir -p "$DEPS_SYSROOT"
    for d in "$dl"/*.deb; do dpkg-deb -x "$d" "$DEPS_SYSROOT"; done
    rm -rf "$dl"
    # -dev symlinks such as libz.so -> /lib/<triplet>/libz.so.1 point into
    # the root: make them point into the sysroot
    root=$(cd "$DEPS_SYSROOT" && pwd)
    find "$root" -type l | while read -r l; do
        t=$(readlink "$l")
        case $t in /*) ln -sfn "$root$t" "$l" ;; esac
    done
    touch "$DEPS_SYSROOT/.complete"
}
if [ -z "$missing" ]; then
    [ -n "${DEPS_SYSROOT:-}" ] && sysroot
    exit 0
fi
echo "installing:$missing" >&2
# A mirror in mid-sync can fail one index: try again, then go on with what
# was fetched (the install below fails clearly if a package is really missing).
for try in 1 2 3; do
    $SUDO apt-get update -qq && break
    [ "$try" = 3 ] || sleep 10
done
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# iiifstitch tests/deps.sh: no service starts while installing\nexit 101\n' |
        $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
fi
rc=0
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null >/dev/null || rc=$?
[ -z "$policy" ] || $SUDO rm -f "$policy"
[ "$rc" = 0 ] || exit "$rc"
[ -n "${DEPS_SYSROOT:-}" ] && sysroot
exit 0
