#!/usr/bin/env bash
# `neural_rps train` and its run folder: only its own leftovers are removed (other programs' "*.tmp.<digits>" files
# in DIR and below survive a run and a refused run; a killed run's temp files go on the next start), one run at a
# time per folder (a second run, fresh or --resume, fails at once in one line while the first completes
# unchanged), checkpoint files bound to their run and generation (a mix is refused on --resume in one line; a
# checkpoint of the earlier format resumes with one warning line), and Ctrl-C during --analyse (exit 130, the
# positions analysed so far reported). Tiny runs throughout.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
cd "$ROOT"

TINY=(--games 2 --playouts 8 --hidden-policy 16 --hidden-value 8 --batch 16 --epochs 1 --window 2 --threads 1
      --eval-games 0 --quiet)
# foreign: the other programs' files planted in $1 (a file of the run's own name with a pid no run of it had, too)
FOREIGN=(x.tmp.123 sub/x.tmp.123 sub/deeper/y.tmp.77 rps_policy.onnx.tmp.4242 summary.json.tmp.1)
plant() { mkdir -p "$1/sub/deeper"; for f in "${FOREIGN[@]}"; do echo keep >"$1/$f"; done; }
survived() { # NAME DIR: every planted file is still there, unchanged
  local f miss=""
  for f in "${FOREIGN[@]}"; do [ "$(cat "$2/$f" 2>/dev/null)" = keep ] || miss="$miss $f"; done
  [ -z "$miss" ] && ok "$1: other programs' temp files survive" || bad "$1: removed:$miss"
}

# ---- 1. other programs' temp files survive a run and a refused run
plant "$T/f"
run_cmd train --out "$T/f" --generations 1 "${TINY[@]}"
[ "$RC" -eq 0 ] && ok "run into a folder with foreign temp files" || bad "run (rc=$RC: $(head -c 300 "$T/err"))"
survived "after a run" "$T/f"
expect_fail "fresh start into an existing run is refused" 1 "already holds a training run" -- \
  train --out "$T/f" --generations 1 "${TINY[@]}"
survived "after a refused run" "$T/f"
expect_fail "resume with a changed flag is refused" 2 "games 3 differs" -- train --out "$T/f" --resume --games 3
survived "after a refused --resume" "$T/f"
run_cmd train --out "$T/f" --resume --generations 2
[ "$RC" -eq 0 ] && ok "--resume into a folder with foreign temp files" || bad "--resume (rc=$RC: $(head -c 300 "$T/err"))"
survived "after --resume" "$T/f"
[ -f "$T/f/.lock" ] && [ ! -s "$T/f/.lock" ] && ok "the lock file stays, listing no run after a clean exit" ||
  bad "lock file after a clean exit: $(ls -la "$T/f/.lock" 2>&1) '$(cat "$T/f/.lock" 2>/dev/null)'"

# ---- 2. a killed run's temp files are removed by the next start, and nothing else
for games in 400 1600 6400; do
  rm -rf "$T/k"
  "$BIN" train --out "$T/k" --generations 4 --games $games --playouts 16 --hidden-policy 16 --hidden-value 8 --batch 32 \
    --epochs 2 --window 2 --threads 1 --eval-games 0 --quiet >/dev/null 2>&1 &
  kpid=$!
  for _ in $(seq 1 1200); do grep -qs "gen_0001" "$T/k/checkpoint/LATEST" && break; sleep 0.05; done
  kill -9 "$kpid" 2>/dev/null
  wait "$kpid" 2>/dev/null
  [ "$(cat "$T/k/checkpoint/LATEST" 2>/dev/null)" != "gen_0004" ] && break
done
grep -qx "$kpid" "$T/k/.lock" && ok "a killed run stays listed in the lock file" || bad "lock file after SIGKILL: '$(cat "$T/k/.lock")'"
OWN=(rps_policy.onnx.tmp.$kpid.000001 summary.json.tmp.$kpid.123456 checkpoint/LATEST.tmp.$kpid.000002
     checkpoint/gen_0001/state.bin.tmp.$kpid.000003 checkpoint/gen_0001/value.ckpt.tmp.$kpid.000004
     generations/g0001/rps_value.onnx.tmp.$kpid.000005)
for f in "${OWN[@]}"; do : >"$T/k/$f"; done
plant "$T/k"
NOTOURS=(notes.tmp.$kpid.000006 checkpoint/gen_0001/notes.tmp.$kpid.000007 sub/rps_policy.onnx.tmp.$kpid.000008
         rps_policy.onnx.tmp.$kpid)
