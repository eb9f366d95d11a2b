#!/usr/bin/env bash
# `neural_rps benchmark` on models outside the game and the dense network family (tests/fixtures/any_models/, built
# by scripts/make_any_models.py the way users build them): every element type, several inputs and outputs, a fixed
# batch, --dim / --batch-dim, .npy inputs good and malformed, native backends declining in one line, validation of a
# second ONNX Runtime EP against ort-cpu, --profile and the ONNX Runtime session flags (--concurrency:
# test_cli_concurrency.sh).
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
A="$ROOT/tests/fixtures/any_models"
cd "$T" || exit 1
Q=(--iterations 20 --warmup 2 --no-search)


for ty in float16 bfloat16 double int32 int8 uint8 bool; do
  expect_ok "dtype $ty runs on ort-cpu, native declines in one line" "native-cpu: not supported: .*element type" -- \
    benchmark --model-path "$A/dtype_$ty.onnx" "${Q[@]}" --json "$T/$ty.json"
  grep -qE "^ort-cpu +dtype_$ty +64 .* ref" "$T/out" && ok "dtype $ty: ort-cpu row at batch 64" || bad "dtype $ty: ort-cpu row at batch 64"
done
json_check "float16 model: inputs and outputs with types in the JSON" "$T/float16.json" \
  "[(t['name'],t['type']) for t in r['environment']['models']['dtype_float16']['outputs']]==[('y','float32'),('y_same','float16')] and r['environment']['models']['dtype_float16']['inputs'][0]['shape']==['batch',6]"
json_check "skipped backends and the reason in the JSON" "$T/bool.json" \
  "any(s['backend']=='native-cpu' and 'not supported' in s['reason'] for s in r['environment']['models']['dtype_bool']['skipped'])"
expect_ok "int64 embedding model with the default int range" "tokens: random uniform integers in \[0,1\]" -- \
  benchmark --model-path "$A/embed_int64.onnx" "${Q[@]}"
expect_ok "--int-range 0,9 reaches every embedding row" "integers in \[0,9\]" -- \
  benchmark --model-path "$A/embed_int64.onnx" "${Q[@]}" --int-range 0,9
run_cmd benchmark --model-path "$A/embed_int64.onnx" "${Q[@]}" --int-range 10,20
[ "$RC" -eq 1 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] && grep -q "Gather.*out of data bounds" "$T/err" &&
  ok "indices outside the embedding: ONNX Runtime's error in one line, exit 1" ||
  bad "indices outside the embedding (rc=$RC, stderr: $(head -c 300 "$T/err" | tr '\n' '|'))"
expect_fail "bad --int-range" 2 "int-range expects LO,HI" -- benchmark --model-path "$A/embed_int64.onnx" --int-range 5,1

expect_ok "conv net runs ORT-only" "image float32 \[batch, 3, 8, 8\]" -- benchmark --model-path "$A/conv.onnx" "${Q[@]}" --json "$T/conv.json"
json_check "conv: not a game model, validated against ort-cpu" "$T/conv.json" \
  "r['environment']['models']['conv']['kind']=='not a game model' and r['environment']['models']['conv']['validated_against'].startswith('ort-cpu')"
expect_ok "two inputs, two outputs" "inputs: board float32 \[batch, 81\], extra float32 \[batch, 5\]; outputs: logits float32 \[batch, 9\], score" -- \
  benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}"
expect_ok "a second ONNX Runtime EP is validated against ort-cpu" "^ort-CPUExecutionProvider +two_inputs +64 .* ok " -- \
  benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --backends ort-cpu,ort-CPUExecutionProvider,native-cpu
grep -q "native-cpu: not supported: .*two graph inputs" "$T/out" && ok "native-cpu named with its reason" || bad "native-cpu named with its reason"
expect_ok "two-headed conv net: search leaves it out and says why" "leaves out .*two_heads_conv.onnx: outside the dense network family" -- \
  benchmark --model-path "$A/two_heads_conv.onnx" --iterations 20 --warmup 2 --search-games 1
expect_ok "100-32-10 dense model: not a game model, native and ORT agree" "^native-cpu +mlp_100_32_10 +64 .* ok " -- \
  benchmark --model-path "$A/mlp_100_32_10.onnx" "${Q[@]}"
grep -q "mlp_100_32_10.onnx: not a game model" "$T/out" && ok "100-32-10 is not called a policy" || bad "100-32-10 is not called a policy"

