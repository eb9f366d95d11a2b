#!/usr/bin/env bash
# run_benchmark.sh - the original project's benchmark wrapper, without its service management: builds the binary
# if needed and runs `neural_rps benchmark`, printing the exact command first.
#   MODEL_FILE=models/rps_value.onnx ./run_benchmark.sh --batch-size=256 --iterations=5000 --cpu-only
# Environment: MODEL_FILE (default models/rps_policy.onnx; when set, only that model is benchmarked),
#              VALUE_MODEL_FILE (optional second model), NRPS_BIN (default bin/neural_rps).
# Flags: --batch-size=N, --iterations=N, --cpu-only, --gpu-only (also as "--flag N"); anything else is passed
# through unchanged (see `bin/neural_rps benchmark --help`). Exit status is the benchmark's.
set -u
cd "$(dirname "$0")"
BIN=${NRPS_BIN:-bin/neural_rps}
args=()
for a in "$@"; do
  case "$a" in
    --batch-size=*) args+=(--batch-size "${a#*=}") ;;
    --iterations=*) args+=(--iterations "${a#*=}") ;;
    --*=*) args+=("${a%%=*}" "${a#*=}") ;;
    *) args+=("$a") ;;
  esac
done
if [ -n "${MODEL_FILE:-}" ]; then
  args=(--model-path "$MODEL_FILE" ${VALUE_MODEL_FILE:+--value-model-path "$VALUE_MODEL_FILE"} "${args[@]}")
elif [ -n "${VALUE_MODEL_FILE:-}" ]; then
  args=(--model-path models/rps_policy.onnx --value-model-path "$VALUE_MODEL_FILE" "${args[@]}")
fi
if [ ! -x "$BIN" ]; then
  echo "run_benchmark.sh: $BIN not built; running make" >&2
  make --no-print-directory >&2 || exit 1
fi
printf 'run_benchmark.sh: running:'
printf ' %q' "$BIN" benchmark "${args[@]}"
printf '\n'
exec "$BIN" benchmark "${args[@]}"
