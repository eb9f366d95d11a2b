#!/usr/bin/env bash
# What the benchmark and info report, and where it goes: git_commit is the binary's build commit (not the current
# folder's); --sweep / --backends / --search-batch lists of any length are read whole (never cut at a buffer size)
# and too many batch sizes are refused naming the limit; --plot with a file name full of quotes and shell/gnuplot
# syntax runs nothing and writes the PNG under exactly that name; info escapes control characters from the file;
# replay refuses a record with a duplicate key; a closed stdout fails the run instead of sending the report into
# another file.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
"$BIN" import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_policy.model" --out "$T/p.onnx" >/dev/null 2>&1 &&
"$BIN" import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_value.model" --out "$T/v.onnx" >/dev/null 2>&1 ||
  { echo "  not ok import-go of the fixtures failed"; echo "RESULT cli_reports: 0 passed, 1 failed, 0 skipped"; exit 1; }
mkdir -p "$T/elsewhere"
cd "$T/elsewhere" || exit 1   # not the repository: git_commit must not come from the current folder
M=(--model-path "$T/p.onnx" --value-model-path "$T/v.onnx")
Q=(--iterations 20 --warmup 2 --no-search --no-floor --backends native-cpu)

# 1. git_commit: the commit the binary was built from, whatever the current folder
want=""  # (as the Makefile: only when the source tree is a checkout's top level)
top=$(git -C "$ROOT" rev-parse --show-toplevel 2>/dev/null) && [ "$(cd "$top" && pwd -P)" = "$(cd "$ROOT" && pwd -P)" ] &&
  want=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null)
run_cmd benchmark "${M[@]}" "${Q[@]}" --batch-size 1 --json "$T/g.json"
if [ -n "$want" ]; then
  json_check "git_commit in the JSON is the build's ($want), run from $T/elsewhere" "$T/g.json" \
    "r['environment']['git_commit'] == '$want'"
  grep -qE "^  runtime .*; git $want$" "$T/out" && ok "git commit in the header" || bad "git commit in the header ($(grep '^  runtime' "$T/out"))"
else
  json_check "git_commit null when built outside a checkout" "$T/g.json" "r['environment']['git_commit'] is None"
fi
( cd / && "$BIN" benchmark "${M[@]}" "${Q[@]}" --batch-size 1 --json "$T/g2.json" >/dev/null 2>&1 )
json_check "the same git_commit from /" "$T/g2.json" \
  "r['environment']['git_commit'] == json.load(open('$T/g.json'))['environment']['git_commit']"

