# edgefleet build.
#
#   make                 build/bin/edge-cp, edge-keeper, edge-dp
#   make VERSION=x.y.z   stamp a version into every binary
#   make test            install what is missing, build, run every test
#   make check-asan      the whole suite under ASan + UBSan (build-asan/)
#   make deps            install the Debian packages the project needs
#   make demo / demo-stop
#   make bench           benchmarks in tests/bench/ (figures + JSON)
#   make deb             Debian packages into build/deb/
#   make fuzz            libFuzzer targets for FUZZ_SECONDS each (default 60)
#   make lint            clang-format check

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
        $(BIN)/rawhttp $(BIN)/fleetsim

# The node simulators' shared client (transport, node protocol, histogram).
SIM_SRC = $(filter-out tests/fleetsim/fleetsim.c,$(wildcard tests/fleetsim/*.c))
SIM_OBJ = $(SIM_SRC:%.c=$(OBJ)/%.o)

UNIT_SRC   = $(wildcard tests/unit/*_test.c)
UNIT_TESTS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

EMBED = $(sort $(wildcard schema/*.sql)) packaging/bootstrap.sh.in \
	$(wildcard packaging/systemd/edge-keeper.service) cp/web/dashboard.html

.PHONY: all test check-asan deps demo demo-stop bench lint format clean \
        unit tools deb fuzz
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

$(BIN)/slowclient: $(OBJ)/tests/tools/slowclient.o $(OBJ)/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ -lsodium

$(BIN)/dpload $(BIN)/rawhttp: $(BIN)/%: $(OBJ)/tests/tools/%.o $(OBJ)/libcommon.a
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

test:
	@sh packaging/deps.sh --quiet
	@$(MAKE) --no-print-directory all unit BUILD=$(BUILD) SAN=$(SAN)
	@sh tests/run.sh $(BUILD)

check-asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan SAN=1

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

lint:
	@clang-format --dry-run --Werror $(COMMON_SRC) $(CP_SRC) $(KEEPER_SRC) \
		$(STEPS_SRC) $(DP_SRC) $(wildcard */*.h) $(UNIT_SRC)

format:
	clang-format -i $(COMMON_SRC) $(CP_SRC) $(KEEPER_SRC) $(STEPS_SRC) \
		$(DP_SRC) $(wildcard */*.h) $(UNIT_SRC)

clean:
	rm -rf build build-asan

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
