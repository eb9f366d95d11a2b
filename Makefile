# neural_rps - build, test and benchmark.
#   make deps        what make bench needs: Debian packages + pinned ONNX Runtime (npm); says the download size first
#   make deps-dev    make deps + what the tests need (PyTorch/ONNX/numpy, clang, valgrind)   make deps-gpu  + GPU providers
#   make             build bin/neural_rps                                       make test       all tests
#   make test-asan   the same tests under ASan + UBSan                          make bench      the benchmark
#   make bench-sweep batch sweep + JSON/CSV/PNG in results/                      make gpu-check  GPU machine check
# Variables: ORT_ROOT=/path/to/onnxruntime (include/ + lib/), NO_CUDA=1 (skip the native CUDA backend),
#            NO_XNNPACK=1 (skip the xnnpack-cpu backend), CUDA_HOME (default /usr/local/cuda), CC.

CC       ?= cc
ORT_ROOT ?= third_party/onnxruntime
CUDA_HOME ?= /usr/local/cuda
PYTHON   ?= /usr/bin/python3
ONNX_PROTO ?= /usr/include/onnx/onnx.proto

ORT_INC := $(ORT_ROOT)/include
ORT_LIB := $(abspath $(ORT_ROOT)/lib)
ORT_API := $(shell sed -n 's/^\#define ORT_API_VERSION \([0-9]*\).*/\1/p' $(ORT_INC)/onnxruntime_c_api.h 2>/dev/null)

ifeq ($(MAKECMDGOALS),deps)
else ifeq ($(MAKECMDGOALS),deps-dev)
else ifeq ($(MAKECMDGOALS),deps-gpu)
else ifeq ($(MAKECMDGOALS),clean)
else ifeq ($(ORT_API),)
$(error ONNX Runtime headers not found in $(ORT_INC): run 'make deps' or set ORT_ROOT to an ONNX Runtime release (include/ + lib/))
endif

# Optional native CUDA backend: enabled when nvcc exists (NO_CUDA=1 turns it off).
NVCC := $(shell command -v nvcc 2>/dev/null || ls $(CUDA_HOME)/bin/nvcc 2>/dev/null)
ifneq ($(NO_CUDA),)
NVCC :=
endif

BUILD ?= build
SAN   ?=
ifeq ($(BUILD),build-asan)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1 -g
else
OPT := -O2 -g
endif

GEN      := $(BUILD)/gen
CPPFLAGS := -Isrc -I$(GEN) -I$(ORT_INC) -D_GNU_SOURCE
CFLAGS   := -std=c11 -Wall -Wextra $(OPT) $(SAN) -pthread -MMD -MP
LDLIBS   := -L$(ORT_LIB) -Wl,-rpath,$(ORT_LIB) -lonnxruntime -lprotobuf-c -lcjson -lcrypto -lm -lpthread
LDFLAGS  := $(SAN) -pthread

ifneq ($(NVCC),)
CPPFLAGS += -DNRPS_HAVE_CUDA=1
NVCCFLAGS := -O2 -std=c++17 -Isrc -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90] \
             -Xcompiler -Wall,-Wextra,-fPIC
