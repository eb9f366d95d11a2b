#!/usr/bin/env bash
# Output files and signals (docs/reliability.md): every --json/--csv/--record path goes through one mechanism
# (src/util/outfile.c) and every command handles SIGINT/SIGTERM/SIGHUP/SIGPIPE/SIGXFSZ (src/util/signals.c).
#   a FIFO as output is opened only when the data is ready (a reader gets everything; no reader: one line, no hang);
#   a symlink output writes its target and keeps the link; /dev/stdout is written through descriptor 1 (and, as
#   root, is still a symlink afterwards); an output that is an input, or two outputs on one file, are refused up
#   front with one usage line naming both flags (exit 2) and nothing touched; `| head -1` still writes --json
#   completely and exits 141; `ulimit -f` leaves no temp file and one line (exit 153); a 251- and a 255-byte output
#   name work; SIGTERM during a benchmark saves the table so far and exits 143 without temp files; SIGTERM to a
#   command that does not poll (play) exits 143 at once with one line; a bad --record path is exit 2 everywhere.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
Q=(--iterations 20 --warmup 2 --no-search --backends native-cpu)
A=(--games 2 --p1 random --p2 random)
mkdir -p "$T/cwd" "$T/m"
cp "$ROOT/models/rps_policy.onnx" "$ROOT/models/rps_value.onnx" "$T/m/"
M=(--model-path "$T/m/rps_policy.onnx" --value-model-path "$T/m/rps_value.onnx")
# bench ARGS...: a quick benchmark from $T/cwd (its input cache goes to $T/cwd/.cache), stdout $T/out, stderr $T/err
bench() { ( cd "$T/cwd" && exec "$BIN" benchmark "${M[@]}" "${Q[@]}" "$@" ) >"$T/out" 2>"$T/err"; RC=$?; }
one_line() { [ "$(grep -c '' "$T/err")" -eq 1 ] && grep -qE "$1" "$T/err"; }
json_ok() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['results']" "$1" 2>/dev/null; }
err() { head -c 300 "$T/err" | tr '\n' '|'; }

# ---- FIFOs: opened only when the data is ready ----
mkfifo "$T/fifo"
timeout 20 cat "$T/fifo" >"$T/fifo.out" & READER=$!
sleep 0.2
( cd "$T/cwd" && exec timeout 20 "$BIN" benchmark "${M[@]}" "${Q[@]}" --json "$T/fifo" ) >"$T/out" 2>"$T/err"; RC=$?
wait $READER
[ "$RC" -eq 0 ] && json_ok "$T/fifo.out" && ok "--json FIFO with a reader: the reader gets the whole JSON" \
  || bad "--json FIFO with a reader (rc=$RC, $(wc -c <"$T/fifo.out") bytes read, $(err))"
[ -p "$T/fifo" ] && ok "the FIFO is still a FIFO" || bad "the FIFO was replaced"
( cd "$T/cwd" && exec timeout 20 "$BIN" benchmark "${M[@]}" "${Q[@]}" --json "$T/fifo" ) >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 1 ] && one_line "fifo: cannot write: no process is reading the FIFO" && ok "--json FIFO without a reader: one line, no hang" \
  || bad "--json FIFO without a reader (rc=$RC, $(err))"
timeout 20 cat "$T/fifo" >"$T/fifo.out" & READER=$!
sleep 0.2
timeout 20 "$BIN" arena "${A[@]}" --record "$T/fifo" >"$T/out" 2>"$T/err"; RC=$?
wait $READER
[ "$RC" -eq 0 ] && [ "$(grep -c '"moves"' "$T/fifo.out")" -eq 2 ] && ok "arena --record FIFO: both games arrive" \
  || bad "arena --record FIFO (rc=$RC, $(err))"

# ---- symlinks: the target is written, the link kept ----
ln -s real.json "$T/link.json"
bench --json "$T/link.json"
[ "$RC" -eq 0 ] && [ -L "$T/link.json" ] && [ "$(readlink "$T/link.json")" = real.json ] && json_ok "$T/real.json" \
  && ok "--json through a symlink writes its target, the link is kept" || bad "--json symlink (rc=$RC, $(err))"
