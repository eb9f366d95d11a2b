#!/usr/bin/env bash
# CLI tests for `neural_rps solve --vs-random` (exact best response to the random agent): one position
# (text and JSON, from either seat, record prefixes), the arena-deal aggregate (--arena-seed, --games,
# --per-game, JSON), the `bestresponse` arena agent, and usage errors with exit 2.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}

# --- one position ---
expect_ok "vs-random default deal" "^best response to random: Player1's expected score 0\.996962 \(win 1, draw 0\.5, loss 0\)$" -- solve --vs-random
grep -q "^moves (one per card type and position; \* = best, 4 of 18)" "$T/out" && grep -q "^  \* Rock     (card 0) -> position 1: 0\.996962$" "$T/out" \
  && ok "vs-random lists best moves" || bad "vs-random lists best moves"
expect_ok "vs-random as Player2" "^best response to random: Player2's expected score" -- solve --vs-random --as 2
grep -q "^the random agent (Player1) is to move" "$T/out" && grep -q "p 0\.0889" "$T/out" \
  && ok "vs-random opponent to move: probabilities (Rock held 4 of 5: 4/45)" || bad "vs-random opponent to move: probabilities"
for as in 1 2; do
  expect_ok "vs-random json as $as" '^\{"our_player":'$as -- solve --vs-random --json --seed 3 --as $as
  "$PY" - "$T/out" <<'PY' && ok "vs-random json consistent (as $as)" || bad "vs-random json consistent (as $as)"
import json, sys
d = json.loads(open(sys.argv[1]).read())
vals = [m["value"] for m in d["moves"]]
assert len(vals) == 18 and all(0 <= v <= 1 for v in vals)
if d["our_player"] == d["to_move"]:
    assert abs(d["value"] - max(vals)) < 1e-12
    assert d["n_best"] == sum(m["best"] for m in d["moves"]) >= 1
    assert all(m["prob"] == 0 for m in d["moves"])
else:
    assert abs(sum(m["prob"] for m in d["moves"]) - 1) < 1e-9
    assert abs(d["value"] - sum(m["prob"] * m["value"] for m in d["moves"])) < 1e-9
    assert d["n_best"] == 0
PY
done
G3='{"deck_size":6,"hand_size":3,"max_rounds":10,"hands":[[0,1,2],[0,1,2]],"moves":[[0,0],[0,8],[0,1],[0,7],[0,2],[0,6]]}'
echo "$G3" >"$T/g.jsonl"
expect_ok "vs-random finished draw" "^best response to random: Player2's expected score 0\.500000" -- solve --vs-random --record "$T/g.jsonl" --ply 6 --as 2
expect_ok "vs-random record prefix" "^best response to random: Player2's expected score" -- solve --vs-random --record "$T/g.jsonl" --ply 3

# --- the arena's deals ---
expect_ok "arena-seed aggregate" "^ceiling \(exact expected score of the best response; no agent can expect more\): 0\.998095$" -- solve --vs-random --arena-seed 1 --games 4 --per-game
grep -q "^  as Player1 (2 games): 1\.000000$" "$T/out" && grep -q "^  as Player2 (2 games): 0\.996190$" "$T/out" \
  && grep -q "^game 3: deal 1, Player2, 0\.993333$" "$T/out" && ok "arena-seed per seat and per game" || bad "arena-seed per seat and per game"
expect_ok "arena-seed json" '^\{"arena_seed":2,"games":9,"deals":5' -- solve --vs-random --arena-seed 2 --games 9 --deck 9 --hand 3 --per-game --json
"$PY" - "$T/out" <<'PY' && ok "arena-seed json consistent" || bad "arena-seed json consistent"
import json, sys
d = json.loads(open(sys.argv[1]).read())
g = d["per_game"]
assert len(g) == 9 and d["games_as_p1"] == 5 and d["games_as_p2"] == 4
assert abs(d["ceiling"] - sum(g) / 9) < 1e-9
assert abs(d["ceiling_as_p1"] - sum(g[0::2]) / 5) < 1e-9 and abs(d["ceiling_as_p2"] - sum(g[1::2]) / 4) < 1e-9
assert (d["deck"], d["hand"], d["rounds"]) == (9, 3, 10)
PY
expect_ok "bestresponse arena agent" "bestresponse +wins" -- arena --p1 bestresponse --p2 random --games 6 --deck 9 --hand 3

# --- usage errors ---
expect_fail "as without vs-random" 2 "solve: --as, --arena-seed, --games and --per-game need --vs-random" -- solve --as 1
expect_fail "games without arena-seed" 2 "solve: --games and --per-game need --arena-seed S" -- solve --vs-random --games 10
expect_fail "arena-seed with seed" 2 "cannot be combined" -- solve --vs-random --arena-seed 1 --seed 3
expect_fail "bad as" 2 "solve: --as expects" -- solve --vs-random --as 3
expect_fail "bad games" 2 "solve: --games expects" -- solve --vs-random --arena-seed 1 --games 0
expect_fail "bad arena setup" 2 "bad setup" -- solve --vs-random --arena-seed 1 --deck 8 --hand 5
expect_fail "bestresponse takes no playouts" 2 "agent spec 'bestresponse:5'" -- arena --p1 bestresponse:5 --p2 random --games 2
expect_ok "help documents vs-random" " --arena-seed S  average over the games" -- solve --help

summary cli_bestresponse
