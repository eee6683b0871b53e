# edgefleet build.
#
#   make                 build/bin/edge-cp, edge-keeper, edge-dp
#   make VERSION=x.y.z   stamp a version into every binary
#   make test            install what is missing, build, run every test
#                        (and the unit tests again under ASan + UBSan)
#   make check-asan      the whole suite under ASan + UBSan (build-asan/)
#   make deps            install the Debian packages the project needs
#   make demo / demo-stop
#   make bench           benchmarks in tests/bench/ (figures + JSON)
#   make deb             Debian packages into build/deb/
#   make fuzz            libFuzzer targets for FUZZ_SECONDS each (default 60)
#   make lint            clang-format, cppcheck and gcc -fanalyzer
#   make check-valgrind  unit tests and keeper tests under valgrind (build-vg/)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
BUILD   ?= build
SAN     ?=
CC      ?= cc

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wmissing-declarations -Wpointer-arith \
       -Wcast-qual -Wwrite-strings -Wformat=2 -Wundef -Wvla \
       -Wimplicit-fallthrough -Werror
CFLAGS_BASE = -std=c17 -D_GNU_SOURCE -g $(WARN) -I. -I$(BUILD)/gen -pthread
ifeq ($(SAN),1)
CFLAGS_OPT = -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
LDFLAGS_OPT = -fsanitize=address,undefined
else
CFLAGS_OPT = -O2 -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
LDFLAGS_OPT = -pie -Wl,-z,relro,-z,now
endif
CFLAGS  += $(CFLAGS_BASE) $(CFLAGS_OPT)
LDFLAGS += $(LDFLAGS_OPT) -pthread

LIBS_CP     = -lmicrohttpd -lgnutls -lsqlite3 -ljansson -lsodium -lcurl
LIBS_KEEPER = -lcurl -ljansson -lsodium
LIBS_DP     = -lsodium

OBJ = $(BUILD)/obj
BIN = $(BUILD)/bin

