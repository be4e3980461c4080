# dfs: build, test, demo. `make help` lists the targets.
CC ?= cc
O ?= build
BIN ?= bin
SAN ?=
OPT ?= -O2

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) -g $(OPT) -pthread \
	-Icommon -Icompute -Is3 -MMD -MP $(SAN) $(CFLAGS)
LDFLAGS_ALL = -pthread $(SAN) $(LDFLAGS)
LIBS = -lleveldb -lraft -luv -lisal -lssl -lcrypto -lmicrohttpd -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

# Debian packages the build and the tests need (`make deps` installs what is missing).
DEPS_PKGS = build-essential pkg-config libleveldb-dev libssl-dev libisal-dev libfuse3-dev \
	libmicrohttpd-dev libraft-dev libuv1-dev fuse3 check python3 procps iproute2 rsync sqlite3 git util-linux

# ... and what only the tests need (the status page is checked in headless Chromium; the
# S3 gateway with real S3 clients).
TEST_PKGS = chromium python3-boto3 awscli s3cmd rclone

COMMON_SRC = $(wildcard common/*.c)
NAMENODE_SRC = $(filter-out namenode/main.c,$(wildcard namenode/*.c))
DATANODE_SRC = $(filter-out datanode/main.c,$(wildcard datanode/*.c))
TOOLS_SRC = $(filter-out tools/main.c,$(wildcard tools/*.c))
FUSE_SRC = $(wildcard fuse/*.c)
S3_SRC = $(filter-out s3/main.c,$(wildcard s3/*.c))
COMPUTE_SRC = $(wildcard compute/*.c)
FUSE_CFLAGS = $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS = $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
FUZZ_TARGETS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

obj = $(patsubst %.c,$(O)/%.o,$(1))

PROGS = $(BIN)/dfs-namenode $(BIN)/dfs-datanode $(BIN)/dfs $(BIN)/dfs-fuse $(BIN)/dfs-s3
UNIT_BINS = $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
REPLAY_BINS = $(patsubst %,$(O)/tests/replay_%,$(FUZZ_TARGETS))

.PHONY: install all deps deps-test test unit integration asan soak demo bench clean help format lint fuzz
.SECONDARY:

all: $(PROGS)

help:
	@echo "make          build bin/dfs-namenode, bin/dfs-datanode, bin/dfs, bin/dfs-fuse, bin/dfs-s3"
	@echo "make deps     install missing Debian packages (as root) or print the apt-get line"
	@echo "make demo     start a local cluster, store and verify a sample dataset"
	@echo "make test     unit suites + integration tests on real processes"
	@echo "make asan     the same tests built with AddressSanitizer + UBSan"
	@echo "make soak     randomized faults under a verifying workload (SOAK_MINUTES, SOAK_SEED)"
	@echo "make bench    benchmarks (bench/*.sh), figures only"
	@echo "make fuzz     each libFuzzer target for FUZZ_SECONDS (default 60) with clang"

deps-test: deps
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(TEST_PKGS)"

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else \
			echo "missing Debian packages; run:"; \
			echo "  sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(O)/fuse/%.o: fuse/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(FUSE_CFLAGS) -c -o $@ $<

$(O)/libdfs.a: $(call obj,$(COMMON_SRC))
	@rm -f $@
	ar rcs $@ $^

# The compute layer (compute/) is linked into the namenode (scheduler), the datanode
# (executor) and the tool (job model).
$(O)/libcompute.a: $(call obj,$(COMPUTE_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BIN)/dfs-namenode: $(call obj,namenode/main.c $(NAMENODE_SRC)) $(O)/libcompute.a $(O)/libdfs.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BIN)/dfs-datanode: $(call obj,datanode/main.c $(DATANODE_SRC)) $(O)/libcompute.a $(O)/libdfs.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BIN)/dfs: $(call obj,tools/main.c $(TOOLS_SRC)) $(O)/libcompute.a $(O)/libdfs.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BIN)/dfs-fuse: $(call obj,$(FUSE_SRC)) $(O)/libdfs.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(FUSE_LIBS)

$(BIN)/dfs-s3: $(call obj,s3/main.c $(S3_SRC)) $(O)/libdfs.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# Each unit suite links the module objects it tests (all but the mains).
$(O)/tests/%: $(O)/tests/unit/%.o $(call obj,$(NAMENODE_SRC) $(DATANODE_SRC) $(S3_SRC)) $(O)/libcompute.a $(O)/libdfs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(CHECK_LIBS)

# Fuzz inputs (seeds and every crash once found) replayed without libFuzzer.
$(O)/tests/replay_%: $(O)/tests/fuzz/fuzz_%.o $(O)/tests/fuzz/replay.o \
		$(call obj,$(NAMENODE_SRC) $(DATANODE_SRC)) $(O)/libcompute.a $(O)/libdfs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

unit: $(UNIT_BINS) $(REPLAY_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; CK_FORK=yes $$t; done
	@set -e; for t in $(FUZZ_TARGETS); do echo "== fuzz corpus $$t"; \
		$(O)/tests/replay_$$t tests/fuzz/corpus/$$t; done

# libFuzzer: everything built with clang and the fuzzer's coverage into build/fuzz,
# each target run FUZZ_SECONDS from the seeds in tests/fuzz/corpus/T (new inputs go to
# build/fuzz/corpus-T; a crash is saved as build/fuzz/crash-T-* and fails the run:
# copy it into tests/fuzz/corpus/T so that it stays a regression test).
FUZZ_O = build/fuzz
fuzz: deps
	@$(MAKE) --no-print-directory deps DEPS_PKGS="clang"
	@$(MAKE) --no-print-directory O=$(FUZZ_O) BIN=$(FUZZ_O)/bin CC=clang OPT=-O1 \
		CFLAGS="-Wno-format-nonliteral" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
		$(patsubst %,$(FUZZ_O)/fuzz_%,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_O)/corpus-$$t; echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
		$(FUZZ_O)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_O)/crash-$$t- $(FUZZ_O)/corpus-$$t \
			tests/fuzz/corpus/$$t 2>&1 | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)|Test unit written' ; \
		! ls $(FUZZ_O)/crash-$$t-* >/dev/null 2>&1 || { echo "fuzz $$t: crash saved in $(FUZZ_O)"; exit 1; }; \
	done

$(FUZZ_O)/fuzz_%: $(FUZZ_O)/tests/fuzz/fuzz_%.o $(call obj,$(NAMENODE_SRC) $(DATANODE_SRC)) \
		$(FUZZ_O)/libcompute.a $(FUZZ_O)/libdfs.a
	$(CC) -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(LIBS)

# Speaks the data-transfer protocol with bad tokens (tests/integration/test_security.sh).
$(O)/tests/blockprobe: $(O)/tests/integration/blockprobe.o $(O)/libdfs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# LD_PRELOAD library that keeps what a daemon made durable, for the power-cut tests
# (tests/power/powercut.c). No sanitizers in it: under ASan the tests preload libasan first.
$(O)/tests/libpowercut.so: tests/power/powercut.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -g -O2 -fPIC -shared -pthread -o $@ $< -ldl

integration: $(PROGS) $(O)/tests/blockprobe $(O)/tests/libpowercut.so
	@DFS_BIN=$(abspath $(BIN)) DFS_PROBE=$(abspath $(O)/tests/blockprobe) \
		DFS_POWERCUT=$(abspath $(O)/tests/libpowercut.so) tests/integration/run.sh

test: deps-test
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(REPLAY_BINS)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

# The randomized fault soak (tests/soak/soak.py): SOAK_MINUTES (default 3), SOAK_SEED.
soak: deps $(PROGS)
	@DFS_BIN=$(abspath $(BIN)) python3 tests/soak/soak.py

asan: deps
	@$(MAKE) --no-print-directory O=build/asan BIN=build/asan/bin OPT=-O1 \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		test

demo: deps
	@$(MAKE) --no-print-directory all
	@DFS_BIN=$(abspath $(BIN)) tools/demo.sh

$(O)/bench/metabench: $(O)/bench/metabench.o $(O)/libdfs.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

bench: all $(O)/bench/metabench
	@for b in bench/*.sh; do echo "== $$b"; DFS_BIN=$(abspath $(BIN)) \
		METABENCH=$(abspath $(O)/bench/metabench) $$b; done

PREFIX ?= /usr/local
# Installs the programs and the systemd units (dist/; see README "Deploy on N hosts").
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/systemd/system $(DESTDIR)/etc/dfs
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 dist/systemd/*.service $(DESTDIR)/etc/systemd/system/
	test -e $(DESTDIR)/etc/dfs/dfs.conf || install -m 644 dist/dfs.conf.example $(DESTDIR)/etc/dfs/dfs.conf

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	cppcheck --quiet --enable=warning,portability --error-exitcode=1 -Icommon \
		$$(git ls-files '*.c')

clean:
	rm -rf build bin

-include $(shell find $(O) -name '*.d' 2>/dev/null)
