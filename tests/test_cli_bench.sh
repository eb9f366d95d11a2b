#!/usr/bin/env bash
# `neural_rps benchmark` end to end on the original project's nets converted with import-go: flag checking
# (one-line errors, exit 2/1), size-mismatch warnings, the GPU-absent path, JSON/CSV/plot outputs (JSON parsed and
# checked for the keys documented in docs/benchmark-json.md), nothing written on a bad output path, SIGINT.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
"$BIN" import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_policy.model" --out "$T/p.onnx" >/dev/null 2>&1 &&
"$BIN" import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_value.model" --out "$T/v.onnx" >/dev/null 2>&1 ||
  { echo "  not ok import-go of the fixtures failed"; echo "RESULT cli_bench: 0 passed, 1 failed, 0 skipped"; exit 1; }
cd "$T" || exit 1   # the benchmark caches its positions in ./.cache
M=(--model-path "$T/p.onnx" --value-model-path "$T/v.onnx")
Q=(--iterations 30 --warmup 3 --seed 5)

for v in 0 -4 abc 1.5 "" 99999999999999; do
  expect_fail "batch size '$v' refused" 2 "batch-size expects an integer" -- benchmark "${M[@]}" --batch-size "$v"
done
expect_fail "batch too big for memory refused up front" 2 "needs about .* GiB" -- benchmark "${M[@]}" --batch-size 900000000
expect_fail "bad sweep value" 2 "sweep expects" -- benchmark "${M[@]}" --sweep 1,x,8
expect_fail "zero iterations" 2 "iterations expects" -- benchmark "${M[@]}" --iterations 0
expect_fail "bad duration" 2 "duration expects" -- benchmark "${M[@]}" --duration -1
expect_fail "unknown backend" 2 "unknown backend 'tpu'" -- benchmark "${M[@]}" --backends ort-cpu,tpu
expect_fail "unknown provider" 2 "unknown ONNX Runtime provider 'warp9'" -- benchmark "${M[@]}" --provider warp9
expect_fail "bad inputs kind" 2 "inputs expects selfplay, random or FILE.npy" -- benchmark "${M[@]}" --inputs zeros
expect_fail "bad self-play agent" 2 "selfplay-agent: agent spec 'frob'" -- benchmark "${M[@]}" --selfplay-agent frob
expect_fail "unknown flag" 2 "unknown flag '--frobnicate'" -- benchmark --frobnicate
expect_fail "cpu-only and gpu-only" 2 "exclude each other" -- benchmark --cpu-only --gpu-only
expect_fail "missing model file" 1 "nope.onnx" -- benchmark --model-path "$T/nope.onnx"
expect_fail "json in a missing folder" 2 "folder '$T/no/such' does not exist" -- benchmark "${M[@]}" "${Q[@]}" --json "$T/no/such/r.json"
[ ! -e "$T/no" ] && ok "nothing written for a missing folder" || bad "nothing written for a missing folder"
expect_fail "csv in a missing folder" 2 "does not exist" -- benchmark "${M[@]}" --csv "$T/nofolder/r.csv"

# GPU: on a machine without one, --gpu-only fails with the reason; the default run says why in one line.
if "$BIN" benchmark "${M[@]}" "${Q[@]}" --gpu-only --no-validate >"$T/gout" 2>"$T/gerr"; then
  skip "gpu-only without GPU (this machine has a GPU backend: $(grep -c '^ort-cuda\|^native-cuda' "$T/gout") GPU rows)"
else
  rc=$?
  if [ "$rc" -eq 1 ] && [ "$(grep -c '' "$T/gerr")" -eq 1 ] && grep -q "gpu-only: no GPU backend available: .*native-cuda" "$T/gerr" && [ ! -s "$T/gout" ]
  then ok "gpu-only without GPU fails cleanly"; else bad "gpu-only without GPU (rc=$rc, $(head -c 300 "$T/gerr"))"; fi
fi