COMMON_SRC = $(wildcard common/*.c)
CP_SRC     = $(wildcard cp/*.c)
KEEPER_SRC = $(wildcard keeper/*.c)
STEPS_SRC  = $(wildcard steps/*.c)
DP_SRC     = $(wildcard dataplane/*.c)

COMMON_OBJ = $(COMMON_SRC:%.c=$(OBJ)/%.o)
CP_OBJ     = $(CP_SRC:%.c=$(OBJ)/%.o) $(OBJ)/gen/embedded.o
KEEPER_OBJ = $(KEEPER_SRC:%.c=$(OBJ)/%.o)
DP_OBJ     = $(DP_SRC:%.c=$(OBJ)/%.o)
STEPS_OBJ  = $(STEPS_SRC:%.c=$(OBJ)/%.o)

# Everything that is linked into a test but is not a program's main().
CP_LIB_OBJ     = $(filter-out $(OBJ)/cp/main.o,$(CP_OBJ))
KEEPER_LIB_OBJ = $(filter-out $(OBJ)/keeper/main.o,$(KEEPER_OBJ))

PROGS = $(BIN)/edge-cp $(BIN)/edge-keeper $(BIN)/edge-dp
TOOLS = $(BIN)/nodeclient $(BIN)/cp_checkin $(BIN)/slowclient $(BIN)/dpload \
        $(BIN)/rawhttp $(BIN)/slowhttp $(BIN)/fleetsim $(BIN)/memgrep \
        $(BIN)/fakecp

# The node simulators' shared client (transport, node protocol, histogram).
SIM_SRC = $(filter-out tests/fleetsim/fleetsim.c,$(wildcard tests/fleetsim/*.c))
SIM_OBJ = $(SIM_SRC:%.c=$(OBJ)/%.o)

UNIT_SRC   = $(wildcard tests/unit/*_test.c)
UNIT_TESTS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# Every C file that make lint analyses: the programs, the tests and tools.
LINT_SRC = $(COMMON_SRC) $(CP_SRC) $(KEEPER_SRC) $(STEPS_SRC) $(DP_SRC) \
	$(wildcard tests/unit/*.c tests/tools/*.c tests/fleetsim/*.c \
	tests/bench/*.c tests/fuzz/*.c)
NPROC := $(shell nproc 2>/dev/null || echo 2)

EMBED = $(sort $(wildcard schema/*.sql)) packaging/bootstrap.sh.in \
	$(wildcard packaging/systemd/edge-keeper.service) cp/web/dashboard.html

.PHONY: all test check-asan check-valgrind deps demo demo-stop bench lint \
        lint-format lint-cppcheck lint-analyzer format clean unit tools deb \
        fuzz
all: $(PROGS) $(TOOLS)

# The version lives in one object that is rebuilt whenever VERSION changes.
$(BUILD)/gen/ef_build_version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define EF_VERSION "%s"\n' '$(VERSION)' > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@
FORCE:

$(OBJ)/common/version.o: $(BUILD)/gen/ef_build_version.h

$(BUILD)/gen/embedded.c: cp/embed.sh $(EMBED)
	@mkdir -p $(@D)
	sh cp/embed.sh $(EMBED) > $@.tmp && mv $@.tmp $@

$(OBJ)/gen/embedded.o: $(BUILD)/gen/embedded.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-overlength-strings -c $< -o $@

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OBJ)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@ && ar rcs $@ $^

# Step kinds are shared: the keeper runs them, edge-cp validates with them.
$(OBJ)/libsteps.a: $(STEPS_OBJ)
	@rm -f $@ && ar rcs $@ $^

$(BIN)/edge-cp: $(CP_OBJ) $(OBJ)/libsteps.a $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CP)

$(BIN)/edge-keeper: $(KEEPER_OBJ) $(OBJ)/libsteps.a $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_KEEPER)

$(BIN)/edge-dp: $(DP_OBJ) $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_DP)

# Test tools: a node-side client and the check-in benchmark.
$(BIN)/nodeclient: $(OBJ)/tests/tools/nodeclient.o $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_KEEPER)

$(BIN)/slowclient $(BIN)/fakecp: $(BIN)/%: $(OBJ)/tests/tools/%.o $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ -lgnutls -lsodium

$(BIN)/dpload $(BIN)/rawhttp $(BIN)/slowhttp $(BIN)/memgrep: $(BIN)/%: $(OBJ)/tests/tools/%.o $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ -lsodium

$(BIN)/cp_checkin: $(OBJ)/tests/bench/cp_checkin.o $(SIM_OBJ) $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_KEEPER) -lgnutls

$(BIN)/fleetsim: $(OBJ)/tests/fleetsim/fleetsim.o $(SIM_OBJ) $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_KEEPER) -lgnutls

# Unit tests link against archives, so the linker pulls in only the module
# under test and what it really depends on.
$(OBJ)/libcp.a: $(CP_LIB_OBJ)
	@rm -f $@ && ar rcs $@ $^

$(OBJ)/libkeeper.a: $(KEEPER_LIB_OBJ)
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%_test: $(OBJ)/tests/unit/%_test.o $(OBJ)/libcp.a \
		$(OBJ)/libkeeper.a $(OBJ)/libsteps.a $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CP)

unit: $(UNIT_TESTS)
tools: $(TOOLS)

deps:
	@sh packaging/deps.sh

# The unit tests also run built with the sanitizers (build-asan/, as
# NAME@asan), which costs seconds; check-asan runs everything that way.
ifeq ($(SAN),1)
ASAN_UNIT =
else
ASAN_UNIT = build-asan
endif

test:
	@sh packaging/deps.sh --quiet
	@$(MAKE) --no-print-directory all unit BUILD=$(BUILD) SAN=$(SAN)
ifneq ($(ASAN_UNIT),)
	@$(MAKE) --no-print-directory unit BUILD=$(ASAN_UNIT) SAN=1
endif
	@EF_ASAN_BUILD=$(ASAN_UNIT) sh tests/run.sh $(BUILD)

check-asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan SAN=1

# The unit tests and the keeper's integration tests under valgrind
# memcheck, built without sanitizers into build-vg/: tests/run.sh runs
# each unit test under EF_VALGRIND, and lib.sh's keeper_cmd every
# edge-keeper the keeper tests start; any error or definite leak fails.
VALGRIND = valgrind --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite \
	--num-callers=30
VALGRIND_TESTS = $(UNIT_SRC:tests/unit/%.c=%) keeper keeper_dp keeper_self bgp

check-valgrind:
	@sh packaging/deps.sh --quiet
	@$(MAKE) --no-print-directory all unit BUILD=build-vg SAN=
	@EF_VALGRIND="$(VALGRIND)" TESTS="$(VALGRIND_TESTS)" \
		sh tests/run.sh build-vg

demo:
	@sh packaging/deps.sh --quiet
	@$(MAKE) --no-print-directory all
	@sh packaging/demo.sh start

demo-stop:
	@sh packaging/demo.sh stop

fuzz:
	@sh tests/fuzz/run.sh

deb: all
	@sh packaging/deb.sh $(BUILD) $(VERSION)

bench: all
	@sh packaging/deps.sh --quiet --bench
	@sh tests/bench/run.sh $(BUILD)
	@sh tests/bench/dp_throughput.sh $(BUILD)
	@sh tests/bench/dp_upgrade.sh $(BUILD)
	@sh tests/bench/keeper_footprint.sh $(BUILD)
	@sh tests/bench/withdrawal.sh $(BUILD)
	@sh tests/bench/cp_scale.sh $(BUILD)
	@sh tests/bench/rollout_convergence.sh $(BUILD)
	@sh tests/bench/probe_scale.sh $(BUILD)

# A finding is fixed, or, when it is a false positive, suppressed at its
# line with the reason beside it (cppcheck-suppress, or a GCC diagnostic
# pragma around the line for the analyzer); never here for everything.
lint: lint-format lint-cppcheck lint-analyzer

lint-format:
	@echo "  LINT    clang-format"
	@clang-format --dry-run --Werror $(COMMON_SRC) $(CP_SRC) $(KEEPER_SRC) \
		$(STEPS_SRC) $(DP_SRC) $(wildcard */*.h) $(UNIT_SRC)

# Only the standard library's configuration and Jansson's macros: the
# system headers themselves are not parsed (missingIncludeSystem).
lint-cppcheck:
	@echo "  LINT    cppcheck"
	@cppcheck --enable=warning,portability,performance --error-exitcode=1 \
		--inline-suppr -q -j $(NPROC) -D_GNU_SOURCE -I. \
		--suppress=missingIncludeSystem --library=tests/lint/jansson.cfg \
		$(LINT_SRC)

# Compiled, not only parsed (-fsyntax-only does not run the analyzer),
# by gcc whatever CC is, with the build's flags: -Werror makes any
# analyzer warning fail.
lint-analyzer: $(BUILD)/gen/ef_build_version.h
	@echo "  LINT    gcc -fanalyzer"
	@printf '%s\n' $(LINT_SRC) | xargs -P $(NPROC) -n 1 \
		gcc $(CFLAGS) -fanalyzer -c -o /dev/null

format:
	clang-format -i $(COMMON_SRC) $(CP_SRC) $(KEEPER_SRC) $(STEPS_SRC) \
		$(DP_SRC) $(wildcard */*.h) $(UNIT_SRC)

clean:
	rm -rf build build-asan build-vg

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
