#!/usr/bin/env bash
# `neural_rps train`: flag errors (one line, exit 2), a tiny run's outputs and summary, reproducibility with
# --seed (also across --threads), the architecture flags (deeper nets, one two-headed network: files, summary,
# arenas, --analyse; bad values; --resume with another architecture refused), a checkpoint of the earlier format
# resuming, SIGKILL after the first checkpoint + --resume (same networks as an uninterrupted run, every
# generation intact), damaged checkpoints (one line, exit 1), and --analyse.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
cd "$ROOT"

TINY=(--games 4 --playouts 8 --hidden-policy 16 --hidden-value 8 --batch 16 --epochs 2 --window 2 --seed 5)

expect_fail "--games 0" 2 "^neural_rps train: --games expects an integer" -- train --games 0 --out "$T/x"
expect_fail "--value-loss foo" 2 "value-loss expects bce or mse" -- train --value-loss foo --out "$T/x"
expect_fail "--batch too large" 2 "^neural_rps train: --batch expects" -- train --batch 100000 --out "$T/x"
expect_fail "--dirichlet-weight 2" 2 "dirichlet-weight" -- train --dirichlet-weight 2 --out "$T/x"
expect_fail "unknown flag" 2 "unknown flag '--bogus'" -- train --bogus
expect_fail "--encoding foo" 2 "^neural_rps train: --encoding expects hands or board, got 'foo'" -- train --encoding foo --out "$T/x"
expect_fail "stray argument" 2 "unexpected argument 'extra'" -- train --out "$T/x" extra
expect_fail "--positions without --analyse" 2 "only apply to --analyse" -- train --positions 10 --out "$T/x"
expect_fail "--games with --analyse" 2 "games does not apply to --analyse" -- train --analyse models --games 3
expect_fail "resume without checkpoint" 1 "no checkpoint" -- train --resume --out "$T/none"
# architecture flags
expect_fail "--layers 0" 2 "^neural_rps train: --layers expects 'none' or up to 15 comma-separated widths in \[1, 65536\] \(e.g. 256,128\), got '0'$" -- \
  train --layers 0 --out "$T/x"
expect_fail "--layers 12," 2 "^neural_rps train: --layers expects .*got '12,'" -- train --layers 12, --out "$T/x"
expect_fail "--value-layers x" 2 "^neural_rps train: --value-layers expects .*got 'x'" -- train --value-layers x --out "$T/x"
expect_fail "--layers too many" 2 "^neural_rps train: --layers expects" -- train --layers 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 --out "$T/x"
expect_fail "--hidden-policy 0" 2 "^neural_rps train: --hidden-policy expects" -- train --hidden-policy 0 --out "$T/x"
expect_fail "--heads three" 2 "^neural_rps train: --heads expects separate or two, got 'three'$" -- train --heads three --out "$T/x"
expect_fail "--policy-weight -1" 2 "^neural_rps train: --policy-weight expects" -- train --heads two --policy-weight -1 --out "$T/x"
expect_fail "--value-weight nan" 2 "^neural_rps train: --value-weight expects" -- train --heads two --value-weight nan --out "$T/x"
expect_fail "both weights 0" 2 "^neural_rps train: --policy-weight and --value-weight must be in \[0, 1000\] and not both 0" -- \
  train --heads two --policy-weight 0 --value-weight 0 --out "$T/x"
expect_fail "--value-head with separate heads" 2 "^neural_rps train: --value-head only applies to --heads two$" -- \
  train --value-head 16 --out "$T/x"
expect_fail "--policy-weight with separate heads" 2 "^neural_rps train: --policy-weight only applies to --heads two$" -- \
  train --policy-weight 2 --out "$T/x"
expect_fail "--value-layers with two heads" 2 "^neural_rps train: --value-layers only applies to --heads separate" -- \
  train --heads two --value-layers 16 --out "$T/x"
expect_fail "--hidden-policy and --layers" 2 "^neural_rps train: --hidden-policy H is --layers H: give one of them$" -- \
  train --hidden-policy 16 --layers 16 --out "$T/x"
expect_fail "two heads, too deep" 2 "^neural_rps train: --layers, --policy-head and --value-head hold 15 widths in all, at most 14$" -- \
  train --heads two --layers 1,2,3,4,5,6,7,8,9,10 --policy-head 1,2,3 --value-head 1,2 --out "$T/x"
expect_fail "--layers with --analyse" 2 "layers does not apply to --analyse" -- train --analyse models --layers 16
[ ! -e "$T/x" ] && ok "nothing written on usage errors" || bad "nothing written on usage errors"

