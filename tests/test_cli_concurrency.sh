#!/usr/bin/env bash
# `neural_rps benchmark --concurrency N`: N threads calling Run at once on one ONNX Runtime session (handles from
# be_share) and on N native handles; also run under ThreadSanitizer by `make test-tsan`.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
A="$ROOT/tests/fixtures/any_models"
cd "$T" || exit 1
Q=(--iterations 20 --warmup 2 --no-search)
expect_ok "--concurrency 2 on one session" "^ort-cpu +conv +64 +2 " -- benchmark --model-path "$A/conv.onnx" "${Q[@]}" --concurrency 2 --json "$T/cc.json"
json_check "concurrency rows in the JSON" "$T/cc.json" "any(x['concurrency']==2 and x['samples_per_s']>0 for x in r['results'])"
expect_ok "--concurrency 2 with native backends (one handle each)" "^native-cpu +policy +64 +2 " -- \
  benchmark --model-path "$ROOT/models/rps_policy.onnx" "${Q[@]}" --concurrency 2 --backends native-cpu,ort-cpu
expect_fail "bad --concurrency" 2 "concurrency expects" -- benchmark --concurrency 0

expect_ok "--concurrency 3 on a two-input model" "^ort-cpu +two_inputs +1 +3 " -- \
  benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --concurrency 3 --sweep 1
summary cli_concurrency
