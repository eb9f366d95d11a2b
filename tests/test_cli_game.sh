#!/usr/bin/env bash
# CLI tests for `neural_rps replay` and `neural_rps solve`: outputs of known records and deals, one-line
# errors naming file/line/ply with exit 1, usage errors with exit 2.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}

G1='{"deck_size":21,"hand_size":5,"max_rounds":10,"hands":[[0,1,2,0,1],[2,2,1,0,0]],"moves":[[0,0],[0,1],[0,2],[0,3],[0,4],[0,5],[0,6],[0,7],[0,8]]}'
G2='{"deck_size":6,"hand_size":3,"max_rounds":10,"hands":[[0,1,2],[0,1,2]],"moves":[[2,4],[1,1],[0,0],[0,3],[0,8],[0,7]],"agents":["a","b"]}'
G3='{"deck_size":6,"hand_size":3,"max_rounds":10,"hands":[[0,1,2],[0,1,2]],"moves":[[0,0],[0,8],[0,1],[0,7],[0,2],[0,6]]}'
printf '%s\n\n%s\n%s\n' "$G1" "$G2" "$G3" >"$T/games.jsonl"

# --- replay ---
expect_ok "replay text" "^3 records: Player1 wins 1, Player2 wins 1, draws 1$" -- replay "$T/games.jsonl"
grep -q "game over after 9 plies: 6-3, Player1 wins" "$T/out" && grep -q "record 2 (line 3): 6 plies" "$T/out" \
  && ok "replay text boards and results" || bad "replay text boards and results"
grep -q "^  R1 S2 P1 " "$T/out" && ok "replay text board row" || bad "replay text board row"
expect_ok "replay json" '^\{"board"' -- replay --json "$T/games.jsonl"
cat >"$T/want.jsonl" <<'JSON'
{"board":[[0,1],[2,2],[1,1],[2,1],[2,2],[1,2],[0,1],[0,1],[1,1]],"winner":1,"score":[6,3],"plies":9}
{"board":[[0,1],[1,2],[-1,0],[0,2],[2,2],[-1,0],[-1,0],[2,2],[1,2]],"winner":2,"score":[1,5],"plies":6}
{"board":[[0,1],[1,1],[2,1],[-1,0],[-1,0],[-1,0],[2,2],[1,2],[0,2]],"winner":0,"score":[3,3],"plies":6}
JSON
cmp -s "$T/out" "$T/want.jsonl" && ok "replay json exact lines" || bad "replay json exact lines ($(tr '\n' '|' <"$T/out"))"
"$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/out" && ok "replay json parses" || bad "replay json parses"
expect_ok "replay help" "usage: neural_rps replay" -- replay --help

printf '%s\n%s\n' "$G1" '{"deck_size":21,"hand_size":5,"max_rounds":10,"hands":[[0,1,2,0,1],[2,2,1,0,0]],"moves":[[0,0],[0,1],[0,1]]}' >"$T/illegal.jsonl"
expect_fail "replay illegal move" 1 "^neural_rps replay: .*illegal\.jsonl: line 2: ply 3 \(move \[0,1\]\): illegal move: position 1 is already occupied$" -- replay "$T/illegal.jsonl"
expect_fail "replay illegal move (json mode, no partial output)" 1 "line 2: ply 3" -- replay --json "$T/illegal.jsonl"
printf '%s\n%s\n{"deck_size":21,\n' "$G1" "$G2" >"$T/badjson.jsonl"
expect_fail "replay bad JSON" 1 "badjson\.jsonl: line 3: malformed JSON" -- replay "$T/badjson.jsonl"
printf '%s\n' '{"deck_size":21,"hand_size":5,"max_rounds":10,"hands":[[0,1,2,0,1],[2,2,1,0,0]],"moves":[[0,0],[0,1]]}' >"$T/short.jsonl"
expect_fail "replay unfinished game" 1 "short\.jsonl: line 1: ply 2: game not finished" -- replay "$T/short.jsonl"
printf '%s\n' '{"deck_size":21,"hand_size":5,"max_rounds":10,"hands":[[0,1,2,0,1],[2,2,1,0,7]],"moves":[]}' >"$T/type.jsonl"
expect_fail "replay bad card type" 1 "type\.jsonl: line 1: \"hands\"\[1\]\[4\]: card type" -- replay "$T/type.jsonl"
expect_fail "replay missing file" 1 "^neural_rps replay: $T/nope\.jsonl: cannot open" -- replay "$T/nope.jsonl"
expect_fail "replay directory" 1 "is a directory" -- replay "$T"
expect_fail "replay no file" 2 "missing FILE" -- replay
expect_fail "replay unknown flag" 2 "unknown flag '--bogus'" -- replay --bogus "$T/games.jsonl"
: >"$T/empty.jsonl"
expect_ok "replay empty file" "^0 records" -- replay "$T/empty.jsonl"