# a tiny run: outputs, summary, per-generation lines
expect_ok "tiny run" "^gen +2/2 +games 4" -- train --out "$T/r1" --generations 2 "${TINY[@]}" --threads 1 --eval-games 4
[ "$(grep -c '^gen ' "$T/out")" -eq 2 ] && ok "one line per generation" || bad "one line per generation: $(cat "$T/out")"
[ ! -s "$T/err" ] && ok "no progress output when stderr is not a terminal" || bad "stderr: $(head -c 300 "$T/err")"
if "$PY" - "$T/r1/summary.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["complete"] is True and d["finished_generations"] == 2 and d["training_games"] == 8
c = d["config"]
assert c["games"] == 4 and c["seed"] == "5" and c["heads"] == "separate" and c["layers"] == [16] and c["value_layers"] == [8]
assert "value_head" not in c and "policy_weight" not in c
assert d["models"] == {"policy": "rps_policy.onnx", "value": "rps_value.onnx", "policy_architecture": "81-16-9",
                       "value_architecture": "81-8-1"}, d["models"]
assert d["config"]["input_encoding"] == "hands"
g = d["generations"]
assert [x["generation"] for x in g] == [1, 2]
for x in g:
    assert x["games"] == 4 and x["positions"] == 36 and x["policy_loss"] > 0 and x["value_loss"] > 0
    for k in ("vs_previous", "vs_random", "net_vs_random"):
        m = x[k]
        assert m["games"] == 4 and m["score_lo"] <= m["score"] <= m["score_hi"]
assert d["total_seconds"] > 0
P
then ok "summary.json is complete and consistent"; else bad "summary.json: $(head -c 400 "$T/r1/summary.json")"; fi
for f in rps_policy.onnx rps_value.onnx generations/g0000/rps_policy.onnx generations/g0002/rps_value.onnx; do
  if "$BIN" info "$T/r1/$f" >"$T/info" 2>&1 && grep -q "training_games=" "$T/info"; then ok "loads: $f"
  else bad "loads: $f ($(head -c 200 "$T/info"))"; fi
done
grep -q "training_games=8 seed=5 kind=value input_encoding=hands" <("$BIN" info "$T/r1/rps_value.onnx") && ok "metadata" || bad "metadata"
grep -q "81 -> 16 (relu) -> 9 (softmax)" <("$BIN" info "$T/r1/rps_policy.onnx") && ok "policy shape" || bad "policy shape"

# reproducibility: same seed, other thread count, no arenas -> identical networks
run_cmd train --out "$T/r2" --generations 2 "${TINY[@]}" --threads 2 --eval-games 0 --quiet
if [ "$RC" -eq 0 ] && [ ! -s "$T/out" ] && cmp -s "$T/r1/rps_policy.onnx" "$T/r2/rps_policy.onnx" && \
   cmp -s "$T/r1/rps_value.onnx" "$T/r2/rps_value.onnx"; then ok "same --seed gives identical ONNX (threads 1 vs 2)"
else bad "same --seed gives identical ONNX (rc=$RC)"; fi
run_cmd train --out "$T/r3" --generations 2 --games 4 --playouts 8 --hidden-policy 16 --hidden-value 8 --batch 16 \
  --epochs 2 --window 2 --seed 6 --threads 1 --eval-games 0 --quiet
[ "$RC" -eq 0 ] && ! cmp -s "$T/r1/rps_policy.onnx" "$T/r3/rps_policy.onnx" && ok "another seed gives other networks" \
  || bad "another seed gives other networks"

# DESIGN.md's encoding on request: the files say so, and the networks differ
run_cmd train --out "$T/r4" --generations 2 "${TINY[@]}" --threads 1 --eval-games 0 --quiet --encoding board
[ "$RC" -eq 0 ] && grep -q "input_encoding=board" <("$BIN" info "$T/r4/rps_policy.onnx") &&
  ! cmp -s "$T/r1/rps_policy.onnx" "$T/r4/rps_policy.onnx" && ok "--encoding board" || bad "--encoding board (rc=$RC)"
expect_fail "resume with another --encoding" 2 "encoding board differs from the checkpoint's hands" -- \
  train --out "$T/r1" --resume --encoding board

expect_fail "fresh start into an existing run" 1 "already holds a training run" -- train --out "$T/r1" "${TINY[@]}"
expect_fail "resume with other --layers" 2 "^neural_rps train: --layers 32,16 differs from the checkpoint's 16 in $T/r1 \(a resumed run keeps its networks\)$" -- \
  train --out "$T/r1" --resume --layers 32,16