expect_ok "default run: both nets, CPU backends" "^native-cpu +value +64 " -- benchmark "${M[@]}" "${Q[@]}" --json "$T/r.json" --csv "$T/r.csv"
for pat in "^ort-cpu +policy +1 " "^native-cpu +policy +64 " "^ort-cpu +floor +64 " "Performance Comparison" \
           "native-cpu is [0-9]+\.[0-9]{2} times (faster|slower) than ort-cpu \(native-cpu vs ort-cpu, p50 " "ONNX Runtime per-call floor"; do
  grep -qE "$pat" "$T/out" && ok "report has '$pat'" || bad "report has '$pat'"
done
if grep -qE "^(ort-cuda|native-cuda) " "$T/out"; then skip "GPU-absent line (GPU present)"
else
  [ "$(grep -c '^GPU results absent: ' "$T/out")" -eq 1 ] && grep -qE "no ratio: no GPU backend measured" "$T/out" &&
    ! grep -qE "GPU is [0-9]" "$T/out" && ok "one GPU-absent line, no GPU number" || bad "GPU-absent line"
fi
grep -qE " ok [0-9.e+-]+$" "$T/out" && ! grep -q FAIL "$T/out" && ok "validation ok on every row" || bad "validation column"

"$PY" - "$T/r.json" <<'PYEOF' && ok "JSON parses with the documented keys" || bad "JSON keys"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "neural_rps.benchmark" and d["schema_version"] == 1
env = d["environment"]
for k in ["cpu_model", "cores", "os", "onnxruntime_version", "providers_available", "threads", "git_commit",
          "timestamp", "models"]:
    assert k in env, k
assert "CPUExecutionProvider" in env["providers_available"]
assert len(env["models"]["policy"]["sha256"]) == 64 and len(env["models"]["value"]["sha256"]) == 64
assert env["models"]["policy"]["input_encoding"] == "board" == env["models"]["value"]["input_encoding"]
rows = d["results"]
assert len(rows) == 2 * 2 * 2 + 2, len(rows)   # {ort-cpu,native-cpu} x {policy,value} x {1,64} + floor x {1,64}
for r in rows:
    for k in ["backend", "model", "batch_size", "iterations", "latency_us", "samples_per_s", "session_create_ms",
              "first_call_us", "per_sample_us", "cv", "provider", "validation"]:
        assert k in r, k
    l = r["latency_us"]
    assert set(["mean", "min", "p50", "p90", "p99", "p999", "max", "stdev"]) <= set(l)
    assert 0 < l["min"] <= l["p50"] <= l["p90"] <= l["p99"] <= l["p999"] <= l["max"]
    assert r["iterations"] == 30
    assert abs(r["samples_per_s"] - r["batch_size"] * 1e6 / l["mean"]) < 1e-6 * r["samples_per_s"]
    if r["model"] != "floor":
        assert r["validation"]["ok"] is True and r["validation"]["max_abs_err"] < 1e-4
        v = r["validation"]  # a value net has no argmax: null, not a 0/0 beside "ok": true
        if r["model"] == "value": assert v["top1_rows"] is None and v["top1_agree"] is None, v
        else: assert v["top1_rows"] == r["batch_size"] and v["top1_agree"] == v["top1_rows"], v
    assert r["mad_us"] >= 0 and 0 <= r["median_halves_diff"] and isinstance(r["unstable"], bool)
    assert r["unstable"] == (r["median_halves_diff"] > 0.05)  # 30 iterations: enough for a verdict
    assert l["min"] <= l["p10"] <= l["p50"]
