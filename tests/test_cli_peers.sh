#!/usr/bin/env bash
# `neural_rps benchmark --peers torch` (src/bench/run_peers.c, scripts/torch_peer.py): torch-eager and torch-script
# rows merged into the table, JSON and CSV, validated against the reference; a peer script that crashes, prints
# garbage or malformed rows is one error line and exit 1; torch missing (a python whose `import torch` fails) or the
# script missing is one "torch peers: skipped: <reason>" line, exit 0, the reason in the JSON; the private temp
# folder is removed on every path.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
"$BIN" import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_policy.model" --out "$T/p.onnx" >/dev/null 2>&1 &&
"$BIN" import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_value.model" --out "$T/v.onnx" >/dev/null 2>&1 ||
  { echo "  not ok import-go of the fixtures failed"; echo "RESULT cli_peers: 0 passed, 1 failed, 0 skipped"; exit 1; }
cd "$T" || exit 1   # the benchmark caches its positions in ./.cache
mkdir -p "$T/tmp"
export TMPDIR="$T/tmp"  # run_peers.c's private folder goes here: it must be gone afterwards
unset NRPS_TORCH_PEER
M=(--model-path "$T/p.onnx" --value-model-path "$T/v.onnx")
R=(--backends native-cpu --batch-size 8 --iterations 50 --no-search --seed 5)
no_peer_dir() { [ -z "$(ls -A "$T/tmp")" ] && ok "$1: temp folder removed" || bad "$1: left in TMPDIR: $(ls "$T/tmp")"; }

expect_fail "--peers takes only torch" 2 "peers expects torch, got 'tf'" -- benchmark "${M[@]}" --peers tf

if ! "$PY" -c "import torch, onnx, numpy" 2>/dev/null; then
  skip "torch peers measured (torch, onnx or numpy not importable by $PY)"