for f in "${NOTOURS[@]}"; do echo keep >"$T/k/$f"; done
run_cmd train --out "$T/k" --resume
left=""; for f in "${OWN[@]}"; do [ -e "$T/k/$f" ] && left="$left $f"; done
[ "$RC" -eq 0 ] && [ -z "$left" ] && ok "--resume removes the killed run's temp files" || bad "killed run's temp files (rc=$RC):$left"
survived "after sweeping a killed run's files" "$T/k"
miss=""; for f in "${NOTOURS[@]}"; do [ "$(cat "$T/k/$f" 2>/dev/null)" = keep ] || miss="$miss $f"; done
[ -z "$miss" ] && ok "files of the killed pid that training does not write survive" || bad "removed:$miss"

# ---- 3. one run at a time per folder
for games in 3000 12000 48000; do
  rm -rf "$T/l" "$T/l2"
  L=(--generations 2 --games $games --playouts 16 --hidden-policy 16 --hidden-value 8 --batch 32 --epochs 2 --window 2
     --threads 1 --eval-games 0 --quiet --seed 3)
  "$BIN" train --out "$T/l" "${L[@]}" >"$T/l.out" 2>"$T/l.err" &
  lpid=$!
  for _ in $(seq 1 3000); do grep -qsx "$lpid" "$T/l/.lock" && break; sleep 0.01; done
  t0=$(date +%s%N)
  run_cmd train --out "$T/l" --generations 1 "${TINY[@]}" --seed 9
  cp "$T/err" "$T/l.second"; rc2=$RC
  run_cmd train --out "$T/l" --resume --generations 3
  cp "$T/err" "$T/l.resume"; rc3=$RC
  dt=$((($(date +%s%N) - t0) / 1000000))
  alive=0; kill -0 "$lpid" 2>/dev/null && alive=1
  wait "$lpid"; lrc=$?
  [ "$alive" -eq 1 ] && break
  echo "  (the first run ended before the second started with $games games per generation; retrying with more)"
done
[ "$alive" -eq 1 ] && ok "the first run was still at work (${dt} ms for both refusals)" || bad "the first run ended too early"
lockmsg="^neural_rps train: $T/l: another training run holds this folder \(pid $lpid, lock $T/l/.lock\)"
[ "$rc2" -eq 1 ] && [ "$(grep -c '' "$T/l.second")" -eq 1 ] && grep -qE "$lockmsg" "$T/l.second" &&
  ok "a second run fails at once, one line naming the folder and the holder" ||
  bad "second run (rc=$rc2: $(head -c 300 "$T/l.second"))"
[ "$rc3" -eq 1 ] && [ "$(grep -c '' "$T/l.resume")" -eq 1 ] && grep -qE "$lockmsg" "$T/l.resume" &&
  ok "a second --resume fails at once, one line" || bad "second --resume (rc=$rc3: $(head -c 300 "$T/l.resume"))"
[ "$lrc" -eq 0 ] && [ ! -s "$T/l.err" ] && ok "the first run completes normally" || bad "first run (rc=$lrc: $(head -c 300 "$T/l.err"))"
run_cmd train --out "$T/l2" "${L[@]}"
if [ "$RC" -eq 0 ] && cmp -s "$T/l/rps_policy.onnx" "$T/l2/rps_policy.onnx" && cmp -s "$T/l/rps_value.onnx" "$T/l2/rps_value.onnx"
then
  ok "the first run's networks equal an undisturbed run's (nothing mixed in)"
else bad "the first run's networks differ from an undisturbed run's (rc=$RC)"; fi
json_check "summary of the first run: its own configuration" "$T/l/summary.json" \
  "r['config']['seed'] == '3' and r['finished_generations'] == 2 and len(r['run_id']) == 32"
if command -v flock >/dev/null 2>&1; then # another holder of the lock (flock(1)), deterministic
  ( flock -x 9 && "$BIN" train --out "$T/f" --resume --generations 3 >"$T/out" 2>"$T/err"; echo $? >"$T/rc" ) 9>>"$T/f/.lock"
  [ "$(cat "$T/rc")" -eq 1 ] && grep -qE "^neural_rps train: $T/f: another training run holds this folder" "$T/err" &&
    [ "$(grep -c '' "$T/err")" -eq 1 ] && ok "a folder locked by another process is refused" ||
    bad "locked by flock(1): rc=$(cat "$T/rc") $(head -c 300 "$T/err")"
else skip "flock(1) not installed"; fi

# ---- 4. checkpoint files bound to their run and generation
run_cmd train --out "$T/a" --generations 1 "${TINY[@]}" --seed 1 && run_cmd train --out "$T/b" --generations 1 "${TINY[@]}" --seed 1
cp -r "$T/a" "$T/a0"
cp "$T/b/checkpoint/gen_0001/value.ckpt" "$T/a/checkpoint/gen_0001/value.ckpt"
expect_fail "another run's value checkpoint is refused on --resume" 1 \
  "^neural_rps train: $T/a/checkpoint/gen_0001/value.ckpt names run [0-9a-f]{32} generation 1 but $T/a/checkpoint/gen_0001/state.bin names run [0-9a-f]{32} generation 1: the run differs " -- \
  train --out "$T/a" --resume --generations 2