expect_ok "dynamic axis on the input only: the output's invented batch name is still the batch" \
  "^native-cpu +policy +64 .* ok " -- benchmark --model-path "$A/torch_input_axis_only.onnx" "${Q[@]}"
expect_ok "external data beside the model" "^ort-cpu +external_data +64 .* ref" -- \
  benchmark --model-path "$A/external_data.onnx" "${Q[@]}"
grep -q "native-cpu: not supported: .*uses external data" "$T/out" && ok "native declines external data" || bad "native declines external data"

# static batch
expect_ok "torch.onnx.export defaults: fixed batch 1 measured with a note" "fixed batch size 1: measuring batch 1 only" -- \
  benchmark --model-path "$A/torch_static.onnx" "${Q[@]}"
grep -qE "^ort-cpu +policy +64 " "$T/out" && bad "no batch-64 row for a fixed batch model" || ok "no batch-64 row for a fixed batch model"
expect_fail "explicit --batch-size the static model cannot take is a usage error" 2 "torch_static.onnx has a fixed batch size 1.*dynamic_axes" -- \
  benchmark --model-path "$A/torch_static.onnx" "${Q[@]}" --batch-size 64
expect_fail "explicit --sweep the static model cannot take" 2 "fixed batch size 4" -- \
  benchmark --model-path "$A/fixed_batch4.onnx" "${Q[@]}" --sweep 1,4
expect_ok "fixed batch 4 at its own size on every backend" "^native-cpu +policy +4 .* ok " -- \
  benchmark --model-path "$A/fixed_batch4.onnx" "${Q[@]}"
expect_ok "torch dynamic export: a policy net, every backend" "^native-cpu +policy +64 .* ok " -- \
  benchmark --model-path "$A/torch_dynamic.onnx" "${Q[@]}"

# symbolic dimensions
expect_fail "an unbound symbolic dim names the --dim to give" 2 "dimension 1 \('seq'\) is symbolic: give its size with --dim seq=" -- \
  benchmark --model-path "$A/symbolic_seq.onnx" "${Q[@]}"
expect_ok "--dim seq=5" "x float32 \[batch, 5, 8\]" -- benchmark --model-path "$A/symbolic_seq.onnx" "${Q[@]}" --dim seq=5
for v in seq seq= =5 seq=0 seq=x; do
  expect_fail "bad --dim '$v'" 2 "dim" -- benchmark --model-path "$A/symbolic_seq.onnx" --dim "$v"
done
expect_ok "--dim on the batch dimension fixes the batch size" "dim batch=3 fixes the batch size: measuring batch 3 only" -- \
  benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --dim batch=3
expect_fail "--dim on the batch dimension and another --batch-size" 2 "dim batch=3 fixes the batch size of .*two_inputs.onnx" -- \
  benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --dim batch=3 --batch-size 8
expect_fail "batch on the last axis needs --batch-dim" 2 "\('N'\) is symbolic.*--batch-dim N" -- benchmark --model-path "$A/batch_last.onnx" "${Q[@]}"
expect_ok "--batch-dim N" "^ort-cpu +batch_last +64 " -- benchmark --model-path "$A/batch_last.onnx" "${Q[@]}" --batch-dim N --json "$T/bl.json"
json_check "batch axis recorded" "$T/bl.json" "r['environment']['models']['batch_last']['inputs'][0]['batch_axis']==1"
expect_fail "--batch-dim no input has" 2 "batch-dim nosuch: no input" -- benchmark --model-path "$A/conv.onnx" "${Q[@]}" --batch-dim nosuch

# .npy inputs
if "$PY" -c "import numpy" 2>/dev/null; then
  "$PY" - "$T" <<'PYEOF'
