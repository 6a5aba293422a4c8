# rpi-aarch64.mk — Raspberry Pi 3, 4, 5 (and Zero 2 W) running a 64-bit OS
# (Raspberry Pi OS 64-bit, Debian arm64, Ubuntu), and arm64 NAS boxes.
# cortex-a53 is the oldest core among them: the code runs on all of them.
include boards/posix.mk
TRIPLET    = aarch64-linux-gnu
DEB_ARCH   = arm64
ARCH_FLAGS = -mcpu=cortex-a53
RUNNER     = qemu-aarch64 -cpu cortex-a53