assert {r["backend"] for r in rows} == {"ort-cpu", "native-cpu"}
# inside-search rows: {native-cpu (reference), native-cpu eval=incremental, ort-cpu} x search threads {1, 2} x search
# batches {1, 16}, 10 games of 9 moves each
srch = d["search"]
assert [(r["backend"], r["eval"], r["batch_size"], r["threads"]) for r in srch] == [
    (b, e, n, t) for n in (1, 16) for t in (1, 2)
    for b, e in (("native-cpu", "full"), ("native-cpu", "incremental"), ("ort-cpu", "full"))
], srch
for r in srch:
    for k in ["playouts", "games", "moves", "move_latency_us", "playouts_per_s", "evals_per_s", "mean_eval_batch",
              "eval_time_share", "same_games_as_reference", "reference"]:
        assert k in r, k
    assert r["playouts"] == 200 and r["games"] == 10 and r["moves"] == 90
    l = r["move_latency_us"]
    assert 0 < l["min"] <= l["p50"] <= l["p90"] <= l["p99"] <= l["max"]
    assert 1 <= r["mean_eval_batch"] <= r["batch_size"] and 0 < r["eval_time_share"] <= 1
    if (r["backend"] == "native-cpu" and r["eval"] == "full") or r["threads"] > 1:  # reference / timing-dependent
        assert r["same_games_as_reference"] is None and r["reference"] is None
    else:
        assert r["reference"] == "native-cpu" and 0 <= r["same_games_as_reference"] <= 10
# one recommendation per search backend: the chosen configuration is a measured row, as fast as the baseline or
# faster, with the baseline's solver agreement within noise and an arena interval reaching 50%; every faster row
# was rejected with a reason
recs = d["recommendations"]
assert [(x["backend"], x["eval"]) for x in recs] == [("native-cpu", "full"), ("native-cpu", "incremental"),
                                                     ("ort-cpu", "full")], recs
for x in recs:
    ch, base = x["recommended"], x["baseline"]
    assert x["positions"] == 200 and x["playouts"] == 200 and (base["threads"], base["batch_size"]) == (1, 1)
    series = [r for r in srch if (r["backend"], r["eval"], r["nets"]) == (x["backend"], x["eval"], x["nets"])]
    speed = {(r["threads"], r["batch_size"]): r["playouts_per_s"] for r in series}
    assert abs(speed[(ch["threads"], ch["batch_size"])] - ch["playouts_per_s"]) < 1e-6 * ch["playouts_per_s"]
    assert 0 <= ch["solver_agreement"] <= 1 and 0 <= base["solver_agreement"] <= 1
    if (ch["threads"], ch["batch_size"]) != (1, 1):
        a = ch["arena"]
        assert a["games"] == 200 and a["score_lo"] <= a["score"] <= a["score_hi"] and a["score_hi"] >= 0.5
    for j in x["rejected"]:
        assert j["playouts_per_s"] > ch["playouts_per_s"] and j["rejected_because"]
    faster = [k for k, v in speed.items() if v > ch["playouts_per_s"]]
    assert sorted(faster) == sorted((j["threads"], j["batch_size"]) for j in x["rejected"]), (faster, x["rejected"])
PYEOF
grep -qE "^Inside MCTS search" "$T/out" && grep -qE "batch 16, 1 thread: (native-cpu|ort-cpu) searches [0-9]+\.[0-9]{2} times" "$T/out" &&
  grep -qE "policy\+value, native-cpu: 2 search threads [0-9]+\.[0-9]{2}x the playouts/s of 1" "$T/out" &&
  ok "inside-search section with ratios and thread scaling" || bad "inside-search section"
grep -qE "^recommended: native-cpu, policy\+value, 200 playouts: threads=[0-9]+ batch=[0-9]+ \([0-9]+ playouts/s\).*solver agreement [0-9.]+% \(threads=1 batch=1: [0-9.]+%\) on 200 positions" "$T/out" &&
  ok "recommended: line per backend" || bad "recommended: line ($(grep -A3 '^recommended' "$T/out" | head -5))"
expect_fail "bad search batch" 2 "search-batch expects" -- benchmark "${M[@]}" --search-batch 0,4
expect_fail "bad search threads" 2 "search-threads expects comma-separated thread counts in \[1, 64\], got '65'" -- \
  benchmark "${M[@]}" --search-threads 1,65