bench --json "$T/link.json"
[ "$RC" -eq 0 ] && [ -L "$T/link.json" ] && json_ok "$T/real.json" && ok "... and replaces an existing target" || bad "--json symlink, second run"
ln -s "$T/sub/../real.csv" "$T/dangling.csv" # a symlink naming a file to create
mkdir -p "$T/sub"
bench --csv "$T/dangling.csv"
[ "$RC" -eq 0 ] && [ -L "$T/dangling.csv" ] && [ "$(head -c 7 "$T/real.csv")" = backend ] && ok "--csv through a dangling symlink creates its target" \
  || bad "--csv dangling symlink (rc=$RC, $(err))"

# ---- /dev/stdout: descriptor 1, in place ----
bench --json /dev/stdout
"$PY" -c "import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t[t.index('\n{')+1:]); assert d['results']" "$T/out" 2>/dev/null &&
  [ "$RC" -eq 0 ] && grep -q "^neural_rps benchmark" "$T/out" && ok "--json /dev/stdout > FILE: the table, then the JSON" \
  || bad "--json /dev/stdout (rc=$RC, $(err))"
( cd "$T/cwd" && exec "$BIN" benchmark "${M[@]}" "${Q[@]}" --json /dev/stdout ) 2>"$T/err" | cat >"$T/out"
grep -q '"results"' "$T/out" && ok "--json /dev/stdout into a pipe" || bad "--json /dev/stdout into a pipe ($(err))"
"$BIN" arena "${A[@]}" --record /dev/stdout >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 0 ] && [ "$(grep -c '"moves"' "$T/out")" -eq 2 ] && grep -q "^arena:" "$T/out" && ok "arena --record /dev/stdout > FILE" \
  || bad "arena --record /dev/stdout (rc=$RC, $(err))"
