# posix.mk — the base every board includes: a POSIX system with GNU make,
# gcc or clang, and Debian's libraries (host or multiarch). A board file
# includes this first, then overrides what differs: toolchain, flags,
# Debian architecture, emulator, and its limits header.
#
# Variables a board may set (after `include boards/posix.mk`):
#   TRIPLET      GNU triplet of the target (empty: the host)
#   DEB_ARCH     Debian architecture of the target's -dev packages
#   ARCH_FLAGS   -march/-mcpu/-mfpu flags, on every compile and link line
#   BOARD_H      header force-included into every compile (limits, defaults)
#   RUNNER       how to run a target binary here (empty: natively)
#   SYSROOT      where `make deps` unpacks the target's libraries when they
#                cannot be multiarch-installed (empty: multiarch /usr)

TRIPLET    =
DEB_ARCH   = $(shell dpkg --print-architecture 2>/dev/null)
ARCH_FLAGS =
BOARD_H    = boards/$(BOARD).h
RUNNER     =
SYSROOT    =
SYSROOT_CPPFLAGS = $(if $(SYSROOT),-isystem $(SYSROOT)/usr/include/$(TRIPLET) -isystem $(SYSROOT)/usr/include)
SYSROOT_LIBDIRS  = $(if $(SYSROOT),$(SYSROOT)/usr/lib/$(TRIPLET) $(SYSROOT)/lib/$(TRIPLET))
SYSROOT_LDFLAGS  = $(foreach d,$(SYSROOT_LIBDIRS),-L$(d) -Wl,-rpath-link,$(d))

# build/ for the host (what tests and scripts use), build/<board>/ otherwise;
# a static build has its own tree since its objects are compiled differently
BUILD ?= $(if $(STATIC),build/$(BOARD)-static,$(if $(filter host,$(BOARD)),build,build/$(BOARD)))

# the cross toolchain unless CC, AR... came from the command line or environment
ifeq ($(origin CC),default)
CC = $(if $(TRIPLET),$(TRIPLET)-gcc,cc)
endif
ifeq ($(origin AR),default)
AR = $(if $(TRIPLET),$(TRIPLET)-ar,ar)
endif
ifeq ($(origin LD),default)
LD = $(if $(TRIPLET),$(TRIPLET)-ld,ld)
endif
OBJCOPY = $(if $(TRIPLET),$(TRIPLET)-objcopy,objcopy)
STRIP = $(if $(TRIPLET),$(TRIPLET)-strip,strip)
NM    = $(if $(TRIPLET),$(TRIPLET)-nm,nm)
SIZE  = $(if $(TRIPLET),$(TRIPLET)-size,size)
# pkg-config looking only at the target's .pc files (Debian multiarch paths)
PKG_CONFIG = $(if $(TRIPLET),PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/$(TRIPLET)/pkgconfig:$(SYSROOT)/usr/share/pkgconfig pkg-config,pkg-config)

# mbedTLS 2.28 ships no .pc file; libtiff does, and with --static it lists
# every codec library Debian built it with (zstd, lzma, webp, jbig, LERC...)
MBEDTLS_LIBS = -lmbedtls -lmbedx509 -lmbedcrypto
ifeq ($(STATIC),1)
CFLAGS  ?= -Os -g -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
LDFLAGS ?= -static -s -Wl,--gc-sections
# pkg-config --static lists every codec library libtiff was built with; the
# executables link boards/tiff_codecs.c, which names only the codecs we
# write, so the linker takes nothing from the others (nor from libstdc++,
# which only libLerc needs): listing them costs no bytes and keeps the link
# whole on a libtiff built differently
LDLIBS   = $(SYSROOT_LDFLAGS) $(shell $(PKG_CONFIG) --static --libs libtiff-4 2>/dev/null || echo -ltiff -ljpeg -lz -lm) \
           -ljpeg $(MBEDTLS_LIBS) -lz -lstdc++ -lm -pthread
else
CFLAGS  ?= -O2 -g
LDLIBS   = $(SYSROOT_LDFLAGS) -ltiff -ljpeg $(MBEDTLS_LIBS) -lz -pthread
endif
