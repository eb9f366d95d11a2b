#!/usr/bin/env bash
# `train --mpi` and `arena --mpi` under Open MPI's mpirun (2 ranks, --oversubscribe; --allow-run-as-root as root):
# a tiny training gives byte-identical networks (every generation) to a 1-process run, whatever the threads per
# rank; an arena gives the same JSON (less timing and the thread/process counts) and the same record, also on 3
# ranks; a failing rank ends the job with one line naming it, and --resume completes the run with another N; a
# rank killed mid-run (SIGKILL) ends the job (mpirun's line names the rank) and --resume on 2 ranks completes it
# with the networks of an uninterrupted run; usage errors print one line per job. Without an MPI launch or an MPI
# build --mpi is a one-line error; without mpirun or an MPI build the rest is skipped, visibly.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
cd "$T"
export TMPDIR="$T/tmp" && mkdir -p "$TMPDIR" # the ranks' temp folders (and mpirun's) in here

TINY=(--games 6 --playouts 8 --hidden-policy 16 --hidden-value 8 --batch 16 --epochs 2 --window 2 --seed 5)

# --mpi outside an MPI job: one line, exit 2, nothing written (either build)
NOT_MPI="--mpi: this (process was not started by an MPI launcher|neural_rps was built without MPI)"
expect_fail "train --mpi without mpirun" 2 "^neural_rps train: $NOT_MPI" -- train --mpi --out "$T/none" "${TINY[@]}"
expect_fail "arena --mpi without mpirun" 2 "^neural_rps arena: $NOT_MPI" -- arena --mpi --p1 random --p2 greedy
[ ! -e "$T/none" ] && ok "--mpi refused: nothing written" || bad "--mpi refused: $T/none exists"

if ! command -v mpirun >/dev/null 2>&1; then
  skip "MPI runs: no mpirun (make deps-dev installs Open MPI: openmpi-bin libopenmpi-dev)"
  summary cli_mpi; exit
fi
if ! "$BIN" --version | grep -q "^MPI (--mpi): compiled in"; then
  skip "MPI runs: $BIN was built without MPI (no mpicc at build time)"
  summary cli_mpi; exit
