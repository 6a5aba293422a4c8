# armhf.mk — 32-bit ARMv7 with hard float: Raspberry Pi 2 and 3 on a 32-bit
# OS, and most ARM NAS (Marvell Armada, Annapurna Alpine, Realtek RTD129x).
# Debian armhf's baseline is ARMv7-A + VFPv3-D16 + Thumb-2: not a Pi Zero/1.
include boards/posix.mk
# 64-bit off_t: output past 2 GiB, and readdir on filesystems with 64-bit
# inode numbers (XFS or btrfs on a NAS). time_t stays 32-bit: Debian 12's
# libraries for this architecture are built that way and share its ABI.
CPPFLAGS  += -D_FILE_OFFSET_BITS=64
TRIPLET    = arm-linux-gnueabihf
DEB_ARCH   = armhf
ARCH_FLAGS = -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb
# The target's libraries are unpacked into a sysroot rather than multiarch-
# installed: multiarch needs armhf's security index in lock-step with the
# host's, and a mirror serving a stale one blocks the install (docs/boards.md).
SYSROOT    = $(CURDIR)/build/sysroot/armhf
RUNNER     = qemu-arm -cpu cortex-a7 -L /usr/$(TRIPLET) \
             -E LD_LIBRARY_PATH=$(subst $(eval) ,:,$(SYSROOT_LIBDIRS))
