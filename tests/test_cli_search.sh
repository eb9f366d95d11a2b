#!/usr/bin/env bash
# The arena command: text and JSON reports, thread-count independence, records, paired seats, flag and
# agent-spec errors (one line, exit 2), missing models (exit 1). play has its own tests/test_cli_play.sh.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
cd "$ROOT"

expect_ok "arena text report" "Elo difference \(mcts:50 - random\)" -- arena --p1 mcts:50 --p2 random --games 20 --seed 3
grep -q "20 games on 10 deals" "$T/out" && ok "arena counts deals" || bad "arena counts deals: $(head -1 "$T/out")"
[ ! -s "$T/err" ] && ok "no progress when stderr is not a terminal" || bad "stderr not empty: $(head -c 200 "$T/err")"
expect_ok "arena: one game on one deal (singular)" "^arena: greedy vs random, 1 game on 1 deal \(" -- arena --p1 greedy --p2 random --games 1

expect_ok "arena json" '^\{"p1":"greedy"' -- arena --p1 greedy --p2 random --games 40 --seed 5 --json --threads 1 --record "$T/r1.jsonl"
cp "$T/out" "$T/j1"
if "$PY" - "$T/j1" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
a, b = d["a"], d["b"]
assert d["games"] == 40 and d["deals"] == 20
assert a["wins"] + a["draws"] + a["losses"] == 40 and a["wins"] == b["losses"]
assert abs(a["score"] - (a["wins"] + 0.5 * a["draws"]) / 40) < 1e-9
assert a["score_lo"] <= a["score"] <= a["score_hi"]
assert a["games_as_p1"] == 20 and a["games_as_p2"] == 20
assert d["elo"] is None or d["elo_lo"] <= d["elo"] <= d["elo_hi"]
P
then ok "arena json is consistent"; else bad "arena json is consistent: $(cat "$T/j1")"; fi

run_cmd arena --p1 greedy --p2 random --games 40 --seed 5 --json --threads 2 --record "$T/r2.jsonl"
same_results() { # the two JSON reports agree on everything but threads and timings
  "$PY" - "$1" "$2" <<'P'
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k != "threads" and not k.startswith("seconds")}
    return o
a, b = (strip(json.load(open(f))) for f in sys.argv[1:3])
assert a == b, (a, b)
P
}
if [ "$RC" -eq 0 ] && cmp -s "$T/r1.jsonl" "$T/r2.jsonl" && same_results "$T/j1" "$T/out"; then
  ok "threads 1 and 2 give identical games and results"
else bad "threads 1 and 2 give identical games and results"; fi

run_cmd arena --p1 mcts:30,batch=4 --p2 greedy --games 6 --seed 9 --threads 2 --record "$T/r3.jsonl"
if [ "$RC" -eq 0 ] && [ "$(wc -l <"$T/r3.jsonl")" -eq 6 ] && "$PY" - "$T/r3.jsonl" <<'P'
import json, sys
g = [json.loads(l) for l in open(sys.argv[1])]
for i in range(0, 6, 2):
    x, y = g[i], g[i + 1]
    assert x["hands"] == y["hands"], "paired deal"
    assert x["deck_size"] == 21 and x["hand_size"] == 5 and x["max_rounds"] == 10, "standard record keys"
    assert x["p1"] == "mcts:30,batch=4" and y["p2"] == "mcts:30,batch=4", "seats swapped"
    assert len(x["moves"]) == 9 and sum(x["score"]) == 9 and x["winner"] in (1, 2)
P
then ok "records: paired deals, seats swapped, 9 moves each"; else bad "records: paired deals, seats swapped"; fi

expect_ok "arena records replay cleanly" "^6 records: " -- replay "$T/r3.jsonl"

expect_fail "unknown agent" 2 "agent spec 'alphazero': expected random, greedy" -- arena --p1 alphazero --p2 random
expect_fail "bad playouts" 2 "arena: --p2: agent spec 'mcts:x': PLAYOUTS must be an integer" -- arena --p1 random --p2 mcts:x
expect_fail "missing --p2" 2 "arena: --p1 SPEC and --p2 SPEC are required" -- arena --p1 random
expect_fail "bad --games" 2 "arena: --games expects an integer" -- arena --p1 random --p2 random --games 0
expect_fail "bad --hand" 2 "arena: --hand expects an integer" -- arena --p1 random --p2 random --hand 99
expect_fail "missing model" 1 "/nonexistent/rps_policy.onnx" -- arena --p1 mcts-net:10,nets=/nonexistent --p2 random --games 2
expect_fail "unwritable record" 2 "$T/nodir/x.jsonl" -- arena --p1 random --p2 random --games 2 --record "$T/nodir/x.jsonl"
[ ! -e "$T/nodir" ] && ok "nothing written on failure" || bad "nothing written on failure"
expect_ok "arena with a small game setup" "wins" -- arena --p1 greedy --p2 random --games 4 --deck 9 --hand 3 --rounds 3

# the backend registry: every name in --help, an unknown backend= refused naming the registry, backends that play
for nm in native-ref native-cpu native-cuda ort-cpu ort-cuda ort-tensorrt "ort-<provider>"; do
  "$BIN" benchmark --help | grep -qF -- "$nm" && ok "benchmark --help lists $nm" || bad "benchmark --help lists $nm"
done
expect_fail "arena: unknown backend=" 2 "backend= expects one of native-ref, ort-cpu, native-cpu, .*got .tpu." -- \
  arena --p1 "mcts-net:10,backend=tpu" --p2 random --games 2
for be in native-ref ort-cpu; do
  expect_ok "arena on backend=$be" "4 games on 2 deals" -- arena --p1 "mcts-net:20,backend=$be" --p2 random --games 4 --seed 3
done
# eval=incremental (src/search/eval_incremental.h): plays the same arena as eval=full; other backends refused
expect_ok "arena with eval=incremental" '"games":4,"deals":2' -- arena --p1 "mcts-net:40,eval=incremental" --p2 random \
  --games 4 --seed 3 --json --threads 1
cp "$T/out" "$T/inc.json"
run_cmd arena --p1 "mcts-net:40,eval=full" --p2 random --games 4 --seed 3 --json --threads 1
"$PY" - "$T/inc.json" "$T/out" <<'P' && ok "eval=incremental: the same results as eval=full" || bad "eval=incremental vs full"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["a"]["wins"] == b["a"]["wins"] and a["a"]["draws"] == b["a"]["draws"], (a["a"], b["a"])
P
expect_fail "eval=incremental on another backend" 2 "eval=incremental needs backend=native-cpu, got 'ort-cpu'" -- \
  arena --p1 "mcts-net:10,backend=ort-cpu,eval=incremental" --p2 random --games 2
expect_fail "eval= value" 2 "eval= expects full or incremental, got 'fast'" -- arena --p1 "mcts-net:10,eval=fast" --p2 random
expect_fail "train: unknown --backend" 2 "train: --backend expects one of native-ref" -- train --backend tpu
expect_fail "info: unknown --backend" 2 "info: --backend expects one of native-ref" -- info models/rps_policy.onnx --backend x
summary cli_search