# 3. long lists: read whole (600+ characters), too many sizes refused naming the limit
long_sweep=$("$PY" -c "print(','.join(['1'] * 299 + ['2']))")
[ ${#long_sweep} -gt 511 ] || bad "test setup: the sweep list is only ${#long_sweep} characters"
run_cmd benchmark "${M[@]}" "${Q[@]}" --sweep "$long_sweep" --json "$T/s.json"
[ "$RC" -eq 0 ] && json_check "a ${#long_sweep}-character --sweep is read whole (batch 2 at its end measured)" "$T/s.json" \
  "sorted({x['batch_size'] for x in r['results']}) == [1, 2]" || bad "long --sweep (rc=$RC, $(head -c 300 "$T/err"))"
long_backends=$("$PY" -c "print(','.join(['native-cpu'] * 60 + ['ort-cpu']))")
run_cmd benchmark "${M[@]}" --iterations 20 --warmup 2 --no-search --no-floor --batch-size 1 --backends "$long_backends" \
  --json "$T/b.json"
[ "$RC" -eq 0 ] && json_check "a ${#long_backends}-character --backends is read whole (ort-cpu at its end runs)" "$T/b.json" \
  "sorted({x['backend'] for x in r['results']}) == ['native-cpu', 'ort-cpu']" || bad "long --backends (rc=$RC, $(head -c 300 "$T/err"))"
run_cmd benchmark "${M[@]}" --iterations 20 --warmup 2 --no-floor --batch-size 1 --backends native-cpu --search-games 1 \
  --search-playouts 8 --search-batch "$long_sweep" --json "$T/sb.json"
[ "$RC" -eq 0 ] && json_check "a ${#long_sweep}-character --search-batch is read whole" "$T/sb.json" \
  "sorted({x['batch_size'] for x in r['search']}) == [1, 2]" || bad "long --search-batch (rc=$RC, $(head -c 300 "$T/err"))"
many=$(seq -s, 1 33)
expect_fail "--sweep with 33 sizes refused, naming the limit" 2 "^neural_rps benchmark: --sweep takes at most 32 different batch sizes" -- \
  benchmark "${M[@]}" "${Q[@]}" --sweep "$many"
expect_fail "--search-batch with 33 sizes refused, naming the limit" 2 "^neural_rps benchmark: --search-batch takes at most 32 different" -- \
  benchmark "${M[@]}" "${Q[@]}" --search-batch "$many"
expect_fail "32 sizes with repeats are fine, a 33rd is not" 2 "at most 32 different" -- \
  benchmark "${M[@]}" "${Q[@]}" --sweep "$(seq -s, 1 32),1,2,3,$long_sweep,33"
expect_fail "a backend name longer than any is refused, not cut to a known one" 2 "backend name 'native-cpuxxxxxxxx.*' is longer than 31" -- \
  benchmark "${M[@]}" "${Q[@]}" --backends "native-cpu$(printf 'x%.0s' $(seq 60))"
expect_fail "an over-long --int-range is refused" 2 "int-range expects LO,HI" -- \
  benchmark "${M[@]}" "${Q[@]}" --int-range "0,$(printf '0%.0s' $(seq 200))1"

# 4. --plot: the name is never gnuplot (or shell) syntax
if command -v gnuplot >/dev/null 2>&1; then
  mkdir -p "$T/plot" && cd "$T/plot" || exit 1
  name=$'x\');system("touch pwned-1");print(\'$(touch pwned-2)`touch pwned-3`"\n|touch pwned-4\\.png'
  run_cmd benchmark "${M[@]}" "${Q[@]}" --sweep 1,8 --plot "$name"
  [ "$RC" -eq 0 ] && ok "--plot with quotes, \$(...), backticks, | and a newline in the name: exit 0" || bad "--plot odd name (rc=$RC, $(head -c 300 "$T/err"))"
  [ -z "$(ls pwned-* 2>/dev/null)" ] && ok "--plot: nothing in the name ran" || bad "--plot: the name ran commands: $(ls pwned-*)"
  [ -s "$name" ] && [ "$(head -c 8 "$name" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] &&
    ok "--plot: a PNG under exactly that name" || bad "--plot: no PNG under the name ($(ls -A | tr '\n' '|'))"
  [ "$(find . -mindepth 1 -maxdepth 1 ! -name .cache -printf x | wc -c)" -eq 1 ] && ok "--plot: no other file (and no temp file) left" ||
    bad "--plot: files $(ls -A | tr '\n' '|')"
  pngw() { od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}'; }  # IHDR width
  run_cmd benchmark "${M[@]}" "${Q[@]}" --sweep 1,8 --plot "$T/two.png"
  [ "$RC" -eq 0 ] && [ "$(pngw "$T/two.png")" = 1400 ] && ok "--plot --no-search: two panels (1400 px)" ||
    bad "--plot --no-search (rc=$RC, width $(pngw "$T/two.png" 2>/dev/null))"
  run_cmd benchmark "${M[@]}" --iterations 20 --warmup 2 --no-floor --backends native-cpu --sweep 1,8 --search-games 1 \
    --search-playouts 8 --search-batch 1,4 --plot "$T/three.png"
  [ "$RC" -eq 0 ] && [ "$(pngw "$T/three.png")" = 2100 ] && ok "--plot with search rows: a third panel (2100 px)" ||
    bad "--plot with search rows (rc=$RC, width $(pngw "$T/three.png" 2>/dev/null), $(head -c 300 "$T/err"))"
  run_cmd benchmark "${M[@]}" "${Q[@]}" --sweep 1,8 --plot /dev/null
  [ "$RC" -eq 0 ] && [ -c /dev/null ] && ok "--plot /dev/null" || bad "--plot /dev/null (rc=$RC, $(head -c 300 "$T/err"))"
  cd "$T/elsewhere" || exit 1
else
  skip "--plot tests: gnuplot not installed"
fi

# 4b. --csv: the inside-search rows go to FILE-search.csv (header, one line per JSON search row), only when measured
run_cmd benchmark "${M[@]}" --iterations 50 --warmup 2 --no-floor --backends native-cpu --batch-size 1 --search-games 2 \
  --search-playouts 8 --search-batch 1,4 --csv "$T/sr.csv" --json "$T/sr.json"
hdr="backend,eval,nets,threads,playouts,batch_size,games,moves,total_s,move_mean_us,move_min_us,move_p10_us,move_p50_us,move_p90_us,move_p99_us,move_p999_us,move_max_us,move_stdev_us,playouts_per_s,evals_per_s,eval_calls,eval_states,mean_eval_batch,eval_time_share_pct,reference,same_games_as_reference,interrupted"
[ "$RC" -eq 0 ] && [ "$(head -1 "$T/sr-search.csv")" = "$hdr" ] && ok "--csv: search rows in sr-search.csv, documented header" ||
  bad "--csv search rows (rc=$RC, $(head -1 "$T/sr-search.csv" 2>&1 | head -c 200))"
json_check "--csv: the search CSV has one line per JSON search row" "$T/sr.json" \
  "len(r['search']) >= 2 and len(r['search']) == sum(1 for _ in open('$T/sr-search.csv')) - 1"
"$PY" - "$T/sr-search.csv" "$T/sr.json" <<'PYEOF' && ok "--csv: search CSV values match the JSON" || bad "--csv: search CSV values differ from the JSON"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
js = json.load(open(sys.argv[2]))["search"]
assert [(c["backend"], c["eval"], int(c["batch_size"]), int(c["threads"]), int(c["moves"])) for c in rows] == \
       [(j["backend"], j["eval"], j["batch_size"], j["threads"], j["moves"]) for j in js]
for c, j in zip(rows, js):
    assert abs(float(c["playouts_per_s"]) - j["playouts_per_s"]) <= 0.1 + 1e-6 * j["playouts_per_s"]
    assert (c["same_games_as_reference"] == "") == (j["same_games_as_reference"] is None)
PYEOF
run_cmd benchmark "${M[@]}" "${Q[@]}" --batch-size 1 --csv "$T/ns.csv"
[ "$RC" -eq 0 ] && [ -s "$T/ns.csv" ] && [ ! -e "$T/ns-search.csv" ] && ok "--csv --no-search: no search CSV" ||
  bad "--csv --no-search (rc=$RC, $(ls "$T" | tr '\n' ' '))"
expect_fail "--csv's search file is checked like any output" 2 "^neural_rps benchmark: --csv \(search rows\) .*c1-search.csv is the same file as --json" -- \
  benchmark "${M[@]}" --iterations 20 --no-floor --backends native-cpu --batch-size 1 --csv "$T/c1.csv" --json "$T/c1-search.csv"

# 5. info: control characters from the file are escaped in the text output
if "$PY" - "$T/p.onnx" "$T/esc.onnx" <<'PYEOF' 2>"$T/pyerr"
import sys, onnx
m = onnx.load(sys.argv[1])
m.producer_name = "evil\x1b]0;title\x07\x1b[31m"
m.producer_version = "1\r2"
p = m.metadata_props.add(); p.key = "note\x1b[2J"; p.value = "line1\nline2 \\ \u009b31m \u00e9"
onnx.save(m, sys.argv[2])
PYEOF
then
  run_cmd info "$T/esc.onnx"
  [ "$RC" -eq 0 ] && ! grep -q $'\x1b' "$T/out" && ! grep -q $'\r' "$T/out" && ! grep -q $'\x07' "$T/out" &&
    ! grep -q $'\xc2\x9b' "$T/out" && ok "info: no raw control character reaches the terminal" || bad "info: raw control characters (rc=$RC: $(cat -v "$T/out" | head -c 400))"
  grep -qF 'producer:    evil\x1b]0;title\x07\x1b[31m 1\r2' "$T/out" && ok "info: producer escaped" || bad "info: producer ($(grep producer "$T/out" | cat -v))"
  grep -qF ' note\x1b[2J=line1\nline2 \\ \u009b31m é' "$T/out" && [ "$(grep -c '' "$T/out")" -eq "$("$BIN" info "$T/p.onnx" | grep -c '')" ] &&
    ok "info: metadata escaped, newline included (one line)" || bad "info: metadata ($(grep -A1 metadata "$T/out" | cat -v))"
  run_cmd info "$T/esc.onnx" --json
  json_check "info --json keeps the strings exact" "$T/out" \
    "r['producer'] == 'evil\x1b]0;title\x07\x1b[31m' and r['metadata']['note\x1b[2J'] == 'line1\nline2 \\\\ \u009b31m \u00e9'"
else
  skip "info escape tests: python onnx not available ($(tail -1 "$T/pyerr"))"
fi

# 6. replay: a record with a key twice is refused, naming the file, the line and the key
good='{"deck_size":21,"hand_size":5,"max_rounds":10,"hands":[[0,1,2,0,1],[2,2,1,0,0]],"moves":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8]]'
{ echo "$good}"; echo "$good,\"winner\":1,\"winner\":2}"; } >"$T/dup.jsonl"  # cJSON would read 1, Python and jq 2
expect_fail "replay refuses a duplicate key" 1 "^neural_rps replay: $T/dup.jsonl: line 2: duplicate key \"winner\"" -- replay "$T/dup.jsonl"
echo "${good/'"hands":'/'"hands":[[1,1,1,1,1],[0,0,0,0,0]],"hands":'}}" >"$T/dup2.jsonl"
expect_fail "replay refuses a second \"hands\" (the one Python would read)" 1 "dup2.jsonl: line 1: duplicate key \"hands\"" -- replay "$T/dup2.jsonl"

# 8. closed standard descriptors: the report cannot land in another file
# (with ort-cpu and --profile, ONNX Runtime's profile file took descriptor 1 and the report went into it, exit 0)
"$BIN" benchmark "${M[@]}" "${Q[@]}" --backends native-cpu,ort-cpu --batch-size 1 --json "$T/c.json" --profile "$T/prof.json" \
  >&- 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] && grep -q "cannot write standard output" "$T/err" &&
  ok "stdout closed: exit $rc, one line" || bad "stdout closed (rc=$rc, stderr: $(head -c 300 "$T/err" | tr '\n' '|'))"
json_check "stdout closed: the JSON is intact" "$T/c.json" "r['results']"
json_check "stdout closed: ONNX Runtime's profile is intact" "$T/prof.json" "isinstance(r, list) and r"
! grep -q "Performance Comparison" "$T/c.json" "$T"/prof*.json && ok "stdout closed: the report went into no file" || bad "stdout closed: the report is in a file"
"$BIN" benchmark "${M[@]}" "${Q[@]}" --batch-size 1 --json "$T/c2.json" >"$T/out" 2>&-; rc=$?
[ "$rc" -eq 0 ] && grep -q "Performance Comparison" "$T/out" && json_check "stderr closed: exit 0, report and JSON" "$T/c2.json" "r['results']" ||
  bad "stderr closed (rc=$rc)"
"$BIN" benchmark "${M[@]}" "${Q[@]}" --batch-size 1 <&- >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && grep -q "Performance Comparison" "$T/out" && [ ! -s "$T/err" ] && ok "stdin closed: exit 0" || bad "stdin closed (rc=$rc)"
"$BIN" info "$T/p.onnx" >&- 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "^neural_rps info: cannot write standard output" "$T/err" && ok "info with stdout closed: exit 1" || bad "info with stdout closed (rc=$rc)"

# the limit in the report: an FMA peak per kernel set, each family model's FLOPs per sample, GFLOP/s and %peak per
# CPU row (81-64-9: 2 x (81 x 64 + 64 x 9) FLOPs); a model outside the family has none of them
run_cmd benchmark "${M[@]}" "${Q[@]}" --model-path "$ROOT/tests/fixtures/any_models/two_inputs.onnx" \
  --backends native-cpu,ort-cpu --json "$T/peak.json" --csv "$T/peak.csv"
"$PY" - "$T/peak.json" "$T/peak.csv" <<'PYEOF' && ok "FMA peak, model FLOPs, gflops and pct_of_cpu_peak in JSON and CSV" || bad "limit fields: $(head -c 300 "$T/err")"
import csv, json, sys
d = json.load(open(sys.argv[1]))
peaks = d["environment"]["cpu_peak_gflops_per_core"]
assert peaks and all(p["gflops"] > 0 and p["lanes"] in (4, 8, 16) for p in peaks), peaks
models = d["environment"]["models"]
fam = [m for m in models.values() if m["architecture"]]
assert fam and all(m["flops_per_sample"] > 0 for m in fam), models
assert any(m["flops_per_sample"] is None for m in models.values()), "the non-family model has null FLOPs"
for r in d["results"]:
    f = models[r["model"]]["flops_per_sample"]
    if f:
        g = f * r["samples_per_s"] / 1e9
        assert abs(r["gflops"] - g) <= 1e-6 * g, (r["gflops"], g)
        pct = 100 * g / (r["threads"] * peaks[0]["gflops"])
        assert abs(r["pct_of_cpu_peak"] - pct) <= 1e-6 * pct, (r["pct_of_cpu_peak"], pct)
    else:
        assert "gflops" not in r and "pct_of_cpu_peak" not in r, r
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(d["results"]) and all(("gflops" in x and "pct_of_cpu_peak" in x) for x in rows)
assert any(x["gflops"] == "" for x in rows) and any(x["gflops"] != "" for x in rows)
PYEOF
grep -qE '^  cpu peak  GFLOP/s per core \(FMA probe\): ' "$T/out" && ok "the header's cpu peak line" || bad "no cpu peak line"

# native-cpu with --threads 2: the pool is used from a measured batch on (said in the provider line), results valid
run_cmd benchmark "${M[@]}" "${Q[@]}" --threads 2 --sweep 1,512 --json "$T/thr.json"
"$PY" - "$T/thr.json" <<'PYEOF' && ok "native-cpu --threads 2: 2 threads from a batch on, validated" || bad "native-cpu --threads 2 (rc=$RC): $(grep -m1 'native C' "$T/out")"
import json, re, sys
d = json.load(open(sys.argv[1]))
rows = [r for r in d["results"] if r["backend"] == "native-cpu"]
assert rows and all(r["validation"]["ok"] for r in rows)
m = re.search(r"2 threads from batch (\d+)", rows[0]["provider"])
assert m and 1 < int(m.group(1)) <= 512 and all(r["threads"] == 2 for r in rows), rows[0]["provider"]
PYEOF

summary cli_reports
