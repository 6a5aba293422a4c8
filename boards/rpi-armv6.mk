# rpi-armv6.mk — Raspberry Pi Zero, Zero W and 1 (ARM1176JZF-S, ARMv6 + VFPv2).
# Debian has no ARMv6 hard-float port (its armhf needs ARMv7), so this board
# uses Debian armel (ARMv5TE, soft-float ABI). softfp keeps that ABI, so our
# code may use the VFP while linking against armel's libraries, which
# themselves stay ARMv5TE soft-float code. The result runs on Raspberry Pi
# OS (armhf is ARMv6 there) only if armel's loader is present; the static
# build (STATIC=1) needs nothing from the system.
#
# Debian 12's security archive no longer builds armel, so armel's -dev
# packages cannot be co-installed next to an up-to-date amd64 system:
# `make deps` unpacks them into a sysroot under build/ instead.
include boards/posix.mk
# 64-bit off_t: output past 2 GiB, and readdir on filesystems with 64-bit
# inode numbers (XFS or btrfs on a NAS). time_t stays 32-bit: Debian 12's
# libraries for this architecture are built that way and share its ABI.
CPPFLAGS  += -D_FILE_OFFSET_BITS=64
TRIPLET    = arm-linux-gnueabi
DEB_ARCH   = armel
ARCH_FLAGS = -march=armv6 -mfpu=vfp -mfloat-abi=softfp -marm
SYSROOT    = $(CURDIR)/build/sysroot/armel
RUNNER     = qemu-arm -cpu arm1176 -L /usr/$(TRIPLET) \
             -E LD_LIBRARY_PATH=$(subst $(eval) ,:,$(SYSROOT_LIBDIRS))