# --- solve ---
expect_ok "solve default deal" "^value: Player1 to move loses with optimal play, final margin -1 cells$" -- solve
grep -q "Player1 hand: 0:R 1:R 2:R 3:S 4:R" "$T/out" && grep -q "13 of 18" "$T/out" && grep -q "^nodes [0-9]*, " "$T/out" \
  && ok "solve default deal: hands, optimal count, nodes" || bad "solve default deal: hands, optimal count, nodes"
grep -q "^  \* Rock     (card 0) -> position 4: loss -1$" "$T/out" && grep -q "^    Scissors (card 3) -> position 4: loss -3$" "$T/out" \
  && ok "solve lists moves with values" || bad "solve lists moves with values"
expect_ok "solve json" '^\{"to_move":1,"ply":0' -- solve --json --seed 3
"$PY" - "$T/out" <<'PY' && ok "solve json consistent" || bad "solve json consistent"
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["hands"] == [[2, 1, 2, 1, 2], [0, 0, 2, 2, 0]], d["hands"]
best = max(m["margin"] for m in d["moves"])
assert best == d["margin"] and d["margin"] % 2 != 0
assert all(m["optimal"] == (m["margin"] == best) for m in d["moves"])
assert d["n_optimal"] == sum(m["optimal"] for m in d["moves"])
assert len(d["moves"]) == 18  # two card types x 9 cells
assert d["result"] == ("win" if best > 0 else "loss")
assert d["nodes"] > 0 and d["seconds"] >= 0
PY
expect_ok "solve small setup" "^value: Player1 to move" -- solve --seed 4 --deck 6 --hand 3 --rounds 10
expect_ok "solve record prefix" "^value: Player2 to move wins with optimal play, final margin \+2 cells$" -- solve --record "$T/games.jsonl" --line 3 --ply 3
grep -q "8 of 12" "$T/out" && ok "solve record prefix: optimal moves" || bad "solve record prefix: optimal moves"
expect_ok "solve record after 1 ply (singular)" "^position: .*games\.jsonl line 3 after 1 ply$" -- solve --record "$T/games.jsonl" --line 3 --ply 1
expect_ok "solve finished record" "^value: the game is over; margin -4" -- solve --record "$T/games.jsonl" --line 3 --ply 6
expect_ok "solve drawn record start json" '"result":"(win|draw|loss)"' -- solve --json --record "$T/games.jsonl" --line 4
expect_fail "solve ply beyond record" 1 "solve: --ply 7: .* holds only 6 moves" -- solve --record "$T/games.jsonl" --line 3 --ply 7
expect_fail "solve blank line" 1 "line 2 is blank" -- solve --record "$T/games.jsonl" --line 2
expect_fail "solve no such line" 1 "has no line 9" -- solve --record "$T/games.jsonl" --line 9
expect_fail "solve illegal record" 1 "line 2: ply 3 \(move \[0,1\]\)" -- solve --record "$T/illegal.jsonl" --line 2
expect_fail "solve missing record file" 1 "nope\.jsonl: cannot open" -- solve --record "$T/nope.jsonl"
expect_fail "solve conflicting flags" 2 "cannot be combined" -- solve --seed 2 --record "$T/games.jsonl"
expect_fail "solve ply without record" 2 "need --record" -- solve --ply 2
expect_fail "solve bad seed" 2 "solve: --seed expects an integer" -- solve --seed abc
expect_fail "solve bad setup" 2 "bad setup: deck size 8" -- solve --deck 8 --hand 5
expect_fail "solve bad table size" 2 "solve: --tt-log2 expects" -- solve --tt-log2 40
summary cli_game