else
  run_cmd benchmark "${M[@]}" "${R[@]}" --peers torch --json "$T/r.json" --csv "$T/r.csv"
  [ "$RC" -eq 0 ] && [ ! -s "$T/err" ] && ok "run with --peers torch exits 0, nothing on stderr" ||
    bad "run with --peers torch (rc=$RC, $(head -c 300 "$T/err"))"
  for b in torch-eager torch-script; do
    for m in policy value; do
      for n in 1 8; do
        grep -qE "^$b +$m +$n +[0-9.]+ +[0-9.]+ +[0-9]+% +[0-9]+ +([0-9]+%|-) +- ok [0-9.e+-]+$" "$T/out" &&
          ok "table row $b $m $n (valid ok)" || bad "table row $b $m $n: $(grep "^$b" "$T/out" | head -2)"
      done
    done
  done
  grep -qE "^  torch-eager +PyTorch 1\.[0-9.a-z]+ \(Debian python3-torch, CPU, generic BLAS\); CPU; " "$T/out" &&
    ok "the backends list says what torch-eager is" || bad "backends list: $(grep -A1 '^  torch-eager' "$T/out")"
  json_check "JSON: 8 torch rows, validated ok, positive latencies, same schema as the C rows" "$T/r.json" '
    [x for x in r["results"] if x["backend"].startswith("torch-")] and
    len([x for x in r["results"] if x["backend"] in ("torch-eager", "torch-script")]) == 8 and
    all(x["validation"]["ok"] and x["validation"]["max_abs_err"] < 1e-4 and 0 < x["latency_us"]["min"] <= x["latency_us"]["p50"]
        and x["iterations"] == 50 and x["device"] == "CPU" and x["threads"] == 1 and "PyTorch" in x["provider"]
        and set(x) == set(r["results"][0]) and x["model_path"] in (r["environment"]["models"]["policy"]["path"],
        r["environment"]["models"]["value"]["path"])
        for x in r["results"] if x["backend"].startswith("torch-")) and
    r["settings"]["peers"] == "torch" and r["settings"]["peers_skipped"] is None'
  json_check "JSON: value rows have no argmax, policy rows agree on every row" "$T/r.json" '
    all((x["validation"]["top1_rows"] is None) if x["model"] == "value" else x["validation"]["top1_agree"] == x["batch_size"]
        for x in r["results"] if x["backend"].startswith("torch-"))'
  [ "$(grep -cE '^torch-(eager|script),(policy|value),.*,ok,0$' "$T/r.csv")" -eq 8 ] && ok "CSV: 8 torch rows, valid ok" ||
    bad "CSV torch rows: $(grep -c '^torch-' "$T/r.csv")"
  no_peer_dir "measured run"
  # validated like any backend: the real script with every bias moved by 0.01 fails the run (exit 1, one line)
  printf 'import sys\nsys.path.insert(0, "%s/scripts")\nimport torch_peer as tp\nlin = tp.linear\ntp.linear = lambda t, w, b: lin(t, w, None if b is None else b + 0.01)\nsys.exit(tp.main(sys.argv))\n' "$ROOT" >"$T/perturbed.py"
  NRPS_TORCH_PEER="$T/perturbed.py" run_cmd benchmark "${M[@]}" "${R[@]}" --peers torch --csv "$T/fail.csv"
  [ "$RC" -eq 1 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] &&
    grep -qE "^neural_rps benchmark: validation failed: torch-eager policy batch 1: [0-9]+ of 9 values beyond tolerance" "$T/err" &&
    grep -qE "^torch-script +value +8 .* FAIL " "$T/out" && grep -qE "^native-cpu +value +8 .* ok " "$T/out" &&
    grep -qE "^torch-eager,policy,.*,FAIL,0$" "$T/fail.csv" && ok "a peer whose outputs differ fails validation (exit 1, FAIL rows)" ||
    bad "perturbed peer (rc=$RC, $(head -c 300 "$T/err"), $(grep '^torch' "$T/out" | head -2 | tr '\n' '|'))"
  if command -v gnuplot >/dev/null 2>&1; then
    run_cmd benchmark "${M[@]}" "${R[@]}" --peers torch --plot "$T/r.png"
    [ "$RC" -eq 0 ] && [ -s "$T/r.png" ] && ok "--plot with the peers' rows" || bad "--plot with peers (rc=$RC, $(head -c 200 "$T/err"))"
  else skip "--plot with the peers (no gnuplot)"; fi
  # a two-headed model: both heads built, timed and validated (output 0 and 1 against the reference heads)
  if [ -f "$ROOT/models/rps_net.onnx" ]; then
    run_cmd benchmark --model-path "$ROOT/models/rps_net.onnx" --backends native-cpu --batch-size 3 --iterations 20 \
      --no-search --peers torch --json "$T/net.json"
    json_check "two-headed net: torch rows at batch 1 and 3, both outputs validated" "$T/net.json" '
      sorted((x["backend"], x["batch_size"]) for x in r["results"] if x["backend"].startswith("torch-")) ==
        [("torch-eager", 1), ("torch-eager", 3), ("torch-script", 1), ("torch-script", 3)] and
      all(x["validation"]["ok"] and x["validation"]["top1_rows"] == x["batch_size"] and
          [o["name"] for o in x["outputs"]] == ["policy", "value"] for x in r["results"] if x["backend"].startswith("torch-"))'
  else skip "two-headed net (no models/rps_net.onnx)"; fi
  # models the peers cannot take: the reason, one line per model, in the report and the JSON; the run goes on
  "$PY" - "$T/exp.onnx" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
W = numpy_helper.from_array(np.full((4, 3), 0.1, np.float32), "W")
g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Exp", ["h"], ["y"], name="exp1")],
                      "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])], [W])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, sys.argv[1])
PYEOF
  run_cmd benchmark --model-path "$T/exp.onnx" --model-path "$ROOT/tests/fixtures/any_models/conv.onnx" --backends ort-cpu \
    --batch-size 4 --iterations 20 --no-search --peers torch --json "$T/other.json"
  [ "$RC" -eq 0 ] && grep -q "^torch peers: exp: skipped: outside what torch_peer.py builds: unsupported operator 'Exp' (node 'exp1')$" "$T/out" &&
    grep -q "^torch peers: conv: skipped: input 'image' is float32 \[batch, 3, 8, 8\] (the peers take one float32 \[batch, n\] input)$" "$T/out" &&
    ! grep -qE "^torch-" "$T/out" && ok "models the peers cannot build or feed: one skipped line each, exit 0" ||
    bad "models the peers cannot take (rc=$RC, $(grep torch "$T/out" | head -3 | tr '\n' '|'), $(head -c 300 "$T/err"))"
  json_check "those reasons in environment.models.<label>.skipped" "$T/other.json" '
    [s["backend"] for s in r["environment"]["models"]["exp"]["skipped"] if s["backend"].startswith("torch-")] == ["torch-eager", "torch-script"]
    and "Exp" in r["environment"]["models"]["exp"]["skipped"][-1]["reason"]
    and "rank" not in str(r["settings"]["peers_skipped"]) and r["settings"]["peers_skipped"] is None'
  no_peer_dir "models the peers cannot take"
