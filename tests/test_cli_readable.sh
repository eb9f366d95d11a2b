#!/usr/bin/env bash
# Output a person can read: the benchmark's stdout within 100 columns off a terminal (the default run and a model
# whose skip reasons are long), --wide with every column, the training generation line within 100 columns,
# the plot rendered, the compact table's columns.
. "$(dirname "$0")/cli_lib.sh"
unset COLUMNS   # the real default: 100 columns off a terminal
cd "$T" || exit 1
ln -s "$ROOT/models" models   # the default models, positions cached in $T/.cache
Q=(--iterations 30 --warmup 3 --seed 5)
# longest_line FILE: the widest line's length in characters (UTF-8 aware)
longest_line() { "${PYTHON:-/usr/bin/python3}" -c 'import sys; print(max([len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")] + [0]))' "$1"; }

run_cmd benchmark "${Q[@]}" --search-games 2 --search-playouts 16
w=$(longest_line "$T/out")
[ "$RC" -eq 0 ] && [ "$w" -le 100 ] && ok "default run: no stdout line over 100 columns (widest $w)" ||
  bad "default run: widest stdout line $w (rc=$RC): $(awk 'length > 100' "$T/out" | head -3 | tr '\n' '|')"
head -1 < <(grep -E '^backend +model +batch ' "$T/out") | grep -qE '^backend +model +batch +p50_us +p99_us +spread +samples/s +%peak +vs_ort +valid$' &&
  ok "compact table: backend model batch p50 p99 spread samples/s %peak vs_ort valid" || bad "compact header: $(grep -E '^backend' "$T/out" | head -1)"
grep -qE '^ort-cpu +policy +64 .* 1\.00x ok ' "$T/out" && grep -qE '^native-cpu +policy +64 .* [0-9]+\.[0-9]{2}x ok ' "$T/out" &&
  ok "compact rows: the ratio to ort-cpu and the validation last" || bad "compact rows: $(grep -E '^native-cpu' "$T/out" | head -2 | tr '\n' '|')"
grep -qE '^GPU results absent: ' "$T/out" && ok "the GPU-absent reason, wrapped" || skip "GPU results absent line (a GPU here?)"
! grep -q 'CV > 25%' "$T/out" && ok "no CV warning" || bad "the old CV warning is still printed"
grep -q '^Inside MCTS search' "$T/out" && ok "inside-search table present" || bad "inside-search table missing"

run_cmd benchmark --model-path "$ROOT/tests/fixtures/any_models/two_inputs.onnx" "${Q[@]}"
w=$(longest_line "$T/out")
[ "$RC" -eq 0 ] && [ "$w" -le 100 ] && ok "two_inputs.onnx (long skip reasons): no line over 100 columns (widest $w)" ||
  bad "two_inputs.onnx: widest line $w: $(awk 'length > 100' "$T/out" | head -3 | tr '\n' '|')"
grep -q 'native-cpu: not supported: ' "$T/out" && ok "the skip reason is still there" || bad "skip reason lost"

COLUMNS=60 run_cmd benchmark --model-path "$ROOT/tests/fixtures/any_models/two_inputs.onnx" "${Q[@]}" --no-floor
w=$(grep -vE '^(backend|ort-|native-)' "$T/out" | awk '{ if (length > m) m = length } END { print m + 0 }')
[ "$RC" -eq 0 ] && [ "$w" -le 60 ] && ok "COLUMNS=60: notes wrapped at 60 outside the table (widest $w)" || bad "COLUMNS=60: widest $w"

run_cmd benchmark "${Q[@]}" --wide --no-search --sweep 4
grep -qE '^backend +model +batch +create_ms +first_us +mean_us +cpu_us +min_us +p50_us +p90_us +p99_us +p99\.9_us +max_us +stdev_us +CV% +us/sample +samples/s +GFLOP/s +%peak +valid$' "$T/out" &&
  grep -qE '^native-cpu +policy +4 .* ok ' "$T/out" && ok "--wide: every column, valid last" || bad "--wide: $(grep -E '^backend' "$T/out" | head -1)"
run_cmd benchmark "${Q[@]}" --wide --sweep 1 --search-games 1 --search-playouts 8
grep -qE '^backend +nets +batch +thr +games +moves +mean_us +p50_us +p90_us +p99_us +max_us +playouts/s +evals/s +avg_batch +eval% +same games$' "$T/out" &&
  ok "--wide: the inside-search table with every column" || bad "--wide search table: $(grep -E '^backend +nets' "$T/out")"

if command -v gnuplot >/dev/null 2>&1; then
  run_cmd benchmark "${Q[@]}" --no-search --sweep 1,4,16 --plot "$T/p.png"
  [ "$RC" -eq 0 ] && [ -s "$T/p.png" ] && [ "$(head -c 4 "$T/p.png" | od -An -tx1 | tr -d ' ')" = "89504e47" ] &&
    ok "--plot: a non-empty PNG" || bad "--plot (rc=$RC, $(head -c 200 "$T/err"))"