expect_fail "resume with other --hidden-value" 2 "^neural_rps train: --hidden-value 9 differs from the checkpoint's 8 in $T/r1 " -- \
  train --out "$T/r1" --resume --hidden-value 9
expect_fail "resume with --heads two" 2 "^neural_rps train: --heads two differs from the checkpoint's separate in $T/r1 " -- \
  train --out "$T/r1" --resume --heads two
expect_fail "resume separate with --value-head" 2 "^neural_rps train: --value-head only applies to --heads two$" -- \
  train --out "$T/r1" --resume --value-head 8
expect_fail "resume with a changed --lr" 2 "lr 0.005 differs from the checkpoint" -- train --out "$T/r1" --resume --lr 0.005
expect_fail "resume below finished generations" 2 "below the 2 generations" -- train --out "$T/r1" --resume --generations 1

# deeper separate networks: the files say so, reproducible across --threads
DEEP=(--games 4 --playouts 8 --layers 16,8 --value-layers 8,4 --batch 16 --epochs 2 --window 2 --seed 5 --eval-games 4 --quiet)
run_cmd train --out "$T/d1" --generations 2 "${DEEP[@]}" --threads 1
[ "$RC" -eq 0 ] && grep -q "81 -> 16 (relu) -> 8 (relu) -> 9 (softmax)" <("$BIN" info "$T/d1/rps_policy.onnx") &&
  grep -q "81 -> 8 (relu) -> 4 (relu) -> 1 (sigmoid)" <("$BIN" info "$T/d1/generations/g0002/rps_value.onnx") &&
  ok "--layers 16,8 --value-layers 8,4" || bad "--layers 16,8 --value-layers 8,4 (rc=$RC: $(head -c 300 "$T/err"))"
run_cmd train --out "$T/d2" --generations 2 "${DEEP[@]}" --threads 2
[ "$RC" -eq 0 ] && cmp -s "$T/d1/rps_policy.onnx" "$T/d2/rps_policy.onnx" && cmp -s "$T/d1/rps_value.onnx" "$T/d2/rps_value.onnx" &&
  ok "deeper nets: identical across --threads" || bad "deeper nets: identical across --threads (rc=$RC)"
expect_fail "resume deep with --value-layers 8" 2 "value-layers 8 differs from the checkpoint's 8,4 in $T/d1 " -- \
  train --out "$T/d1" --resume --value-layers 8

# one two-headed network: rps_net.onnx only, two heads, summary, arenas on it, --resume, --analyse
TWO=(--games 4 --playouts 8 --heads two --layers 16 --policy-head 8 --value-head 8 --value-weight 0.5 --batch 16 --epochs 2
     --window 2 --seed 5 --threads 1)
expect_ok "two-headed run" "^train: 1 generation finished; network in $T/h1/rps_net.onnx" -- \
  train --out "$T/h1" --generations 1 "${TWO[@]}" --eval-games 4
grep -q "network 81-16 -> policy:8-9 | value:8-1" "$T/out" && ok "two-headed run: first line names the network" ||
  bad "two-headed run: first line ($(head -c 300 "$T/out"))"
if [ -f "$T/h1/rps_net.onnx" ] && [ -f "$T/h1/generations/g0001/rps_net.onnx" ] && [ ! -e "$T/h1/rps_policy.onnx" ] &&
   [ ! -e "$T/h1/generations/g0001/rps_value.onnx" ] && [ -f "$T/h1/checkpoint/gen_0001/net.ckpt" ]; then
  ok "two-headed run: rps_net.onnx and net.ckpt only"
else bad "two-headed run: files ($(cd "$T/h1" && find . -type f | sort | tr '\n' ' '))"; fi
"$BIN" info "$T/h1/rps_net.onnx" >"$T/info" 2>&1
grep -q "policy" "$T/info" && grep -q "value" "$T/info" && grep -q "input_encoding=hands" "$T/info" &&
  ok "two-headed run: info shows both heads" || bad "two-headed run: info ($(head -c 400 "$T/info"))"
if "$PY" - "$T/h1/summary.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["config"]
assert c["heads"] == "two" and c["layers"] == [16] and c["policy_head"] == [8] and c["value_head"] == [8]
assert c["policy_weight"] == 1 and c["value_weight"] == 0.5 and "value_layers" not in c
assert d["models"] == {"net": "rps_net.onnx", "architecture": "81-16 -> policy:8-9 | value:8-1"}, d["models"]
g = d["generations"][0]
assert g["policy_loss"] > 0 and g["value_loss"] > 0 and abs(g["loss"] - (g["policy_loss"] + 0.5 * g["value_loss"])) < 0.05
for k in ("vs_previous", "vs_random", "net_vs_random"):
    assert g[k]["games"] == 4