LDLIBS   += -L$(CUDA_HOME)/lib64 -lcudart_static -ldl -lrt -lstdc++
CUDA_NOTE := native CUDA backend: enabled ($(shell $(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))
else
CUDA_NOTE := native CUDA backend: disabled (no nvcc$(if $(NO_CUDA), ; NO_CUDA set))
endif

# Optional xnnpack-cpu backend: enabled when Debian's libxnnpack-dev (and libpthreadpool-dev) are installed (make
# deps installs them); libXNNPACK.so brings its own libcpuinfo. NO_XNNPACK=1 turns it off.
XNN_HDR := $(if $(NO_XNNPACK),,$(wildcard /usr/include/xnnpack.h))
ifneq ($(XNN_HDR),)
XNN_VERSION := $(shell dpkg-query -W -f='$${Version}' libxnnpack-dev 2>/dev/null)
CPPFLAGS += -DNRPS_HAVE_XNNPACK=1 -DNRPS_XNNPACK_VERSION='"$(or $(XNN_VERSION),unknown version)"'
LDLIBS   += -lXNNPACK -lpthreadpool
XNN_NOTE := xnnpack-cpu backend: enabled (libxnnpack-dev $(or $(XNN_VERSION),of unknown version))
else
XNN_NOTE := xnnpack-cpu backend: disabled (no /usr/include/xnnpack.h$(if $(NO_XNNPACK), ; NO_XNNPACK set); make deps installs it)
endif

LIB_SRC  := $(filter-out src/cli/main.c,$(sort $(wildcard src/*/*.c)))
CU_SRC   := $(if $(NVCC),$(sort $(wildcard src/*/*.cu)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN)/onnx.pb-c.o $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
LIB      := $(BUILD)/libneural_rps.a
BIN      := $(if $(filter build,$(BUILD)),bin/neural_rps,$(BUILD)/neural_rps)

TEST_C   := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_C:tests/%.c=$(BUILD)/tests/%)
TEST_SCRIPTS := $(sort $(wildcard tests/test_*.sh tests/test_*.py))

.PHONY: all deps deps-dev deps-gpu test test-asan bench bench-cpu bench-sweep gpu-check train train-two clean config
all: config $(BIN)

config:
	@echo "neural_rps: ONNX Runtime API $(ORT_API) from $(ORT_ROOT); $(CUDA_NOTE); $(XNN_NOTE)"

deps:
	scripts/install_deps.sh

deps-dev:
	scripts/install_deps.sh --dev

deps-gpu:
	scripts/install_deps.sh --gpu

$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(GEN)/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	$(CC) $(CPPFLAGS) -std=c11 $(OPT) $(SAN) -w -c $< -o $@

# The source tree's commit, compiled into the binary (the benchmark's git_commit): $(GEN)/nrps_git.h is remade by
# every make but rewritten only when the commit changes, so a commit rebuilds report.o and nothing else. "unknown"
# outside a git checkout (or when this folder is not the checkout's top level); NRPS_GIT_COMMIT=... overrides it.
.PHONY: FORCE
$(GEN)/nrps_git.h: FORCE
	@mkdir -p $(GEN)
	@c='$(NRPS_GIT_COMMIT)'; if [ -z "$$c" ]; then \
	  top=$$(git -C "$(CURDIR)" rev-parse --show-toplevel 2>/dev/null) && [ "$$(cd "$$top" && pwd -P)" = "$$(pwd -P)" ] && \
	  c=$$(git -C "$(CURDIR)" rev-parse --short=12 HEAD 2>/dev/null) || c=unknown; fi; \
	c=$$(printf '%s' "$$c" | tr -cd 'A-Za-z0-9._+-' | cut -c1-40); \
	printf '#define NRPS_GIT_COMMIT "%s"\n' "$${c:-unknown}" >$@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
$(BUILD)/src/bench/report.o: $(GEN)/nrps_git.h

# Whether XNNPACK was found (and its version), rewritten only when that changes: installing libxnnpack-dev after a
# build (make deps) recompiles xnnpack.o, and relinks, instead of keeping the "not built" stub.
$(GEN)/nrps_xnnpack.stamp: FORCE
	@mkdir -p $(GEN)
	@printf '%s\n' '$(XNN_NOTE)' >$@.tmp; if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
$(BUILD)/src/backend/xnnpack.o: $(GEN)/nrps_xnnpack.stamp

# ---- MPI (train --mpi, arena --mpi; docs/distributed.md) ----
# Compiled in when Open MPI's mpicc is found (make deps-dev installs it; NO_MPI=1 leaves it out): then every object
# compiles with `mpicc --showme:compile` and the binary and tests link with `mpicc --showme:link`; without it
# src/util/mpi_dist.c builds stubs ("built without MPI"). The binary runs without mpirun either way.
MPICC := $(if $(NO_MPI),,$(shell command -v mpicc 2>/dev/null))
MPI_CFLAGS := $(if $(MPICC),$(shell $(MPICC) --showme:compile 2>/dev/null))
ifneq ($(MPI_CFLAGS),)
CPPFLAGS += -DNRPS_HAVE_MPI=1 $(MPI_CFLAGS)
LDLIBS   += $(shell $(MPICC) --showme:link)
MPI_NOTE := MPI: enabled ($(MPICC), $(shell $(MPICC) --showme:version 2>&1 | sed -n 's/.*\(Open MPI [0-9.]*\).*/\1/p'))
else
MPI_NOTE := MPI: disabled ($(if $(NO_MPI),NO_MPI set,$(if $(MPICC),$(MPICC) does not answer --showme as Open MPI does,no mpicc; make deps-dev installs Open MPI)))
endif
.PHONY: mpi-config
config: mpi-config
mpi-config:
	@echo "neural_rps: $(MPI_NOTE)"
# Rewritten only when that changes, so installing Open MPI after a build rebuilds mpi_dist.o (and relinks).
$(GEN)/nrps_mpi.stamp: FORCE
	@mkdir -p $(GEN)
	@printf '%s\n' '$(MPI_NOTE)' >$@.tmp; if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
$(BUILD)/src/util/mpi_dist.o: $(GEN)/nrps_mpi.stamp

$(BUILD)/%.o: %.c | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/cli/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(LIB) tests/check.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

test: all $(TEST_BIN)
	@NRPS_BIN=$(abspath $(BIN)) PYTHON=$(PYTHON) tests/run_tests.sh $(TEST_BIN) $(TEST_SCRIPTS)

test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan build-asan/neural_rps $(TEST_BIN:build/%=build-asan/%)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:protect_shadow_gap=0 \
	  LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 NRPS_SANITIZED=1 \
	  NRPS_BIN=$(abspath build-asan/neural_rps) PYTHON=$(PYTHON) tests/run_tests.sh $(TEST_BIN:build/%=build-asan/%) $(TEST_SCRIPTS)

# The main job: both default nets, batch 1 and 64, inference and inside-search, every available backend.
bench: all
	@mkdir -p results
	bin/neural_rps benchmark --json results/bench.json --csv results/bench.csv

# Every CPU backend and peer (native-cpu, ort-cpu, xnnpack-cpu at 1 and 2 threads, the torch peers) over
# 1..4096 on the default nets: one comparison table with the issue-13 targets; JSON in results/.
bench-cpu: all
	$(PYTHON) scripts/bench_cpu.py --bin bin/neural_rps --out results

# Batch sweep with every report; results/ is ignored by git.
bench-sweep: all
	@mkdir -p results
	bin/neural_rps benchmark --sweep 1,8,64,256,1024,4096 --json results/bench-sweep.json \
	  --csv results/bench-sweep.csv --plot results/bench-sweep.png

# On a GPU machine: build, test and run the GPU benchmark in one go (see scripts/gpu_check.sh for what to copy first).
gpu-check:
	scripts/gpu_check.sh

# The default models: AlphaZero-style self-play training (see models/README.md), then copied into models/.
TRAIN_THREADS ?= 2
TRAIN_FLAGS ?= --generations 24 --games 1500 --playouts 200 --lr 2e-3 --lr-final 5e-4 --window 4 --epochs 6 --encoding hands --seed 1
train: all
	rm -rf runs/default-train
	bin/neural_rps train --out runs/default-train --threads $(TRAIN_THREADS) $(TRAIN_FLAGS)
	@mkdir -p models
	cp runs/default-train/rps_policy.onnx models/rps_policy.onnx
	cp runs/default-train/rps_value.onnx models/rps_value.onnx
	cp runs/default-train/summary.json models/train_summary.json

# The two-headed model shipped beside them (models/README.md, Strength): models/rps_net.onnx and its summary.
TRAIN_NET_FLAGS ?= $(TRAIN_FLAGS) --heads two --layers 128,128 --value-head 64
train-two: all
	rm -rf runs/two-train
	bin/neural_rps train --out runs/two-train --threads $(TRAIN_THREADS) $(TRAIN_NET_FLAGS)
	@mkdir -p models
	cp runs/two-train/rps_net.onnx models/rps_net.onnx
	cp runs/two-train/summary.json models/rps_net_train_summary.json

clean:
	rm -rf build build-asan bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- reliability: make fuzz / make test-tsan / make valgrind (see docs/reliability.md) ----
# fuzz: libFuzzer targets tests/fuzz/fuzz_*.c built with clang (ASan+UBSan) in build-fuzz/, each run for
# FUZZ_SECONDS (default 60) on build-fuzz/corpus-<target>/ (the seeds of tests/fuzz/corpus/<target>/ plus what
# earlier runs found); a crash fails the target and leaves crash-* / leak-* / timeout-* files in build-fuzz/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SRC     := src/util/util.c src/util/npy.c src/util/json.c src/util/outfile.c src/util/signals.c src/game/game.c \
                src/game/record.c \
                src/nn/net.c src/nn/nn_ops.c src/onnx/onnx_net.c src/onnx/onnx_net_write.c src/onnx/onnx_net_go.c
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ     := $(FUZZ_SRC:%.c=build-fuzz/%.o) build-fuzz/gen/onnx.pb-c.o
.SECONDARY: $(FUZZ_OBJ)
.PHONY: fuzz fuzz-build test-tsan valgrind
build-fuzz/%.o: %.c | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Wall -Wextra -MMD -MP -c $< -o $@
build-fuzz/gen/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -w -c $< -o $@
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wall -Wextra $^ -lprotobuf-c -lcjson -lcrypto -lm -o $@
fuzz-build: $(FUZZ_TARGETS:%=build-fuzz/%)
fuzz: fuzz-build
	@fail=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus-$$t; cp tests/fuzz/corpus/$$t/* build-fuzz/corpus-$$t/; \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  ( cd build-fuzz && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ./$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    corpus-$$t >$$t.log 2>&1 ) && grep -E "^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units)" build-fuzz/$$t.log | tr '\n' ' ' && echo \
	  || { fail=1; echo "FAIL $$t (build-fuzz/$$t.log):"; grep -A25 -E "ERROR|SUMMARY|deadly" build-fuzz/$$t.log | head -40; }; \
	done; [ $$fail -eq 0 ]

# test-tsan: ThreadSanitizer build (build-tsan/, no CUDA) running the multi-threaded tests.
# (no target_clones there: their ifunc resolver runs before the TSan runtime is up and crashes)
ifeq ($(BUILD),build-tsan)
SAN := -fsanitize=thread -fno-omit-frame-pointer
CFLAGS += $(SAN)
LDFLAGS += $(SAN)
CPPFLAGS += -DNRPS_NO_TARGET_CLONES
endif
TSAN_TESTS := $(filter build-tsan/tests/test_arena build-tsan/tests/test_search_bench build-tsan/tests/test_eval_service build-tsan/tests/test_loadgen build-tsan/tests/test_mcts build-tsan/tests/test_train build-tsan/tests/test_tensor build-tsan/tests/test_threadpool,$(TEST_BIN:build/%=build-tsan/%))
TSAN_SCRIPTS := $(filter tests/test_cli_search.sh tests/test_cli_train.sh tests/test_cli_concurrency.sh,$(TEST_SCRIPTS))
test-tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan NO_CUDA=1 build-tsan/neural_rps $(TSAN_TESTS)
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(abspath tests/tsan.supp) NRPS_SANITIZED=1 \
	  NRPS_BIN=$(abspath build-tsan/neural_rps) PYTHON=$(PYTHON) tests/run_tests.sh $(TSAN_TESTS) $(TSAN_SCRIPTS)

# valgrind: memcheck on benchmark smoke runs (native-cpu, ort-cpu); fails on definite leaks or memory errors
# (ONNX Runtime's own "still reachable"/"possibly lost" blocks do not count; tests/valgrind.supp lists its errors).
VALGRIND := valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
            --error-exitcode=99 --suppressions=$(abspath tests/valgrind.supp) --num-callers=30
valgrind: all
	@mkdir -p build/valgrind
	@bin/neural_rps import-go tests/fixtures/rps_h64_g100_e1_policy.model --out build/valgrind/p.onnx >/dev/null
	@bin/neural_rps import-go tests/fixtures/rps_h64_g100_e1_value.model --out build/valgrind/v.onnx >/dev/null
	@fail=0; for b in native-cpu ort-cpu; do \
	  echo "== valgrind: benchmark --backends $$b"; \
	  ( cd build/valgrind && $(VALGRIND) --log-file=$$b.log $(abspath bin/neural_rps) benchmark --backends $$b \
	    --iterations 50 --warmup 10 --batch-size 16 --search-games 2 --recommend-games 10 --model-path p.onnx \
	    --value-model-path v.onnx >$$b.out 2>&1 ); rc=$$?; \
	  grep -E "ERROR SUMMARY|definitely lost|indirectly lost" build/valgrind/$$b.log | sed 's/^==[0-9]*== /  /'; \
	  if [ $$rc -ne 0 ]; then fail=1; echo "FAIL $$b (exit $$rc): see build/valgrind/$$b.log"; fi; \
	done; [ $$fail -eq 0 ] && echo "valgrind: no definite leaks, no memory errors"
.PHONY: clean-reliability
clean: clean-reliability
clean-reliability:
	rm -rf build-fuzz build-tsan
-include $(shell find build-fuzz -name '*.d' 2>/dev/null)