expect_fail "bad recommend games" 2 "recommend-games expects" -- benchmark "${M[@]}" --recommend-games -1
expect_ok "policy alone: search section skipped with a reason" "inside-search benchmark skipped" -- benchmark --model-path "$T/p.onnx" "${Q[@]}" --cpu-only
# the CSV (docs/benchmark-csv.md): RFC 4180 through python's csv module, the JSON rows' fields, one row per JSON row
if /usr/bin/python3 - "$T/r.csv" "$T/r.json" 2>"$T/pyerr" <<'PYEOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
res = json.load(open(sys.argv[2]))["results"]
assert len(rows) == len(res) == 10, (len(rows), len(res))
need = ["backend", "model", "model_path", "model_sha256", "model_kind", "batch_size", "concurrency", "provider",
        "device", "threads", "cv_pct", "mad_us", "median_halves_diff_pct", "unstable", "p10_us", "p50_us", "valid"]
for k in need: assert k in rows[0], k
assert "cv" not in rows[0]
for r, j in zip(rows, res):
    assert r["backend"] == j["backend"] and r["model"] == j["model"] and int(r["batch_size"]) == j["batch_size"]
    assert r["provider"] == j["provider"], (r["provider"], j["provider"])  # commas survive, quoted
    assert abs(float(r["cv_pct"]) - 100 * j["cv"]) < 1e-2, (r["cv_pct"], j["cv"])
    assert abs(float(r["p50_us"]) - j["latency_us"]["p50"]) < 1e-2
    if r["model"] in ("policy", "value"): assert len(r["model_sha256"]) == 64 and r["model_kind"] == r["model"]
    v = j["validation"]
    if v and v["top1_rows"] is None: assert r["top1_rows"] == "" and r["model"] == "value"
assert any("," in r["provider"] for r in rows)  # native-cpu's description: a quoted field
PYEOF
then ok "CSV: parses (RFC 4180), the JSON rows' fields, cv_pct, model path/sha256/kind"
else bad "CSV ($(head -c 300 "$T/pyerr" | tr '\n' '|'))"; fi

run_cmd benchmark "${M[@]}" "${Q[@]}" --input-size 80 --output-size 10 --cpu-only --no-floor --sweep 2
if [ "$RC" -eq 0 ] && grep -q "warning: --input-size 80 disagrees with .*p.onnx (81 inputs); using the model's 81" "$T/err" &&
   grep -q "warning: --output-size 10 disagrees with .*(9 outputs)" "$T/err" && grep -qE "^ort-cpu +policy +2 " "$T/out"
then ok "size mismatch warns and uses the model's sizes"; else bad "size mismatch (rc=$RC, $(head -c 300 "$T/err"))"; fi

expect_ok "one model named alone, random inputs, backends list" "^native-cpu +value +8 " -- \
  benchmark --model-path "$T/v.onnx" --backends native-cpu --inputs random --sweep 8 "${Q[@]}"
! grep -qE "^[a-z-]+ +policy " "$T/out" && ! grep -qE "^ort-cpu " "$T/out" && ok "only the named model and backend are run" ||
  bad "only the named model and backend are run"
grep -q "inputs *random" "$T/out" && ok "random inputs are labelled" || bad "random inputs label"
expect_ok "self-play inputs from a named agent, cached" "inputs +selfplay: 8 positions from 'greedy' self-play games" -- \
  benchmark --model-path "$T/v.onnx" --backends native-cpu --selfplay-agent greedy --sweep 8 "${Q[@]}"
ls "$T"/.cache/positions-5-8-*.bin >/dev/null 2>&1 && ok "positions cached in ./.cache" || bad "positions cached in ./.cache"
expect_ok "self-play inputs: 1 position (singular)" "inputs +selfplay: 1 position from 'greedy' self-play games" -- \
  benchmark --model-path "$T/v.onnx" --backends native-cpu --selfplay-agent greedy --sweep 1 "${Q[@]}"