if [ "$(id -u)" -eq 0 ]; then
  [ -L /dev/stdout ] && ok "as root: /dev/stdout is still a symlink" || bad "as root: /dev/stdout was replaced"
  left=$(ls -d /dev/*.tmp.* 2>/dev/null | tr '\n' ' ')
  [ -z "$left" ] && ok "as root: no temp file in /dev" || bad "temp files in /dev: $left"
else skip "not root: /dev/stdout cannot be replaced anyway"; fi

# ---- an output that is an input, two outputs on one file: refused up front ----
sum() { sha256sum "$1" | cut -c1-64; }
before=$(sum "$T/m/rps_policy.onnx")
expect_fail "benchmark --csv naming the model" 2 "^neural_rps benchmark: --csv .*rps_policy\.onnx is also the input of --model-path" -- \
  benchmark "${M[@]}" "${Q[@]}" --csv "$T/m/rps_policy.onnx"
expect_fail "benchmark --json naming the model differently" 2 "benchmark: --json .* is also the input of --model-path" -- \
  benchmark "${M[@]}" "${Q[@]}" --json "$T/m/../m/./rps_policy.onnx"
ln -s m/rps_value.onnx "$T/alias.onnx"
expect_fail "benchmark --csv through a symlink to the value model" 2 "benchmark: --csv .*alias\.onnx is also the input of --value-model-path" -- \
  benchmark "${M[@]}" "${Q[@]}" --csv "$T/alias.onnx"
expect_fail "arena --record naming a model" 2 "^neural_rps arena: --record .*rps_policy\.onnx is also the input of --p1" -- \
  arena --games 2 --p1 "net,policy=$T/m/rps_policy.onnx" --p2 random --record "$T/m/rps_policy.onnx"
expect_fail "arena --record naming nets=DIR's value net" 2 "^neural_rps arena: --record .* is also the input of --p2" -- \
  arena --games 2 --p1 random --p2 "mcts-net:8,nets=$T/m" --record "$T/m/rps_value.onnx"
expect_fail "play --record naming its agent's model" 2 "^neural_rps play: --record .* is also the input of --agent" -- \
  play --agent "net,policy=$T/m/rps_policy.onnx" --seed 1 --record "$T/m/rps_policy.onnx" </dev/null
expect_fail "import-go --out naming its input" 2 "^neural_rps import-go: --out .* is also the input of FILE\.model" -- \
  import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_policy.model" --out "$ROOT/tests/fixtures/../fixtures/rps_h64_g100_e1_policy.model"
[ "$(sum "$T/m/rps_policy.onnx")" = "$before" ] && ok "the model is untouched" || bad "the model was changed"
expect_fail "--json F --csv F" 2 "^neural_rps benchmark: --csv .*same\.out is the same file as --json .*same\.out" -- \
  benchmark "${M[@]}" "${Q[@]}" --json "$T/same.out" --csv "$T/same.out"
expect_fail "--json F --csv ./F" 2 "benchmark: --csv .* is the same file as --json" -- \
  benchmark "${M[@]}" "${Q[@]}" --json "$T/same.out" --csv "$T/./same.out"
[ ! -e "$T/same.out" ] && ok "nothing written for the refused runs" || bad "same.out was written"
bench --json /dev/null --csv /dev/null
[ "$RC" -eq 0 ] && ok "/dev/null twice is fine" || bad "/dev/null twice (rc=$RC, $(err))"

# ---- SIGPIPE on stdout: the files are still written, exit 141 ----
rm -f "$T/p.json"
( cd "$T/cwd" && exec "$BIN" benchmark "${M[@]}" --iterations 300 --warmup 2 --no-search --backends native-cpu \
  --json "$T/p.json" --csv "$T/p.csv" ) 2>"$T/err" | head -1 >"$T/head"; ST=("${PIPESTATUS[@]}")
[ "${ST[0]}" -eq 141 ] && json_ok "$T/p.json" && [ "$(grep -c '' "$T/p.csv")" -ge 2 ] && ok "benchmark --json F | head -1: F and the CSV complete, exit 141" \
  || bad "| head -1 (status ${ST[*]}, $(err))"
[ "$(cat "$T/head")" = "neural_rps benchmark" ] && ok "head got the first line" || bad "head got '$(cat "$T/head")'"
one_line "standard output was closed \(SIGPIPE\)" && ok "| head -1: one line on stderr" || bad "| head -1: stderr $(err)"
rm -f "$T/p.json"
( cd "$T/cwd" && exec "$BIN" benchmark "${M[@]}" "${Q[@]}" --json "$T/p.json" ) 2>"$T/err" | true; ST=("${PIPESTATUS[@]}")
[ "${ST[0]}" -eq 141 ] && json_ok "$T/p.json" && ok "benchmark --json F | true: F complete, exit 141" || bad "| true (status ${ST[*]}, $(err))"
"$BIN" arena "${A[@]}" --record "$T/pipe.jsonl" 2>"$T/err" | true; ST=("${PIPESTATUS[@]}")
[ "${ST[0]}" -eq 141 ] && [ "$(grep -c '' "$T/pipe.jsonl")" -eq 2 ] && ok "arena --record F | true: F written, exit 141" \
  || bad "arena | true (status ${ST[*]}, $(err))"
no_tmp "$T" "SIGPIPE runs"

# ---- ulimit -f: no temp file, one line, exit 153 ----
rm -rf "$T/cwd/.cache"
( cd "$T/cwd" && ulimit -f 1 && exec "$BIN" benchmark "${M[@]}" "${Q[@]}" --json "$T/big.json" ) >/dev/null 2>"$T/err"; RC=$?
[ "$RC" -eq 153 ] && one_line "big\.json: write failed: File too large" && [ ! -e "$T/big.json" ] \
  && ok "benchmark under ulimit -f 1: one line, exit 153, no JSON" || bad "benchmark under ulimit -f (rc=$RC, $(err))"
( ulimit -f 1 && exec "$BIN" arena --games 40 --p1 random --p2 random --record "$T/big.jsonl" ) >/dev/null 2>"$T/err"; RC=$?
[ "$RC" -eq 153 ] && one_line "big\.jsonl: write failed: File too large" && [ ! -e "$T/big.jsonl" ] \
  && ok "arena under ulimit -f 1: one line, exit 153, no record" || bad "arena under ulimit -f (rc=$RC, $(err))"
no_tmp "$T" "ulimit -f"
rm -rf "$T/cwd/.cache"
( cd "$T/cwd" && ulimit -f 8 && exec "$BIN" benchmark --model-path "$T/m/rps_policy.onnx" "${Q[@]}" --batch-size 256 --json "$T/small.json" ) >/dev/null 2>"$T/err"; RC=$?
[ "$RC" -eq 0 ] && json_ok "$T/small.json" && [ ! -s "$T/err" ] && ok "a cache write past ulimit -f does not stop the run (the JSON fits)" \
  || bad "cache past ulimit -f (rc=$RC, $(err))"
no_tmp "$T/cwd" "the input cache under ulimit -f"

# ---- long names ----
for n in 246 250; do
  name=$(printf 'n%.0s' $(seq $n)).json
  bench --json "$T/$name"
  [ "$RC" -eq 0 ] && json_ok "$T/$name" && ok "a $((n + 5))-byte output name" || bad "a $((n + 5))-byte name (rc=$RC, $(err))"
  rm -f "$T/$name"
done
no_tmp "$T" "long names"

# ---- SIGTERM / SIGHUP ----
ign=$(awk '/^SigIgn/ {print $2}' /proc/$$/status)
for s in TERM:143 HUP:129; do
  sig=${s%:*} want=${s#*:}
  if [ "$sig" = HUP ] && (( 0x$ign & 1 )); then skip "SIGHUP is ignored here (nohup): it stays ignored"; continue; fi
  start_bg "$T/b.out" "$T/b.err" benchmark "${M[@]}" --duration 20 --warmup 5 --no-search --backends native-cpu \
    --json "$T/b.json" --csv "$T/b.csv"
  if wait_for "$T/b.out" "^  timing" 60; then sleep 1; fi
  kill -$sig $PID; wait $PID; rc=$?
  [ "$rc" -eq "$want" ] && grep -q "Interrupted (SIG$sig): the table shows what was measured" "$T/b.out" \
    && ok "benchmark: SIG$sig while timing exits $want with the table so far" || bad "benchmark SIG$sig (rc=$rc, $(head -c 300 "$T/b.err"))"
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['interrupted'] is True and d['results']" "$T/b.json" \
    && [ "$(head -c 7 "$T/b.csv")" = backend ] && ok "benchmark: SIG$sig: JSON and CSV complete, marked interrupted" || bad "benchmark SIG$sig: files"
  no_tmp "$T" "benchmark SIG$sig"
  rm -f "$T/b.json" "$T/b.csv"
done
mkfifo "$T/stdin"
exec 7<>"$T/stdin" # a writer that never writes: play waits for a move
"$BIN" play --agent random --seed 1 --record "$T/play.jsonl" <"$T/stdin" >"$T/p.out" 2>"$T/p.err" & PID=$!
wait_for "$T/p.out" "your move" 20
kill -TERM $PID; wait $PID; rc=$?
exec 7>&-
[ "$rc" -eq 143 ] && [ "$(grep -c '' "$T/p.err")" -eq 1 ] && grep -q "^neural_rps play: stopped by SIGTERM" "$T/p.err" && [ ! -e "$T/play.jsonl" ] \
  && ok "play: SIGTERM exits 143 at once with one line" || bad "play SIGTERM (rc=$rc, $(head -c 300 "$T/p.err"))"

# ---- a bad --record path is a usage error for every command ----
expect_fail "arena --record in a missing folder" 2 "^neural_rps arena: --record .*nodir/g\.jsonl: cannot write: folder .* does not exist" -- \
  arena "${A[@]}" --record "$T/nodir/g.jsonl"
expect_fail "play --record in a missing folder" 2 "^neural_rps play: --record .*nodir/g\.jsonl: cannot write" -- \
  play --agent random --seed 1 --record "$T/nodir/g.jsonl" </dev/null
expect_fail "benchmark --json in a missing folder" 2 "^neural_rps benchmark: --json .*nodir/b\.json: cannot write" -- \
  benchmark "${M[@]}" "${Q[@]}" --json "$T/nodir/b.json"
expect_fail "import-go --out in a missing folder" 2 "^neural_rps import-go: --out .*nodir/x\.onnx: cannot write" -- \
  import-go "$ROOT/tests/fixtures/rps_h64_g100_e1_policy.model" --out "$T/nodir/x.onnx"

summary cli_outputs
