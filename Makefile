# iiifstitch — make help lists the targets.
#
# BOARD=name picks boards/<name>.mk (toolchain, flags, emulator) and
# boards/<name>.h (limits); the default, host, builds into build/, any other
# board into build/<name>/. STATIC=1 makes one stripped static executable
# (build/<name>-static/). See docs/boards.md.

BOARD   ?= host
ifeq ($(wildcard boards/$(BOARD).mk),)
$(error unknown BOARD=$(BOARD): one of $(patsubst boards/%.mk,%,$(filter-out boards/posix.mk,$(wildcard boards/*.mk))))
endif
include boards/$(BOARD).mk
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CPPFLAGS += -Iinclude -Iport -Isrc $(if $(BOARD_H),-include $(BOARD_H)) $(SYSROOT_CPPFLAGS)

PORT    ?= posix
# The core, layer by layer from the bottom (docs/design.md, "Layers"): a
# module includes only headers of its own layer and of the layers below,
# which tests/check_layers.sh proves from the includes and holds against the
# table in docs/design.md.
LAYERS       = util net iiif image job batch
LAYER_util   = src/util.c
LAYER_net    = src/url.c src/http_parse.c src/proxy.c src/tls.c src/http.c src/fetch.c \
               src/client.c
LAYER_iiif   = src/json.c src/info.c src/presentation.c src/resolve.c
LAYER_image  = src/plan.c src/view.c src/decode.c src/tiffseq.c src/resume.c src/sink.c
LAYER_job    = src/ladder.c src/stitch.c src/job.c
LAYER_batch  = src/csv.c src/select.c src/manifest.c src/batch.c
CORE_SRC = $(foreach l,$(LAYERS),$(LAYER_$(l)))
PORT_SRC = port/$(PORT)/port_$(PORT).c
LIB_SRC  = $(CORE_SRC) $(PORT_SRC)
UNIT_SRC = tests/unit/unit.c $(wildcard tests/unit/test_*.c)

OBJ      = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
# a static link carries its own libtiff codec table (boards/tiff_codecs.c):
# linked into the executables, never into the library
LINK_OBJ = $(if $(filter 1,$(STATIC)),$(BUILD)/obj/boards/tiff_codecs.o)
# and the tool's static link leaves its map beside it (tests/check_static_link.sh)
ifeq ($(STATIC),1)
LINK_MAP = -Wl,-Map,$@.map
endif
# libiiifstitch.a exports the public API (include/iiifstitch.h) and nothing
# else: the library is compiled with hidden visibility, linked into one
# object whose hidden symbols are made local (tests/check_symbols.sh). The
# tool, the floor and the example link it; the unit tests link the internal
# archive, every symbol visible.
LIB      = $(BUILD)/libiiifstitch.a
ILIB     = $(BUILD)/libiiifstitch-internal.a
BIN      = $(BUILD)/iiifstitch
FLOOR    = $(BUILD)/floor
EMBED    = $(BUILD)/embed
UNIT     = $(BUILD)/unit-tests

.PHONY: all help deps check check-unit check-e2e check-asan check-portable check-layers \
        check-symbols check-install install demo bench size memory clean

all: $(BIN) $(LIB) $(FLOOR) $(EMBED) ## build the tool, the library, the floor and the example

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

# the library's objects: only what iiifstitch.h marks IIIFS_API is visible
$(OBJ): VISIBILITY = -fvisibility=hidden

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(ARCH_FLAGS) $(CFLAGS) $(VISIBILITY) $(CPPFLAGS) -MMD -MP -c $< -o $@

# the example is built as a program that embeds the library is: with the
# public header alone
$(BUILD)/obj/docs/examples/embed.o: docs/examples/embed.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(ARCH_FLAGS) $(CFLAGS) -Iinclude -MMD -MP -c $< -o $@

$(LIB): $(OBJ)
	@rm -f $@ $(BUILD)/libiiifstitch.o
	$(LD) -r -o $(BUILD)/libiiifstitch.o $^
	$(OBJCOPY) --localize-hidden $(BUILD)/libiiifstitch.o
	$(AR) rcs $@ $(BUILD)/libiiifstitch.o

$(ILIB): $(OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/obj/src/main.o $(LINK_OBJ) $(LIB)
	$(CC) $(ARCH_FLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LINK_MAP)

$(FLOOR): $(BUILD)/obj/tests/bench/floor.o $(LINK_OBJ) $(LIB)
	$(CC) $(ARCH_FLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(EMBED): $(BUILD)/obj/docs/examples/embed.o $(LINK_OBJ) $(LIB)
	$(CC) $(ARCH_FLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(UNIT_SRC:%.c=$(BUILD)/obj/%.o) $(LINK_OBJ) $(ILIB)
	$(CC) $(ARCH_FLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(OBJ:.o=.d) $(BUILD)/obj/src/main.d $(BUILD)/obj/tests/bench/floor.d \
         $(BUILD)/obj/docs/examples/embed.d $(UNIT_SRC:%.c=$(BUILD)/obj/%.d) \
         $(LINK_OBJ:.o=.d)

# what tests/deps.sh needs to know about a cross board
DEPS_ENV = $(if $(TRIPLET),DEPS_ARCH=$(DEB_ARCH) DEPS_TRIPLET=$(TRIPLET) $(if $(SYSROOT),DEPS_SYSROOT=$(SYSROOT)))

deps: ## install missing Debian packages (build and test; BOARD=name: its cross toolchain too)
	@$(DEPS_ENV) sh tests/deps.sh

ifeq ($(BOARD),host)
check: ## install what is missing, build, run every test (plain, ASan+UBSan; BOARD=name: under qemu-user)
	@sh tests/deps.sh
	@bash tests/run.sh
else
# a board: its unit and end-to-end tests under qemu-user (no ASan, no valgrind)
check:
	@$(DEPS_ENV) sh tests/deps.sh
	@BOARD=$(BOARD) BUILD=$(BUILD) RUNNER="$(RUNNER)" NM="$(NM)" SKIP_ASAN=1 SKIP_TSAN=1 SKIP_VALGRIND=1 \
	    bash tests/run.sh
endif

check-unit: $(UNIT) ## unit tests only
	$(RUNNER) $(UNIT)

check-e2e: $(BIN) ## end-to-end tests against nginx, tinyproxy and iipsrv (lighttpd) on 127.0.0.1
	IIIFSTITCH=$(BIN) WRAP="$(RUNNER)" bash tests/e2e/test_e2e.sh
	IIIFSTITCH=$(BIN) WRAP="$(RUNNER)" bash tests/e2e/test_access.sh
	IIIFSTITCH=$(BIN) WRAP="$(RUNNER)" bash tests/e2e/test_batch.sh
	IIIFSTITCH=$(BIN) WRAP="$(RUNNER)" bash tests/e2e/test_out.sh
	IIIFSTITCH=$(BIN) WRAP="$(RUNNER)" bash tests/e2e/test_plan.sh
	IIIFSTITCH=$(BIN) WRAP="$(RUNNER)" bash tests/e2e/test_iipsrv.sh

check-asan: ## the unit and end-to-end tests under ASan+UBSan
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" LDFLAGS="-fsanitize=address,undefined" all build/asan/unit-tests
	build/asan/unit-tests
	IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_e2e.sh
	IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_access.sh
	IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_batch.sh
	IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_out.sh
	IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_plan.sh
	IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_iipsrv.sh

check-portable: ## prove the core includes no OS header
	@sh tests/check_portable.sh

check-layers: ## prove every include points down a layer, and docs/design.md agrees
	@sh tests/check_layers.sh

check-symbols: $(LIB) ## prove the library exports the public API and nothing else
	@sh tests/check_symbols.sh $(LIB)

demo: ## stitch a sample image from a local IIIF server
	@sh tests/deps.sh
	@$(MAKE) --no-print-directory all
	@bash tests/demo.sh

bench: all ## measure wall time and peak RSS against the baselines
	@bash tests/bench/run.sh
	@bash tests/bench/net.sh
	@bash tests/bench/compress.sh
	@bash tests/bench/views.sh

PREFIX  ?= /usr/local
DESTDIR ?=
VERSION  = $(shell sed -n 's/^\#define IIIFS_VERSION "\(.*\)"/\1/p' include/iiifstitch.h)

$(BUILD)/iiifstitch.pc: iiifstitch.pc.in include/iiifstitch.h
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< >$@

install: $(BIN) $(LIB) $(BUILD)/iiifstitch.pc ## install under DESTDIR/PREFIX (default /usr/local)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/iiifstitch
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libiiifstitch.a
	install -m 644 include/iiifstitch.h $(DESTDIR)$(PREFIX)/include/iiifstitch.h
	install -m 644 $(BUILD)/iiifstitch.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/iiifstitch.pc
	install -m 644 docs/iiifstitch.1 $(DESTDIR)$(PREFIX)/share/man/man1/iiifstitch.1

check-install: ## install into a temporary DESTDIR, build a program against it, lint the man page
	@sh tests/check_install.sh

size: $(BIN) ## stripped size of the tool, and of each archive's share (use with STATIC=1)
	@BOARD=$(BOARD) BUILD=$(BUILD) sh boards/size.sh

memory: all ## peak RSS of the 7216x5412 bench job, run under the board's emulator
	@bash boards/memory.sh $(BOARD)

print-layer-%: # for tests/check_layers.sh: the sources of one layer
	@echo '$(LAYER_$*)'

print-%: # for scripts: print-runner, print-cc, print-size, print-link, print-ldlibs
	@echo '$(or $($(shell echo $* | tr a-z A-Z)),$(if $(filter link,$*),$(ARCH_FLAGS) $(CFLAGS) $(LDFLAGS)))'

clean: ## remove build/
	rm -rf build
