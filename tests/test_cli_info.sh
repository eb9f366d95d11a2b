#!/usr/bin/env bash
# `neural_rps info`: text and JSON descriptions, --eval with both engines, and one-line errors.
. "$(dirname "$0")/cli_lib.sh"
FIX="$ROOT/tests/fixtures"
"$BIN" import-go "$FIX/rps_h64_g100_e1_policy.model" --out "$T/p.onnx" >/dev/null 2>&1 || bad "import-go for the info tests"
expect_ok "info text shows layers" "^layers: +81 -> 64 \(relu\) -> 9 \(softmax\)" -- info "$T/p.onnx"
grep -qE "^sha256: +[0-9a-f]{64}$" "$T/out" && ok "info text shows sha256" || bad "info text shows sha256"
grep -qE "^parameters: +5833$" "$T/out" && ok "info text shows parameter count" || bad "info parameter count"
grep -qE "^format: +ONNX IR 8, opset 17$" "$T/out" && ok "info text shows IR/opset" || bad "info IR/opset"
grep -qE "^metadata: .*kind=policy" "$T/out" && ok "info text shows metadata" || bad "info metadata"
grep -qE "^encoding: +board \(DESIGN.md section 2; no input_encoding metadata\)$" "$T/out" &&
  ok "info: an imported original model uses the board encoding" || bad "info board encoding"
expect_ok "info: the default models use the hands encoding" "^encoding: +hands \(DESIGN.md section 2 plus both hands" -- \
  info "$ROOT/models/rps_value.onnx"
grep -qE "^metadata: .*input_encoding=hands" "$T/out" && ok "info: input_encoding metadata" || bad "info input_encoding metadata"
expect_ok "info --json" '"hidden_size":64' -- info "$T/p.onnx" --json
grep -q '"input_encoding":"board"' "$T/out" && ok "info --json input_encoding" || bad "info --json input_encoding"
[ "$(wc -l <"$T/out")" -eq 1 ] && ok "info --json is one line" || bad "info --json is one line"
sha=$(sha256sum "$T/p.onnx" | cut -d' ' -f1)
grep -q "\"sha256\":\"$sha\"" "$T/out" && ok "info --json sha256 matches sha256sum" || bad "info --json sha256"
{ echo "# two positions"; printf '0 %.0s' $(seq 80); echo 1; echo; printf '1 %.0s' $(seq 81); echo; } >"$T/pos.txt"
expect_ok "info --eval ref" "^[0-9.e-]+( [0-9.e-]+){8}$" -- info "$T/p.onnx" --eval "$T/pos.txt"
[ "$(wc -l <"$T/out")" -eq 2 ] && ok "info --eval prints one line per position" || bad "info --eval lines"
cp "$T/out" "$T/ref.txt"
expect_ok "info --eval ort" "^[0-9.e-]+( [0-9.e-]+){8}$" -- info "$T/p.onnx" --eval "$T/pos.txt" --engine ort
paste "$T/ref.txt" "$T/out" | awk '{for(i=1;i<=9;i++){d=$i-$(i+9); if(d<0)d=-d; if(d>1e-5) bad=1}} END{exit bad}' \
  && ok "ref and ort agree on --eval" || bad "ref and ort agree on --eval"
printf '1 2 3\n' >"$T/short.txt"
expect_fail "eval with short line" 1 "short.txt: line 1 has 3 numbers, expected 81" -- info "$T/p.onnx" --eval "$T/short.txt"
expect_fail "bad engine" 2 "engine expects 'ref' or 'ort'" -- info "$T/p.onnx" --eval "$T/pos.txt" --engine gpu
expect_fail "json with eval" 2 "cannot be combined" -- info "$T/p.onnx" --json --eval "$T/pos.txt"
expect_fail "missing model" 1 "nope.onnx: cannot open" -- info "$T/nope.onnx"
expect_fail "no model argument" 2 "missing MODEL.onnx" -- info
head -c 100 "$T/p.onnx" >"$T/trunc.onnx"
expect_fail "truncated model" 1 "trunc.onnx: .*(truncated|corrupted)" -- info "$T/trunc.onnx"
expect_fail "model that is JSON" 1 "rps_h64_g100_e1_value.model: " -- info "$FIX/rps_h64_g100_e1_value.model"
expect_ok "info --help" "usage: neural_rps info" -- info --help
summary cli_info