P
then ok "two-headed run: summary.json"; else bad "two-headed run: summary.json ($(head -c 600 "$T/h1/summary.json"))"; fi
expect_fail "resume two heads with --value-head 16" 2 "^neural_rps train: --value-head 16 differs from the checkpoint's 8 in $T/h1 " -- \
  train --out "$T/h1" --resume --value-head 16
expect_fail "resume two heads with --value-weight 1" 2 "^neural_rps train: --value-weight 1 differs from the checkpoint's 0.5 in $T/h1 " -- \
  train --out "$T/h1" --resume --value-weight 1
expect_fail "resume two heads with --heads separate" 2 "^neural_rps train: --heads separate differs from the checkpoint's two in $T/h1 " -- \
  train --out "$T/h1" --resume --heads separate
expect_ok "two-headed run: --resume" "^train: 2 generations finished; network in $T/h1/rps_net.onnx" -- \
  train --out "$T/h1" --resume --generations 2 --eval-games 0
run_cmd train --out "$T/h2" --generations 2 "${TWO[@]}" --eval-games 0 --quiet
[ "$RC" -eq 0 ] && cmp -s "$T/h1/rps_net.onnx" "$T/h2/rps_net.onnx" && ok "two-headed run: resumed equals uninterrupted" ||
  bad "two-headed run: resumed equals uninterrupted (rc=$RC)"
expect_ok "two-headed run: arena with nets=DIR" "mcts-net:8" -- \
  arena --p1 "mcts-net:8,nets=$T/h1,backend=native-ref" --p2 random --games 4 --seed 1 --threads 1
expect_ok "two-headed run: --analyse" "policy top cell margin-optimal +[0-9]+/30 " -- \
  train --analyse "$T/h1" --positions 30 --seed 3 --playouts 8

# a checkpoint written before the architecture flags (hidden_policy/hidden_value, mlp_trainer files) resumes
mkdir -p "$T/old" && cp -r "$ROOT/tests/fixtures/train_v1_checkpoint/checkpoint" "$T/old/"
expect_ok "old checkpoint resumes" "^train: 2 generations finished" -- train --out "$T/old" --resume --generations 2 --hidden-policy 16
expect_fail "old checkpoint: other --hidden-policy" 2 "hidden-policy 32 differs from the checkpoint's 16 in $T/old " -- \
  train --out "$T/old" --resume --hidden-policy 32

# SIGKILL after the first generation's checkpoint, then --resume. On a busy machine the run may finish all 4
# generations before the poll sees the first checkpoint: then try again with more games per generation.
for games in 150 600 2400; do
  KILL=(--generations 4 --games $games --playouts 16 --hidden-policy 16 --hidden-value 8 --batch 32 --epochs 2 --window 2
        --seed 11 --threads 1 --eval-games 0 --quiet)
  rm -rf "$T/k"
  "$BIN" train --out "$T/k" "${KILL[@]}" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do
    if grep -qs "gen_0001" "$T/k/checkpoint/LATEST"; then break; fi
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  at=$(cat "$T/k/checkpoint/LATEST" 2>/dev/null)
  [ "$at" != "gen_0004" ] && break
  echo "  (the run finished before the kill with $games games per generation; retrying with more)"
done
kill -0 "$pid" 2>/dev/null && bad "the killed process is gone" || ok "the killed process is gone"
if [ "$at" = "gen_0001" ] || [ "$at" = "gen_0002" ] || [ "$at" = "gen_0003" ]; then ok "killed mid-run at $at"
else bad "killed mid-run (LATEST: '$at')"; fi
run_cmd train --out "$T/k" --resume
if [ "$RC" -eq 0 ] && grep -q "resuming" "$T/out"; then ok "resume after SIGKILL"; else bad "resume after SIGKILL (rc=$RC: $(head -c 300 "$T/err"))"; fi
if "$PY" - "$T/k/summary.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["complete"] is True and d["finished_generations"] == 4
assert [x["generation"] for x in d["generations"]] == [1, 2, 3, 4]
P
then ok "resumed run has 4 generations"; else bad "resumed run has 4 generations: $(head -c 300 "$T/k/summary.json")"; fi
intact=1
for g in 0 1 2 3 4; do
  for k in policy value; do
    "$BIN" info "$T/k/generations/g000$g/rps_$k.onnx" >/dev/null 2>&1 || intact=0
  done