rm -rf "$T/a" && cp -r "$T/a0" "$T/a"
cp "$T/a/checkpoint/gen_0000/policy.ckpt" "$T/a/checkpoint/gen_0001/policy.ckpt"
expect_fail "another generation's policy checkpoint is refused" 1 \
  "^neural_rps train: $T/a/checkpoint/gen_0001/policy.ckpt names run ([0-9a-f]{32}) generation 0 but .*state.bin names run \1 generation 1: the generation differs " -- \
  train --out "$T/a" --resume --generations 2
rm -rf "$T/a" && cp -r "$T/a0" "$T/a"
cp "$T/b/checkpoint/gen_0001/state.bin" "$T/a/checkpoint/gen_0001/state.bin"
expect_fail "another run's state.bin is refused" 1 "policy.ckpt names run .* but .*state.bin names run .*: the run differs" -- \
  train --out "$T/a" --resume --generations 2
rm -rf "$T/a" && cp -r "$T/a0" "$T/a"
cp "$ROOT/tests/fixtures/train_v1_checkpoint/checkpoint/gen_0001/value.ckpt" "$T/a/checkpoint/gen_0001/value.ckpt"
expect_fail "an older version's checkpoint beside this run's is refused" 1 \
  "value.ckpt names no run \(written by an older version\) but .*state.bin names run [0-9a-f]{32} generation 1" -- \
  train --out "$T/a" --resume --generations 2
rm -rf "$T/a" && cp -r "$T/a0" "$T/a"
run_cmd train --out "$T/a" --resume --generations 2
[ "$RC" -eq 0 ] && [ ! -s "$T/err" ] && ok "the untouched checkpoint resumes silently" || bad "untouched resume (rc=$RC: $(head -c 300 "$T/err"))"
json_check "the run id stays across --resume" "$T/a/summary.json" \
  "r['run_id'] == open('$T/a0/summary.json').read().split('\"run_id\":')[1].split('\"')[1]"
mkdir -p "$T/old" && cp -r "$ROOT/tests/fixtures/train_v1_checkpoint/checkpoint" "$T/old/"
run_cmd train --out "$T/old" --resume --generations 2 --quiet
[ "$RC" -eq 0 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] &&
  grep -q "^train: warning: the checkpoint in $T/old/checkpoint was written by an older version without run ids" "$T/err" &&
  ok "a checkpoint of the earlier format resumes with one warning line" ||
  bad "old checkpoint (rc=$RC: $(head -c 300 "$T/err"))"
run_cmd train --out "$T/old" --resume --generations 3 --quiet
[ "$RC" -eq 0 ] && [ ! -s "$T/err" ] && ok "... and is bound from then on (no warning next time)" || bad "old, second resume (rc=$RC: $(head -c 300 "$T/err"))"

# ---- 5. Ctrl-C during --analyse: exit 130, the positions analysed so far
# catches_sigint PID: the process has its SIGINT handler installed (bit 2 of SigCgt in /proc/PID/status)
catches_sigint() { local m; m=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null); [ -n "$m" ] && (((16#$m & 2) != 0)); }
for mode in text json; do
  extra=(); [ $mode = json ] && extra=(--json)
  "$BIN" train --analyse "$T/f" --positions 100000000 --playouts 8 "${extra[@]}" >"$T/an.out" 2>"$T/an.err" &
  apid=$!
  for _ in $(seq 1 600); do catches_sigint "$apid" && break; sleep 0.05; done
  sleep 1 # some positions analysed
  kill -INT "$apid" 2>/dev/null
  wait "$apid"; arc=$?
  if [ "$arc" -eq 130 ] && [ "$(grep -c '' "$T/an.err")" -eq 1 ] &&
     grep -qE "^neural_rps train: analyse interrupted \(SIGINT\) after [0-9]+ of 100000000 positions" "$T/an.err"; then
    ok "analyse ($mode): SIGINT exits 130 with one line"
  else bad "analyse ($mode): rc=$arc, stderr: $(head -c 300 "$T/an.err")"; fi
  if [ $mode = text ]; then
    grep -qE "^analyse: $T/f on [1-9][0-9]* positions .*\(interrupted: the figures cover these positions only\)" "$T/an.out" &&
      grep -q "value sign = solver result" "$T/an.out" && ok "analyse (text): the report of the positions so far" ||
      bad "analyse (text) report: $(head -c 300 "$T/an.out")"
  else
    json_check "analyse (json): one object, marked interrupted" "$T/an.out" \
      "r['interrupted'] is True and 0 < r['positions'] < r['positions_requested'] == 100000000"
  fi
done

summary cli_train_reliability
