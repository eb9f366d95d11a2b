#!/usr/bin/env bash
# gpu_kernels_check.sh - the native-cuda kernels on a real GPU, in under 2 minutes: builds tests/test_cuda_kernels
# with nvcc, runs it (every layer-list case vs the reference forward nn_forward; a GPU machine must pass all of them
# and skip none), then, when compute-sanitizer is there, runs it again under memcheck and racecheck (each capped
# at 20 s: a cap reached is reported, not failed). Needs ONNX Runtime headers and library as for `make`
# (ORT_ROOT, default third_party/onnxruntime) because the test links the project library.
# Usage: scripts/gpu_kernels_check.sh        Env: CUDA_HOME (default /usr/local/cuda), ORT_ROOT, JOBS.
# Exit status 0 only if the build succeeded and the test ran on a device with 0 failed and 0 skipped.
set -u
cd "$(dirname "$0")/.."
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export PATH="$CUDA_HOME/bin:$PATH"
T=build/tests/test_cuda_kernels
LOG=build/gpu_kernels_check.log
mkdir -p build

echo "== GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -1)"
echo "== build ($(command -v nvcc || echo 'no nvcc'))"
if ! timeout 80 make --no-print-directory -j"${JOBS:-$(nproc)}" "$T" >"$LOG" 2>&1; then
  tail -20 "$LOG"; echo "gpu_kernels_check: build failed (log: $LOG)"; exit 1
fi
grep -E "warning" "$LOG" && echo "gpu_kernels_check: the build printed warnings (log: $LOG)"

echo "== $T"
timeout 30 "$T" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
line=$(grep -E '^RESULT cuda_kernels:' "$LOG" | tail -1)
status=0
if [ "$rc" -ne 0 ] || ! echo "$line" | grep -qE ' 0 failed, 0 skipped$'; then
  echo "gpu_kernels_check: FAILED (exit $rc; ${line:-no RESULT line}; a skip here means no usable CUDA device)"
  status=1
fi

if command -v compute-sanitizer >/dev/null && [ "$status" -eq 0 ]; then
  for tool in memcheck racecheck; do
    echo "== compute-sanitizer --tool $tool (20 s cap)"
    timeout 20 compute-sanitizer --tool "$tool" --error-exitcode 99 "$T" >"build/gpu_kernels_$tool.log" 2>&1
    trc=$?
    tail -3 "build/gpu_kernels_$tool.log"
    case $trc in
      0) echo "$tool: clean" ;;
      124) echo "$tool: not finished within 20 s (no verdict)" ;;
      *) echo "gpu_kernels_check: $tool reported errors (exit $trc, log build/gpu_kernels_$tool.log)"; status=1 ;;
    esac
  done
fi
echo "== gpu_kernels_check: status $status"
exit $status