import numpy as np, sys
t = sys.argv[1]
r = np.random.default_rng(3)
np.save(t + "/board.npy", r.random((10, 81), dtype=np.float32))
np.save(t + "/extra.npy", r.random((10, 5), dtype=np.float32))
np.save(t + "/extra_f64.npy", r.random((10, 5)))
np.save(t + "/extra_bad.npy", r.random((10, 6), dtype=np.float32))
np.save(t + "/fortran.npy", np.asfortranarray(r.random((10, 5), dtype=np.float32)))
np.save(t + "/tokens.npy", r.integers(0, 10, (3, 16), dtype=np.int64))
b = open(t + "/extra.npy", "rb").read()
open(t + "/truncated.npy", "wb").write(b[:-7])
PYEOF
  expect_ok ".npy inputs for a two-input model" "board.npy: 10 samples, repeated" -- \
    benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --inputs "$T/board.npy,$T/extra.npy"
  expect_ok ".npy int64 tokens" "tokens.npy: 3 samples" -- benchmark --model-path "$A/embed_int64.onnx" "${Q[@]}" --inputs "$T/tokens.npy"
  expect_fail ".npy of the wrong element type" 2 "extra_f64.npy: element type float64 .* does not match input 'extra' \(float32\)" -- \
    benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --inputs "$T/board.npy,$T/extra_f64.npy"
  expect_fail ".npy of the wrong shape" 2 "extra_bad.npy: shape \[10, 6\] does not fit input 'extra'" -- \
    benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --inputs "$T/board.npy,$T/extra_bad.npy"
  expect_fail ".npy truncated" 1 "truncated.npy" -- benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --inputs "$T/board.npy,$T/truncated.npy"
  expect_fail ".npy in Fortran order" 1 "fortran.npy: .*Fortran order" -- \
    benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --inputs "$T/board.npy,$T/fortran.npy"
  expect_fail "one .npy for two inputs" 2 "2 inputs but 1 .npy file" -- benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --inputs "$T/board.npy"
  expect_fail "missing .npy" 1 "nope.npy" -- benchmark --model-path "$A/two_inputs.onnx" "${Q[@]}" --inputs "$T/board.npy,$T/nope.npy"
else
  skip ".npy inputs (python3-numpy missing: make deps-dev)"
fi
expect_fail "--inputs not .npy" 2 "inputs expects selfplay, random or FILE.npy" -- benchmark --inputs "$T/x.txt"

# ONNX Runtime session flags
expect_ok "--profile writes ONNX Runtime's profile and lists the top ops" "ONNX Runtime profile ort-cpu/conv .*: .* us of kernel time" -- \
  benchmark --model-path "$A/conv.onnx" "${Q[@]}" --profile "$T/prof.json" --json "$T/p.json"
grep -qE "^  Conv +[0-9]+ calls" "$T/out" && ok "Conv among the top ops" || bad "Conv among the top ops"
json_check "the profile file parses as JSON (a trace event array)" "$T/prof.json" "isinstance(r, list) and any(e.get('cat')=='Node' for e in r)"
json_check "the JSON report lists the profile's top ops" "$T/p.json" "r['profiles'][0]['top_ops'][0]['calls'] > 0"
expect_ok "--graph-opt none --execution-mode parallel --inter-threads 1 --no-spin" "^ort-cpu +conv +64 .* ref" -- \
  benchmark --model-path "$A/conv.onnx" "${Q[@]}" --graph-opt none --execution-mode parallel --inter-threads 1 --no-spin
expect_ok "--optimized-model-out writes the optimised graph" "^ort-cpu +conv" -- \
  benchmark --model-path "$A/conv.onnx" "${Q[@]}" --optimized-model-out "$T/opt.onnx"
[ -s "$T/opt.onnx" ] && ok "optimised model written" || bad "optimised model written"
expect_ok "--session-config a known key" "^ort-cpu +conv" -- \
  benchmark --model-path "$A/conv.onnx" "${Q[@]}" --session-config session.disable_prepacking=1
expect_fail "bad --graph-opt" 2 "graph-opt expects one of all, none, basic, extended" -- benchmark --graph-opt fast
expect_fail "bad --execution-mode" 2 "execution-mode expects one of sequential, parallel" -- benchmark --execution-mode async
expect_fail "--inter-threads without parallel" 2 "inter-threads needs --execution-mode parallel" -- benchmark --inter-threads 2
expect_fail "bad --session-config" 2 "session-config expects KEY=VALUE" -- benchmark --session-config nokey
expect_fail "bad --provider-option" 2 "provider-option expects KEY=VALUE" -- benchmark --provider-option =1

# the model read once: a pipe
run_cmd benchmark --model-path /dev/stdin "${Q[@]}" --backends ort-cpu <"$A/conv.onnx"
want=$(sha256sum "$A/conv.onnx" | cut -c1-16)
[ "$RC" -eq 0 ] && grep -q "sha256 $want" "$T/out" && ok "a model from a pipe, hashed from the bytes loaded" || bad "a model from a pipe (rc=$RC)"
summary cli_anymodel
