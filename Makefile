# iiifstitch — make help lists the targets.

BOARD   ?= host
BUILD   ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CPPFLAGS += -Iinclude -Iport -Isrc
LDLIBS   = -ltiff -ljpeg -lmbedtls -lmbedx509 -lmbedcrypto -lz -pthread

PORT    ?= posix
CORE_SRC = src/util.c src/url.c src/http_parse.c src/proxy.c src/tls.c src/http.c src/json.c \
           src/info.c src/plan.c src/decode.c src/sink.c src/stitch.c
PORT_SRC = port/$(PORT)/port_$(PORT).c
LIB_SRC  = $(CORE_SRC) $(PORT_SRC)
UNIT_SRC = $(wildcard tests/unit/test_*.c)

OBJ      = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      = $(BUILD)/libiiifstitch.a
BIN      = $(BUILD)/iiifstitch
FLOOR    = $(BUILD)/floor
UNIT     = $(BUILD)/unit-tests

.PHONY: all help deps check check-unit check-e2e check-asan check-portable \
        check-symbols demo bench clean

all: $(BIN) $(LIB) $(FLOOR) ## build the tool, the library and the floor program

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/obj/src/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FLOOR): $(BUILD)/obj/tests/bench/floor.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(UNIT_SRC:%.c=$(BUILD)/obj/%.o) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(OBJ:.o=.d) $(BUILD)/obj/src/main.d $(UNIT_SRC:%.c=$(BUILD)/obj/%.d)

deps: ## install missing Debian packages (build and test), non-interactively
	@sh tests/deps.sh

check: ## install what is missing, build, run every test (plain and ASan+UBSan)
	@sh tests/deps.sh
	@sh tests/run.sh

check-unit: $(UNIT) ## unit tests only
	$(UNIT)

check-e2e: $(BIN) ## end-to-end tests against nginx (and tinyproxy) on 127.0.0.1
	bash tests/e2e/test_e2e.sh
	bash tests/e2e/test_access.sh

check-asan: ## the unit and end-to-end tests under ASan+UBSan
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" LDFLAGS="-fsanitize=address,undefined" all build/asan/unit-tests
	build/asan/unit-tests
	IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_e2e.sh
	IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_access.sh

check-portable: ## prove the core includes no OS header
	@sh tests/check_portable.sh

check-symbols: $(LIB) ## prove every exported symbol carries the prefix
	@sh tests/check_symbols.sh $(LIB)

demo: ## stitch a sample image from a local IIIF server
	@sh tests/deps.sh
	@$(MAKE) --no-print-directory all
	@bash tests/demo.sh

bench: all ## measure wall time and peak RSS against the baselines
	@bash tests/bench/run.sh

clean: ## remove build/
	rm -rf build
