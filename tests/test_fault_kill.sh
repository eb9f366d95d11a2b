#!/usr/bin/env bash
# Fault injection for `neural_rps train`: the run is killed with SIGKILL at random moments several times (each
# time continued with --resume, or started afresh when no checkpoint existed yet). After every kill: LATEST names
# a complete checkpoint, every finished generation's networks load, summary.json (when present) parses and is at
# most one generation behind, the finished count never goes back. At the end the run completes, leaves no temp
# files, and its networks equal those of an uninterrupted run with the same seed (resume is exact); a killed run's
# temp files are removed by the next start, other files are not.
# Delays come from bash's RANDOM seeded with NRPS_FAULT_SEED (default 42); where they land still depends on the
# machine's speed, so the delays are printed.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
RANDOM=${NRPS_FAULT_SEED:-42}
KILLS=${NRPS_FAULT_KILLS:-5}
GENS=16
C=(--generations $GENS --games 600 --playouts 48 --hidden-policy 16 --hidden-value 8 --batch 32 --epochs 2 --window 2
   --threads 2 --eval-games 0 --seed 7 --quiet)
R="$T/run"

# check_run TAG: invariants of the run folder after a kill; sets LAST (finished generations, -1 = no checkpoint)
LAST=-1
check_run() {
  local tag=$1 name n g k
  if [ ! -e "$R/checkpoint/LATEST" ]; then
    [ "$LAST" -lt 0 ] && ok "$tag: killed before the first checkpoint" || bad "$tag: LATEST disappeared"
    return
  fi
  name=$(cat "$R/checkpoint/LATEST")
  if ! [[ "$name" =~ ^gen_([0-9]{4})$ ]]; then bad "$tag: LATEST holds '$name'"; return; fi
  n=$((10#${BASH_REMATCH[1]}))
  [ -s "$R/checkpoint/$name/policy.ckpt" ] && [ -s "$R/checkpoint/$name/value.ckpt" ] && [ -s "$R/checkpoint/$name/state.bin" ] \
    && ok "$tag: LATEST=$name names a complete checkpoint" || bad "$tag: checkpoint $name incomplete: $(ls "$R/checkpoint/$name" | tr '\n' ' ')"
  [ "$n" -ge "$LAST" ] && ok "$tag: progress kept ($LAST -> $n)" || bad "$tag: went back from $LAST to $n"
  local intact=1
  for ((g = 0; g <= n; g++)); do
    for k in policy value; do
      "$BIN" info "$(printf '%s/generations/g%04d/rps_%s.onnx' "$R" $g $k)" >/dev/null 2>&1 || { intact=0; echo "    g$g $k does not load"; }
    done
  done
  [ $intact -eq 1 ] && ok "$tag: generations 0..$n all load" || bad "$tag: a finished generation is damaged"
  if [ -e "$R/summary.json" ]; then
    "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); f=d['finished_generations']; assert $n-1 <= f <= $n, f" "$R/summary.json" \
      && ok "$tag: summary.json parses and matches" || bad "$tag: summary.json ($(head -c 200 "$R/summary.json"))"
  fi
  LAST=$n
}

for ((i = 1; i <= KILLS; i++)); do
  ms=$((300 + RANDOM % 1500))
  if [ -e "$R/checkpoint/LATEST" ]; then args=(--resume); else args=(); fi
  "$BIN" train --out "$R" "${C[@]}" "${args[@]}" >"$T/k$i.out" 2>"$T/k$i.err" &
  pid=$!
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    echo "  kill $i after ${ms} ms ${args[*]}"
  else
    wait "$pid"; rc=$?
    echo "  kill $i after ${ms} ms: the run had already ended (exit $rc)"
    [ "$rc" -eq 0 ] || bad "kill $i: run failed on its own: $(head -c 300 "$T/k$i.err")"
  fi
  check_run "kill $i"
done

# finish the run
if [ -e "$R/checkpoint/LATEST" ]; then args=(--resume); else args=(); fi
run_cmd train --out "$R" "${C[@]}" "${args[@]}"
[ "$RC" -eq 0 ] && ok "final ${args[*]:-fresh start} completes" || bad "final run (rc=$RC: $(head -c 300 "$T/err"))"
check_run "final"
[ "$LAST" -eq $GENS ] && ok "all $GENS generations finished" || bad "finished $LAST of $GENS"
"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['complete'] is True and [g['generation'] for g in d['generations']] == list(range(1, $GENS + 1))" \
  "$R/summary.json" && ok "summary complete with generations 1..$GENS" || bad "summary after the final run"
left=$(find "$R" -name '*.tmp.*' | sed "s|$R/||" | tr '\n' ' ')
[ -z "$left" ] && ok "no temp files left in the run folder" || bad "temp files left behind: $left"

# debris of a kill during a write (temp files "<name>.tmp.<pid>.<digits>" of atomic writes) is swept by the next
# start: the lock file lists the killed run's pid (here a made-up one, 99999); files of other pids or names are not
# training's and stay
echo 99999 >>"$R/.lock"
touch "$R/generations/g0003/rps_policy.onnx.tmp.99999.000001" "$R/checkpoint/LATEST.tmp.99999.123456" \
  "$R/summary.json.tmp.99999.654321" "$R/checkpoint/gen_00$GENS/state.bin.tmp.99999.000002" \
  "$R/checkpoint/LATEST.tmp.12345.000003" "$R/notes.tmp.99999.000004"
run_cmd train --out "$R" "${C[@]}" --resume
left=$(find "$R" -name '*.tmp.*' | sed "s|$R/||" | sort | tr '\n' ' ')
[ "$RC" -eq 0 ] && [ "$left" = "checkpoint/LATEST.tmp.12345.000003 notes.tmp.99999.000004 " ] &&
  ok "--resume sweeps the killed run's temp files, and only those" || bad "stale temp files (rc=$RC): $left"

# the same run without kills
run_cmd train --out "$T/ref" "${C[@]}"
if [ "$RC" -eq 0 ] && cmp -s "$T/ref/rps_policy.onnx" "$R/rps_policy.onnx" && cmp -s "$T/ref/rps_value.onnx" "$R/rps_value.onnx"
then ok "killed $KILLS times + resumed = uninterrupted run (identical ONNX)"
else bad "killed + resumed differs from the uninterrupted run (rc=$RC)"; fi

summary fault_kill
