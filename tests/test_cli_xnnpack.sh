#!/usr/bin/env bash
# `neural_rps benchmark --backends xnnpack-cpu,native-cpu` end to end on the original project's nets converted with
# import-go: every xnnpack-cpu row is in the JSON and validated ok against the reference, single-threaded and with
# --threads 2 (its pthreadpool). Built without XNNPACK, the run goes on with native-cpu and the model's skipped list
# says "not built" in one line; the xnnpack checks SKIP.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
"$BIN" import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_policy.model" --out "$T/p.onnx" >/dev/null 2>&1 &&
"$BIN" import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_value.model" --out "$T/v.onnx" >/dev/null 2>&1 ||
  { echo "  not ok import-go of the fixtures failed"; echo "RESULT cli_xnnpack: 0 passed, 1 failed, 0 skipped"; exit 1; }
cd "$T" || exit 1   # the benchmark caches its positions in ./.cache
M=(--model-path "$T/p.onnx" --value-model-path "$T/v.onnx")

expect_ok "benchmark xnnpack-cpu,native-cpu" "^native-cpu +value +8 " -- \
  benchmark "${M[@]}" --backends xnnpack-cpu,native-cpu --batch-size 8 --iterations 50 --no-search --json "$T/r.json"
if grep -q "not built" "$T/r.json" 2>/dev/null && ! grep -qE "^xnnpack-cpu " "$T/out"; then
  json_check "not built: declined in one line, native-cpu still measured" "$T/r.json" \
    "any('xnnpack-cpu: not built (' in s['reason'] or s['reason'].startswith('not supported: not built (') \
         for m in r['environment']['models'].values() for s in m['skipped']) and \
     any(x['backend'] == 'native-cpu' for x in r['results'])"
  skip "xnnpack-cpu rows (built without libxnnpack-dev)"
else
  json_check "xnnpack-cpu rows for policy and value at batch 1 and 8, all validated ok" "$T/r.json" \
    "sorted((x['model'], x['batch_size']) for x in r['results'] if x['backend'] == 'xnnpack-cpu') == \
       [('policy', 1), ('policy', 8), ('value', 1), ('value', 8)] and \
     all(x['validation']['ok'] and x['threads'] == 1 and x['provider'].startswith('XNNPACK') \
         for x in r['results'] if x['backend'] == 'xnnpack-cpu')"
  expect_ok "benchmark xnnpack-cpu --threads 2" "^xnnpack-cpu +policy +64 " -- \
    benchmark "${M[@]}" --backends xnnpack-cpu --batch-size 64 --iterations 30 --no-search --threads 2 --json "$T/r2.json"
  json_check "xnnpack-cpu with 2 threads validated ok" "$T/r2.json" \
    "all(x['validation']['ok'] and x['threads'] == 2 and x['provider'].endswith('2 threads') \
         for x in r['results'] if x['backend'] == 'xnnpack-cpu') and \
     sum(x['backend'] == 'xnnpack-cpu' for x in r['results']) == 4"
fi
summary cli_xnnpack
