#!/usr/bin/env bash
# gpu_check.sh - one-shot check on a GPU machine (no internet there): build with nvcc, run the whole test suite
# (test_backend then compares native-cuda and, when its provider loads, ort-cuda with the C reference), and run
# the GPU benchmark with validation, all within about 5 minutes. Results go to results/gpu_check.{txt,json,csv,png}.
#
# Before copying the tree to the GPU machine (`make deps-gpu` cannot run there), put ONNX Runtime 1.29's GPU
# provider libraries into third_party/onnxruntime/lib: `make deps-gpu` on a connected machine copies them
# (libonnxruntime_providers_shared.so, _cuda.so, _tensorrt.so). The CPU build of libonnxruntime.so.1 that
# `make deps` installs loads them as plugin execution providers (RegisterExecutionProviderLibrary, ORT >= 1.22);
# an official onnxruntime-linux-x64-gpu-1.29.x release (ORT_ROOT=...) works through the classic call. Note:
# libonnxruntime_providers_cuda.so is about 230 MB, more than a 64 MiB device-tool transfer can carry, so on
# such a lent machine only native-cuda can be checked. The CUDA EP also needs CUDA 13 and cuDNN 9
# libraries (libcudart.so.13, libcublas*.so.13, libcudnn*.so.9) on the library path: the script adds
# $CUDA_HOME/lib64. native-cuda needs only the driver (the CUDA runtime is linked statically).
# Usage: scripts/gpu_check.sh [extra benchmark flags]      Env: CUDA_HOME (default /usr/local/cuda), JOBS.
set -u
cd "$(dirname "$0")/.."
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export LD_LIBRARY_PATH="$(pwd)/third_party/onnxruntime/lib:$CUDA_HOME/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p results
say() { printf '\n=== gpu_check: %s\n' "$*"; }
status=0

say "GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "nvidia-smi failed (no driver?)"
ls third_party/onnxruntime/lib/ 2>&1 | tr '\n' ' '; echo

say "build (nvcc: $(command -v nvcc || echo "$CUDA_HOME/bin/nvcc"))"
make -j"${JOBS:-$(nproc)}" all >results/gpu_check_build.log 2>&1 || { tail -20 results/gpu_check_build.log; exit 1; }
head -1 results/gpu_check_build.log
bin/neural_rps --version

say "tests"
timeout 150 make --no-print-directory test 2>&1 | tee results/gpu_check_tests.log | grep -E "^(== |  (not ok|SKIP|ort-|native-)|.*passed,)" || true
grep -qE "^[0-9]+ passed, 0 failed" results/gpu_check_tests.log || status=1

say "models"
P=models/rps_policy.onnx V=models/rps_value.onnx
MODELS=()  # the default models: the pair and, when present, the two-headed models/rps_net.onnx
if [ ! -f "$P" ] || [ ! -f "$V" ]; then
  P=results/gpu_check_policy.onnx V=results/gpu_check_value.onnx
  bin/neural_rps import-go tests/fixtures/rps_h64_g100_e1_policy.model --out "$P" &&
    bin/neural_rps import-go tests/fixtures/rps_h64_g100_e1_value.model --out "$V" || exit 1
  MODELS=(--model-path "$P" --value-model-path "$V")
fi
echo "models: ${MODELS[*]:-the defaults in models/}"

say "benchmark (all backends, validated, sweep)"
timeout 150 bin/neural_rps benchmark "${MODELS[@]}" --sweep 1,8,64,256,1024,4096 \
  --duration 0.5 --json results/gpu_check.json --csv results/gpu_check.csv --plot results/gpu_check.png "$@" \
  | tee results/gpu_check.txt
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || status=1
grep -qE "^(ort-cuda|native-cuda) " results/gpu_check.txt || { echo "gpu_check: no GPU backend was measured"; status=1; }
say "done: status $status; results in results/gpu_check.{txt,json,csv,png} and results/gpu_check_*.log"
exit $status
