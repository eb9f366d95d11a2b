#!/usr/bin/env bash
# cuda_sim_check.sh - runs tests/test_cuda_kernels against src/backend/cuda.cu on the CPU, without a GPU: the .cu
# file's kernel launches are rewritten into calls of the simulator in scripts/cuda_sim/ (see its cuda_runtime.h
# for what that does and does not check) and built with g++ in place of nvcc. About a minute on 2 cores. It
# complements scripts/gpu_kernels_check.sh (the real device), it does not replace it.
# Usage: scripts/cuda_sim_check.sh (after `make`, which builds the library)     Env: ORT_ROOT, CXX, CC.
set -eu
cd "$(dirname "$0")/.."
ORT_ROOT=${ORT_ROOT:-third_party/onnxruntime}
CXX=${CXX:-g++} CC=${CC:-cc}
D=build/cuda_sim
mkdir -p "$D"
[ -f build/libneural_rps.a ] || { echo "cuda_sim_check: run make first (build/libneural_rps.a)"; exit 1; }
sed -e 's/\b\(nc_[a-z_]*_kernel\)<<</sim_launch(\1, /' -e 's/, 0, c->stream>>>(/)(/' src/backend/cuda.cu >"$D/cuda_sim.cpp"
if grep -q '<<<' "$D/cuda_sim.cpp" || [ "$(grep -c 'sim_launch(' "$D/cuda_sim.cpp")" -lt 2 ]; then
  echo "cuda_sim_check: could not rewrite the kernel launches of src/backend/cuda.cu"; exit 1
fi
CXXFLAGS="-std=c++17 -O1 -g -Wall -Wextra -Iscripts/cuda_sim -Isrc"
$CXX $CXXFLAGS -c scripts/cuda_sim/sim.cpp -o "$D/sim.o"
$CXX $CXXFLAGS -c "$D/cuda_sim.cpp" -o "$D/cuda_sim.o"
$CC -std=c11 -Wall -Wextra -O1 -g -Isrc -Ibuild/gen -Itests -I"$ORT_ROOT/include" -D_GNU_SOURCE -DNRPS_HAVE_CUDA=1 \
  tests/test_cuda_kernels.c "$D/sim.o" "$D/cuda_sim.o" build/libneural_rps.a -L"$ORT_ROOT/lib" \
  -Wl,-rpath,"$(cd "$ORT_ROOT/lib" && pwd)" -lonnxruntime -lprotobuf-c -lcjson -lcrypto -lm -lpthread -lstdc++ \
  -o "$D/test_cuda_kernels_sim"
"$D/test_cuda_kernels_sim"