else skip "--plot (no gnuplot)"; fi

# an interrupted row with a 15-character model label: marked "1*" with a footnote, no table line over 100 columns,
# at COLUMNS=80 the notes wrapped at 80
cp "$ROOT/tests/fixtures/any_models/two_inputs.onnx" "$T/abcdefghijklmno.onnx"
for cols in 80 100; do
  COLUMNS=$cols "$BIN" benchmark --model-path "$T/abcdefghijklmno.onnx" --duration 20 --warmup 3 --backends ort-cpu \
    --no-floor --sweep 1 >"$T/int$cols" 2>"$T/interr" & pid=$!
  for _ in $(seq 50); do sleep 0.1; grep -q '^  session' "$T/int$cols" 2>/dev/null && break; done
  sleep 1; kill -INT $pid; wait $pid; rc=$?
  tw=$(grep -E '^(backend|ort-[a-z]+) ' "$T/int$cols" | awk '{ if (length > m) m = length } END { print m + 0 }')
  nw=$(grep -vE '^(backend|ort-[a-z]+) ' "$T/int$cols" | awk '{ if (length > m) m = length } END { print m + 0 }')
  [ "$rc" -eq 130 ] && grep -qE '^ort-cpu +abcdefghijklmno +1\* ' "$T/int$cols" && grep -q '^\* interrupted: ' "$T/int$cols" &&
    [ "$tw" -le 100 ] && [ "$nw" -le "$cols" ] &&
    ok "COLUMNS=$cols: interrupted row marked '1*' with a footnote, table within 100 (widest $tw), notes within $cols" ||
    bad "COLUMNS=$cols interrupted row (rc=$rc, table $tw, notes $nw): $(grep -E '^(backend|ort-|\*)' "$T/int$cols" | tr '\n' '|') wide: $(awk -v c=$cols 'length > c' "$T/int$cols" | grep -vE '^(backend|ort-[a-z]+) ' | head -3)"
done

# progress while the self-play inputs are made: only when stderr is a terminal (a fresh folder: nothing cached)
mkdir -p "$T/fresh" && ln -s "$ROOT/models" "$T/fresh/models"
( cd "$T/fresh" && "$BIN" benchmark "${Q[@]}" --no-search --backends native-cpu --sweep 1,64 --seed 77 >"$T/out" 2>"$T/err" ); rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && grep -q 'self-play games (opening to last move)' "$T/out" &&
  ok "self-play inputs made off a terminal: nothing on stderr" || bad "inputs off a terminal (rc=$rc): $(head -c 200 "$T/err" | cat -v)"
if command -v script >/dev/null 2>&1; then
  rm -rf "$T/fresh/.cache"
  ( cd "$T/fresh" && script -qec "'$BIN' benchmark ${Q[*]} --no-search --backends native-cpu --sweep 1,64 --seed 77 >/dev/null" \
      "$T/tty" >/dev/null 2>&1 )
  tr '\r' '\n' <"$T/tty" | grep -qE '^  inputs: policy +self-play [0-9]+/64 positions, game [0-9]+' &&
    ok "self-play inputs on a terminal: 'inputs: policy self-play k/64 positions, game N'" ||
    bad "inputs progress on a terminal: $(tr '\r' '\n' <"$T/tty" | grep -m2 inputs | cat -v)"
else skip "inputs progress on a terminal (no script(1))"; fi

TINY=(--games 4 --playouts 8 --hidden-policy 16 --hidden-value 8 --batch 16 --epochs 2 --window 2 --seed 5)
run_cmd train --out "$T/tr" --generations 2 "${TINY[@]}" --threads 1 --eval-games 4
w=$(longest_line "$T/out")
[ "$RC" -eq 0 ] && [ "$w" -le 100 ] && [ "$(grep -c '^gen ' "$T/out")" -eq 2 ] && grep -q 'loss policy' "$T/out" &&
  ok "train: generation lines within 100 columns (widest $w)" || bad "train: widest $w: $(grep -A2 '^gen' "$T/out" | head -3 | tr '\n' '|')"
# every command's --help within 100 columns
wide=""
for c in benchmark train arena play replay solve info import-go; do
  "$BIN" $c --help >"$T/help" 2>&1
  w=$(longest_line "$T/help")
  [ "$w" -le 100 ] || wide="$wide $c:$w"
done
"$BIN" --help >"$T/help" 2>&1; w=$(longest_line "$T/help"); [ "$w" -le 100 ] || wide="$wide main:$w"
[ -z "$wide" ] && ok "every --help within 100 columns" || bad "--help wider than 100:$wide"
summary cli_readable