if command -v gnuplot >/dev/null; then
  expect_ok "sweep with plot" "^ort-cpu +policy +16 " -- benchmark "${M[@]}" "${Q[@]}" --sweep 1,4,16 --plot "$T/s.png"
  [ "$(head -c 4 "$T/s.png" | od -An -c | tr -d ' ')" = "211PNG" ] && ok "plot is a PNG" || bad "plot is a PNG"
else skip "plot (no gnuplot)"; fi

# the original's wrapper: MODEL_FILE, --flag=value forms, prints what it runs
MODEL_FILE="$T/v.onnx" NRPS_BIN="$BIN" "$ROOT/run_benchmark.sh" --batch-size=4 --iterations=20 --warmup=2 --cpu-only \
  --no-floor >"$T/wout" 2>"$T/werr"; rc=$?
if [ "$rc" -eq 0 ] && grep -q "^run_benchmark.sh: running: .*benchmark --model-path .*v.onnx --batch-size 4 --iterations 20" "$T/wout" &&
   grep -qE "^native-cpu +value +4 " "$T/wout" && ! grep -qE " policy " "$T/wout"
then ok "run_benchmark.sh"; else bad "run_benchmark.sh (rc=$rc, $(head -c 300 "$T/werr"))"; fi
NRPS_BIN="$BIN" "$ROOT/run_benchmark.sh" --batch-size=0 >"$T/wout" 2>"$T/werr"; rc=$?
[ "$rc" -eq 2 ] && grep -q "batch-size expects" "$T/werr" && ok "run_benchmark.sh passes the exit status" || bad "run_benchmark.sh exit status ($rc)"

# SIGINT during a long run: what was measured is printed, exit 130, JSON marked interrupted
"$BIN" benchmark "${M[@]}" --duration 30 --warmup 1 --cpu-only --json "$T/int.json" >"$T/iout" 2>"$T/ierr" &
pid=$!
for _ in $(seq 1 300); do grep -q "^  timing" "$T/iout" 2>/dev/null && break; sleep 0.1; done   # header printed
sleep 0.5
kill -INT $pid
wait $pid; rc=$?
if [ "$rc" -eq 130 ] && grep -q "Interrupted (SIGINT)" "$T/iout" && grep -qE "^ort-cpu +policy +1\*? " "$T/iout" &&
   "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['interrupted'] and d['results']" "$T/int.json"
then ok "SIGINT prints partial results and exits 130"; else bad "SIGINT (rc=$rc, $(tail -c 300 "$T/ierr"))"; fi

# models with different input encodings in one run: an original (board) policy and our default (hands) value net;
# each gets positions encoded its way, outputs validated, and the search feeds each net its own encoding
expect_ok "mixed encodings" "^native-cpu +value +1 " -- benchmark --model-path "$T/p.onnx" \
  --value-model-path "$ROOT/models/rps_value.onnx" --iterations 5 --warmup 1 --no-floor --search-games 2 \
  --search-playouts 16 --search-batch 1
grep -qE "^  model +policy .*: policy, 81-64-9 relu/softmax, board encoding" "$T/out" && \
  grep -qE "^  model +value .*: value, 81-64-1 relu/sigmoid, hands encoding" "$T/out" && ok "mixed encodings: header" ||
  bad "mixed encodings: header ($(grep model "$T/out"))"
grep -qE "^  inputs .*board encoding.*; .*hands encoding" "$T/out" && ok "mixed encodings: one input pool per encoding" ||
  bad "mixed encodings: inputs line ($(grep inputs "$T/out"))"
! grep -q FAIL "$T/out" && grep -qE "^ort-cpu +policy\+value +1 +1 +18 .* 2/2 as native-cpu$" "$T/out" && ok "mixed encodings: validated, search ran, same games" ||
  bad "mixed encodings: validation/search"
summary cli_bench