done
[ $intact -eq 1 ] && ok "every generation's networks load" || bad "every generation's networks load"
run_cmd train --out "$T/u" "${KILL[@]}"
if [ "$RC" -eq 0 ] && cmp -s "$T/u/rps_policy.onnx" "$T/k/rps_policy.onnx" && cmp -s "$T/u/rps_value.onnx" "$T/k/rps_value.onnx"; then
  ok "killed + resumed run equals the uninterrupted run"
else bad "killed + resumed run equals the uninterrupted run"; fi

# SIGINT: the finished generations are saved, one line on stderr, exit 130, then --resume completes (more games
# per generation when a busy machine lets the run finish before the signal, as above)
for igames in 150 600 2400; do
  INT=(--generations 4 --games $igames --playouts 16 --hidden-policy 16 --hidden-value 8 --batch 32 --epochs 2 --window 2
       --seed 11 --threads 1 --eval-games 0 --quiet)
  rm -rf "$T/i"
  "$BIN" train --out "$T/i" "${INT[@]}" >/dev/null 2>"$T/ierr" &
  pid=$!
  for _ in $(seq 1 1200); do
    if grep -qs "gen_0001" "$T/i/checkpoint/LATEST"; then break; fi
    sleep 0.05
  done
  kill -INT "$pid" 2>/dev/null
  wait "$pid"
  irc=$?
  at=$(cat "$T/i/checkpoint/LATEST" 2>/dev/null)
  [ "$irc" -eq 0 ] && [ "$at" = "gen_0004" ] || break
  echo "  (the run finished before SIGINT with $igames games per generation; retrying with more)"
done
if [ "$irc" -eq 130 ] && [ "$(grep -c '' "$T/ierr")" -eq 1 ] && grep -q "interrupted after generation ${at#gen_000} of 4" "$T/ierr"; then
  ok "SIGINT saves the finished generations and exits 130"
else bad "SIGINT (rc=$irc, LATEST=$at, stderr: $(head -c 300 "$T/ierr"))"; fi
ref="$T/u"
if [ "${INT[*]}" != "${KILL[*]}" ]; then ref="$T/u_int"; "$BIN" train --out "$ref" "${INT[@]}" >/dev/null 2>&1; fi
run_cmd train --out "$T/i" --resume
if [ "$RC" -eq 0 ] && cmp -s "$ref/rps_policy.onnx" "$T/i/rps_policy.onnx"; then ok "resume after SIGINT equals the uninterrupted run"
else bad "resume after SIGINT equals the uninterrupted run (rc=$RC)"; fi

# damaged checkpoint: one line, exit 1
cp -r "$T/u" "$T/d"
st="$T/d/checkpoint/gen_0004/state.bin"
printf '\x00\x00\x00' | dd of="$st" bs=1 seek=50 conv=notrunc status=none
expect_fail "damaged state.bin" 1 "state.bin: checksum mismatch" -- train --out "$T/d" --resume --generations 5
head -c 100 "$T/u/checkpoint/gen_0004/value.ckpt" >"$T/d/checkpoint/gen_0004/value.ckpt"
cp "$T/u/checkpoint/gen_0004/state.bin" "$st"
expect_fail "truncated value.ckpt" 1 "value.ckpt: checkpoint" -- train --out "$T/d" --resume --generations 5
printf 'nonsense' >"$T/d/checkpoint/LATEST"
expect_fail "bad LATEST" 1 "LATEST: expected one line" -- train --out "$T/d" --resume

# analysis against the solver
expect_ok "analyse" "policy top cell margin-optimal +[0-9]+/60 " -- train --analyse "$T/r1" --positions 60 --seed 3 --playouts 8
grep -q "value sign = solver result" "$T/out" && ok "analyse reports the value accuracy" || bad "analyse value line"
run_cmd train --analyse "$T/r1" --source "$T/u" --positions 40 --seed 3 --playouts 8 --json
if [ "$RC" -eq 0 ] && "$PY" -c "
import json,sys; d=json.load(open('$T/out')); assert d['positions']==40 and 0<=d['policy_margin_optimal']<=1 and 0<=d['value_sign_accuracy']<=1" ; then
  ok "analyse --json"; else bad "analyse --json ($(head -c 300 "$T/out") $(head -c 300 "$T/err"))"; fi
expect_fail "analyse missing nets" 1 "rps_policy.onnx" -- train --analyse "$T/nothing"

summary cli_train
