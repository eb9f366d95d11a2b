# neural_rps - build, test and benchmark.
#   make deps        install Debian packages + pinned ONNX Runtime (npm)      make deps-gpu   + GPU providers
#   make             build bin/neural_rps                                       make test       all tests
#   make test-asan   the same tests under ASan + UBSan                          make bench      the benchmark
#   make bench-sweep batch sweep + JSON/CSV/PNG in results/                      make gpu-check  GPU machine check
# Variables: ORT_ROOT=/path/to/onnxruntime (include/ + lib/), NO_CUDA=1 (skip the native CUDA backend),
#            CUDA_HOME (default /usr/local/cuda), CC.

CC       ?= cc
ORT_ROOT ?= third_party/onnxruntime
CUDA_HOME ?= /usr/local/cuda
PYTHON   ?= /usr/bin/python3
ONNX_PROTO ?= /usr/include/onnx/onnx.proto

ORT_INC := $(ORT_ROOT)/include
ORT_LIB := $(abspath $(ORT_ROOT)/lib)
ORT_API := $(shell sed -n 's/^\#define ORT_API_VERSION \([0-9]*\).*/\1/p' $(ORT_INC)/onnxruntime_c_api.h 2>/dev/null)

ifeq ($(MAKECMDGOALS),deps)
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

LIB_SRC  := $(filter-out src/cli/main.c,$(sort $(wildcard src/*/*.c)))
CU_SRC   := $(if $(NVCC),$(sort $(wildcard src/*/*.cu)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN)/onnx.pb-c.o $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
LIB      := $(BUILD)/libneural_rps.a
BIN      := $(if $(filter build,$(BUILD)),bin/neural_rps,$(BUILD)/neural_rps)

TEST_C   := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_C:tests/%.c=$(BUILD)/tests/%)
TEST_SCRIPTS := $(sort $(wildcard tests/test_*.sh tests/test_*.py))

.PHONY: all deps deps-gpu test test-asan bench bench-cpu bench-sweep gpu-check train clean config
all: config $(BIN)

config:
	@echo "neural_rps: ONNX Runtime API $(ORT_API) from $(ORT_ROOT); $(CUDA_NOTE)"

deps:
	scripts/install_deps.sh

deps-gpu:
	scripts/install_deps.sh --gpu

$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(GEN)/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	$(CC) $(CPPFLAGS) -std=c11 $(OPT) $(SAN) -w -c $< -o $@

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

bench: all
	bin/neural_rps benchmark

bench-cpu: all
	bin/neural_rps benchmark --cpu-only

# Batch sweep with every report; results/ is ignored by git.
bench-sweep: all
	@mkdir -p results
	bin/neural_rps benchmark --sweep 1,8,64,256,1024,4096 --json results/bench-sweep.json \
	  --csv results/bench-sweep.csv --plot results/bench-sweep.png

# On a GPU machine: build, test and run the GPU benchmark in one go (see scripts/gpu_check.sh for what to copy first).
gpu-check:
	scripts/gpu_check.sh

clean:
	rm -rf build build-asan bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