fi
# Under the sanitizers (make test-asan) Open MPI's own start-up allocations, made in components it loads and
# unloads, read as leaks that no suppression can name: leak checking is off from here on (memory errors and UB are
# still caught); our code's leaks are checked by the same paths without MPI (test_dist_split, test_cli_train.sh).
[ -n "${NRPS_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
# mpi N ARGS...: the binary on N ranks (-q: only the ranks' own lines on stderr), stdout/stderr/status as run_cmd
mpi() { local n=$1; shift; "${MPIRUN[@]}" -q -np "$n" "$BIN" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
same_nets() { # DIR1 DIR2: every generation's networks byte for byte
  local d=1 f
  for f in "$1"/rps_*.onnx "$1"/generations/*/rps_*.onnx; do cmp -s "$f" "$2/${f#"$1"/}" || d=0; done
  [ $d -eq 1 ]
}

# training: 2 ranks (1 and 2 threads each) = 1 process
run_cmd train --out "$T/one" --generations 2 "${TINY[@]}" --threads 1 --eval-games 4 --quiet
[ "$RC" -eq 0 ] && ok "1-process reference run" || bad "1-process reference run (rc=$RC: $(head -c 300 "$T/err"))"
mpi 2 train --mpi --out "$T/two" --generations 2 "${TINY[@]}" --threads 1 --eval-games 4
if [ "$RC" -eq 0 ] && same_nets "$T/one" "$T/two"; then ok "2 ranks: every generation's networks byte-identical"
else bad "2 ranks: networks (rc=$RC: $(head -c 300 "$T/err"))"; fi
grep -q "1 thread x 2 MPI processes" "$T/out" && [ "$(grep -c '^gen ' "$T/out")" -eq 2 ] &&
  ok "2 ranks: one report, from rank 0" || bad "2 ranks: report ($(head -c 400 "$T/out" | tr '\n' '|'))"
[ ! -s "$T/err" ] && ok "2 ranks: nothing on stderr" || bad "2 ranks: stderr $(head -c 300 "$T/err")"
json_check "2 ranks: summary has the arenas and processes 2" "$T/two/summary.json" \
  "all(g['processes'] == 2 and g['vs_random']['games'] == 4 for g in r['generations'])"
if "$PY" - "$T/one/summary.json" "$T/two/summary.json" <<'P'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
keys = ("games", "positions", "p1_wins", "p2_wins", "window_positions", "policy_loss", "value_loss", "vs_previous",
        "vs_random", "net_vs_random")
assert [{k: g[k] for k in keys} for g in a["generations"]] == [{k: g[k] for k in keys} for g in b["generations"]]
P
then ok "2 ranks: same self-play counts, losses and arena scores"; else bad "2 ranks: summary differs"; fi
mpi 2 train --mpi --out "$T/two_t2" --generations 2 "${TINY[@]}" --threads 2 --eval-games 0 --quiet
[ "$RC" -eq 0 ] && same_nets "$T/one" "$T/two_t2" && ok "2 ranks x 2 threads: byte-identical" ||
  bad "2 ranks x 2 threads (rc=$RC: $(head -c 300 "$T/err"))"
ls "$TMPDIR"/nrps-train-rank* >/dev/null 2>&1 && bad "temp folders of the ranks left in $TMPDIR" || ok "no temp folders left"

# arena: 2 and 3 ranks = 1 process (JSON less timing and counts of threads/processes; the record byte for byte)
ARENA=(arena --p1 mcts:30 --p2 greedy --games 21 --seed 3 --json)
run_cmd "${ARENA[@]}" --record "$T/a1.jsonl" && cp "$T/out" "$T/a1.json"
for n in 2 3; do
  mpi $n "${ARENA[@]}" --mpi --threads 2 --record "$T/a$n.jsonl"
  cp "$T/out" "$T/a$n.json"
  if [ "$RC" -eq 0 ] && "$PY" - "$T/a1.json" "$T/a$n.json" $n <<'P'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert b.pop("processes") == int(sys.argv[3]) and b.pop("threads") == 2 and a.pop("threads") == 1
for o in (a, b):
    for k in ("seconds",): o.pop(k)
    for s in ("a", "b"): o[s].pop("seconds_per_move")
assert a == b, (a, b)
P
  then ok "arena on $n ranks: the same JSON"; else bad "arena on $n ranks: JSON (rc=$RC: $(head -c 300 "$T/err"))"; fi
  cmp -s "$T/a1.jsonl" "$T/a$n.jsonl" && ok "arena on $n ranks: the same record" || bad "arena on $n ranks: record"
done
[ "$(grep -c '' "$T/a3.json")" -eq 1 ] && ok "arena: one report" || bad "arena: $(grep -c '' "$T/a3.json") lines"

# usage errors and checks: one line per job, the same exit status as one process
mpi 2 train --mpi --games 0 --out "$T/x"
[ "$RC" -eq 2 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] && grep -q "^neural_rps train: --games expects" "$T/err" &&
  ok "usage error on 2 ranks: one line, exit 2" || bad "usage error on 2 ranks (rc=$RC: $(tr '\n' '|' <"$T/err"))"
mpi 2 train --mpi --out "$T/one" "${TINY[@]}"
[ "$RC" -eq 1 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] && grep -q "already holds a training run" "$T/err" &&
  ok "existing run refused on 2 ranks: one line" || bad "existing run on 2 ranks (rc=$RC: $(tr '\n' '|' <"$T/err"))"
mpi 2 train --mpi --analyse "$T/one"
[ "$RC" -eq 2 ] && grep -q "^neural_rps train: --mpi does not apply to --analyse$" "$T/err" &&
  ok "--mpi --analyse refused" || bad "--mpi --analyse (rc=$RC: $(tr '\n' '|' <"$T/err"))"

# a failing rank (rank 1 cannot make its temp folder for the evaluation games): one line naming it, exit 1, no
# generation half-done; then --resume completes the run on 1 process (no --mpi) with the reference's networks
"${MPIRUN[@]}" -q -np 1 "$BIN" train --mpi --out "$T/f" --generations 2 "${TINY[@]}" --threads 1 --eval-games 4 --quiet : \
  -np 1 -x TMPDIR="$T/no/such/folder" "$BIN" train --mpi --out "$T/f" --generations 2 "${TINY[@]}" --threads 1 \
  --eval-games 4 --quiet >"$T/out" 2>"$T/err"
RC=$?
if [ "$RC" -eq 1 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] &&
   grep -q "^neural_rps train: rank 1 of 2: cannot make a temp folder $T/no/such/folder/nrps-train-rank1-" "$T/err"; then
  ok "a failing rank: one line naming it, exit 1"
else bad "a failing rank (rc=$RC: $(tr '\n' '|' <"$T/err"))"; fi
[ "$(cat "$T/f/checkpoint/LATEST" 2>/dev/null)" = gen_0000 ] && ok "a failing rank: the checkpoint stays at generation 0" ||
  bad "a failing rank: LATEST $(cat "$T/f/checkpoint/LATEST" 2>/dev/null)"
run_cmd train --out "$T/f" --resume --threads 2
[ "$RC" -eq 0 ] && same_nets "$T/one" "$T/f" && ok "--resume on 1 process after the failure: identical networks" ||
  bad "--resume after the failure (rc=$RC: $(head -c 300 "$T/err"))"

# SIGKILL of rank 1 after the first checkpoint: the job ends (no hang), mpirun's line names the rank; --resume on 2
# ranks finishes with the networks of an uninterrupted 1-process run. More games per generation when a busy
# machine lets the run finish before the kill.
for games in 200 800 3200; do
  KILL=(--generations 4 --games $games --playouts 16 --hidden-policy 16 --hidden-value 8 --batch 32 --epochs 2 --window 2
        --seed 11 --threads 1 --eval-games 0 --quiet)
  rm -rf "$T/k"
  "${MPIRUN[@]}" -np 2 "$BIN" train --mpi --out "$T/k" "${KILL[@]}" >"$T/kout" 2>"$T/kerr" &
  mp=$!
  for _ in $(seq 1 1200); do grep -qs "gen_0001" "$T/k/checkpoint/LATEST" && break; sleep 0.05; done
  for c in $(pgrep -P "$mp"); do
    tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && kill -9 "$c"
  done
  for _ in $(seq 1 600); do kill -0 "$mp" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$mp" 2>/dev/null && { bad "the job ended within 30 s of the kill"; kill -9 "$mp"; }
  wait "$mp"; krc=$?
  at=$(cat "$T/k/checkpoint/LATEST" 2>/dev/null)
  [ "$at" != "gen_0004" ] && break
  echo "  (the run finished before the kill with $games games per generation; retrying with more)"
done
[ "$krc" -ne 0 ] && grep -q "process rank 1 .* exited on signal 9" "$T/kerr" && ok "killed rank: the job ends, naming rank 1" ||
  bad "killed rank (rc=$krc: $(tr '\n' '|' <"$T/kerr" | head -c 400))"
case "$at" in gen_000[123]) ok "killed mid-run at $at" ;; *) bad "killed mid-run (LATEST: '$at')" ;; esac
mpi 2 train --mpi --out "$T/k" --resume
[ "$RC" -eq 0 ] && ok "--resume on 2 ranks after the kill" || bad "--resume after the kill (rc=$RC: $(head -c 300 "$T/err"))"
json_check "resumed run has 4 generations" "$T/k/summary.json" \
  "r['complete'] and [g['generation'] for g in r['generations']] == [1, 2, 3, 4]"
run_cmd train --out "$T/u" "${KILL[@]}"
[ "$RC" -eq 0 ] && same_nets "$T/u" "$T/k" && ok "killed + resumed on 2 ranks = uninterrupted 1-process run" ||
  bad "killed + resumed = uninterrupted (rc=$RC)"

summary cli_mpi