fi

# A peer that fails is a failure, said in one line naming the script; nothing left behind.
printf 'import sys\nsys.stderr.write("Traceback...\\nRuntimeError: boom\\n")\nsys.exit(1)\n' >"$T/crash.py"
printf 'print("this is not JSON")\n' >"$T/garbage.py"
printf 'import json\nprint(json.dumps({"schema": "neural_rps.torch_peer", "available": True, "rows": [{"backend": "torch-eager", "model": "policy", "model_sha256": "0"}]}))\n' >"$T/wrongsha.py"
cat >"$T/norow.py" <<'PYEOF'
import json, sys
man = json.load(open(sys.argv[1]))
m = man["models"][0]
print(json.dumps({"schema": "neural_rps.torch_peer", "available": True, "rows": [
    {"backend": "torch-eager", "model": m["label"], "model_sha256": m["sha256"], "batch_size": 8}]}))
PYEOF
for case in "crash.py|failed \(exit status 1\): RuntimeError: boom$" \
            "garbage.py|garbage.py: expected one JSON object with schema" \
            "wrongsha.py|wrongsha.py: row 0: model and model_sha256 name no model of this run" \
            "norow.py|norow.py: row 0: provider, device, timing_covers"; do
  s=${case%%|*} pat=${case#*|}
  NRPS_TORCH_PEER="$T/$s" run_cmd benchmark "${M[@]}" "${R[@]}" --peers torch --json "$T/bad.json"
  [ "$RC" -eq 1 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] && grep -qE "^neural_rps benchmark: torch peers: .*$pat" "$T/err" &&
    [ ! -e "$T/bad.json" ] && ok "peer $s: one error line, exit 1, no JSON" ||
    bad "peer $s (rc=$RC, stderr: $(head -c 300 "$T/err" | tr '\n' '|'))"
  no_peer_dir "peer $s"
done

# torch missing: a python whose `import torch` fails; the script missing. Both skip with a reason, exit 0.
mkdir -p "$T/fake"
printf 'raise ImportError("no torch in this test")\n' >"$T/fake/torch.py"
printf '#!/bin/sh\nPYTHONPATH=%s exec %s "$@"\n' "$T/fake" "$PY" >"$T/py-notorch"
chmod +x "$T/py-notorch"
PYTHON="$T/py-notorch" run_cmd benchmark "${M[@]}" "${R[@]}" --peers torch --json "$T/skip.json"
[ "$RC" -eq 0 ] && [ "$(grep -c '^torch peers: skipped: ' "$T/out")" -eq 1 ] &&
  grep -q "^torch peers: skipped: cannot import torch: ImportError: no torch in this test$" "$T/out" &&
  ! grep -qE "^torch-" "$T/out" && ok "torch missing: one skipped line, no torch rows, exit 0" ||
  bad "torch missing (rc=$RC, $(grep torch "$T/out" | head -3), $(head -c 200 "$T/err"))"
json_check "torch missing: the JSON records the reason, no torch rows" "$T/skip.json" '
  r["settings"]["peers"] == "torch" and "no torch in this test" in r["settings"]["peers_skipped"] and
  not [x for x in r["results"] if x["backend"].startswith("torch-")]'
no_peer_dir "torch missing"
NRPS_TORCH_PEER="$T/nope.py" run_cmd benchmark "${M[@]}" "${R[@]}" --peers torch
[ "$RC" -eq 0 ] && grep -qE "^torch peers: skipped: $T/nope.py: No such file or directory" "$T/out" &&
  ok "script missing: skipped line, exit 0" || bad "script missing (rc=$RC, $(grep torch "$T/out"))"
run_cmd benchmark "${M[@]}" "${R[@]}" --json "$T/none.json"
json_check "without --peers: settings.peers null" "$T/none.json" 'r["settings"]["peers"] is None and r["settings"]["peers_skipped"] is None'
summary cli_peers
