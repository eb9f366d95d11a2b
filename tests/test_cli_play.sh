#!/usr/bin/env bash
# `neural_rps play` driven through stdin: the board legend, fixed card numbers, the prompt's example, capture
# announcements (checked against the boards by play_transcript_check.py), the closing summary, singular and
# plural wording, invalid input re-asked, quit / end of input (exit 1, one line), records, and the default
# opponent with and without the trained networks in ./models.
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
CHECK="$ROOT/tests/play_transcript_check.py"
cd "$ROOT"
# check_transcript NAME: play's stdout in $T/out is consistent with itself (see play_transcript_check.py)
check_transcript() {
  if "$PY" "$CHECK" "$T/out" >"$T/check" 2>&1; then ok "$1: transcript consistent ($(tail -1 "$T/check"))"
  else bad "$1: transcript ($(grep ERROR "$T/check" | head -3 | tr '\n' '|'))"; fi
}
# every card tried on every cell in order: taken cells and played cards are re-asked, so the game always finishes
ALL=$(for c in 0 1 2 3 4; do for p in 0 1 2 3 4 5 6 7 8; do echo "$c $p"; done; done)

# invalid inputs are re-asked with a reason, then end of input stops cleanly (exit 1, one line)
printf 'hello\n7 4\n0 9\nX 1\n' | "$BIN" play --agent random --seed 2 >"$T/out" 2>"$T/err"; RC=$?
if [ "$RC" -eq 1 ] && grep -q "invalid: type two things: a card (its number or R/P/S) and a cell 0..8, e.g. '0 4'" "$T/out" &&
   grep -q "invalid: card 7 is not in your hand; your cards are 0 (" "$T/out" &&
   grep -q "invalid: cell must be a number 0..8, got '9'" "$T/out" && grep -q "invalid: 'X' is not a card" "$T/out" &&
   [ "$(grep -c '' "$T/err")" -eq 1 ] && grep -q "end of input: game abandoned after 0 moves$" "$T/err"
then ok "play: invalid input re-asked, EOF ends cleanly"
else bad "play: invalid input re-asked, EOF ends cleanly (rc=$RC, err: $(cat "$T/err"))"; fi

# a full game against greedy (seed 5): legend, fixed numbers, prompt example, captures (one and two cells), summary
echo "$ALL" | "$BIN" play --agent greedy --seed 5 --record "$T/game.jsonl" >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 0 ] && [ ! -s "$T/err" ] && ok "play: scripted full game exits 0" || bad "play: scripted full game (rc=$RC, err: $(cat "$T/err"))"
check_transcript "seed 5"
[ "$(grep -c '^  R/P/S = Rock/Paper/Scissors, digit = owner (1 you, 2 opponent), \. = empty$' "$T/out")" -eq 10 ] &&
  ok "play: a legend under each of the 10 boards" || bad "play: legend count $(grep -c 'R/P/S = ' "$T/out")"
grep -q "^  \.  \.  \.     cells 0 1 2$" "$T/out" && grep -qF "your hand (Player1): 0:S 1:R 2:S 3:S 4:P   (card number:type; numbers stay fixed all game)" "$T/out" &&
  ok "play: cell numbers beside the board, hand with its card numbers" || bad "play: board and hand lines ($(sed -n 7,14p "$T/out" | tr '\n' '|'))"
grep -qF "your move, CARD CELL (e.g. '0 4' = card 0, Scissors, on cell 4): " "$T/out" && ok "play: the prompt gives an example" ||
  bad "play: prompt example ($(grep -m1 '^your move' "$T/out"))"
grep -q "invalid: card 0 is not in your hand (played already); your cards are 1 (Rock), 2 (Scissors), 3 (Scissors), 4 (Paper)$" "$T/out" &&
  ok "play: a played card's number is refused, the rest keep theirs" || bad "play: played card ($(grep -m1 'played already' "$T/out"))"
grep -q "^greedy plays Rock (card 2) on cell 3: captures cell 0$" "$T/out" && grep -q "^you play Rock (card 1) on cell 1: captures cell 0$" "$T/out" &&
  grep -q "^you play Paper (card 4) on cell 6: captures cells 3 and 7$" "$T/out" && grep -qE "^you play .*: no capture$" "$T/out" &&
  ok "play: captures announced (cell N, cells A and B, no capture)" || bad "play: capture lines ($(grep -E 'plays? ' "$T/out" | tr '\n' '|'))"
if [ "$(tail -3 "$T/out" | tr '\n' '|')" = "game over after 9 moves (5 by you, 4 by greedy): the board is full|  you (Player1) hold cells 0, 2, 3, 6 and 7; greedy (Player2) holds cells 1, 4, 5 and 8|you win, 5 cells to 4|" ]
then ok "play: closing summary"; else bad "play: closing summary ($(tail -3 "$T/out" | tr '\n' '|'))"; fi
grep -q '"p1":"human","p2":"greedy"' "$T/game.jsonl" && [ "$(wc -l <"$T/game.jsonl")" -eq 1 ] && ok "play: record written" || bad "play: record"
expect_ok "play record replays (1 record, singular)" "^1 record: Player1 wins 1, Player2 wins 0, draws 0$" -- replay "$T/game.jsonl"

# seed 7: a three-cell capture
echo "$ALL" | "$BIN" play --agent greedy --seed 7 >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 0 ] && grep -q "^you play Paper (card 3) on cell 4: captures cells 1, 3 and 5$" "$T/out" && ok "play: captures of three cells listed" ||
  bad "play: three-cell capture (rc=$RC, $(grep captures "$T/out" | tr '\n' '|'))"
check_transcript "seed 7"

# Player2 against mcts:20, moves by type letter
echo "$ALL" | sed 's/^0 /S /' | "$BIN" play --agent mcts:20 --seat 2 --seed 4 >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 0 ] && grep -q "^mcts:20 plays .* (search: 20 playouts, its win estimate [0-9.]*)$" "$T/out" &&
  grep -q "digit = owner (2 you, 1 opponent)" "$T/out" && grep -qE "^game over after 9 moves \(4 by you, 5 by mcts:20\)" "$T/out" &&
  grep -qE "^you (win|lose), [0-9] cells? to [0-9]$|^draw, " "$T/out" && ok "play as Player2" || bad "play as Player2 (rc=$RC, $(tail -3 "$T/out" | tr '\n' '|'))"
check_transcript "Player2"
grep -q "^you play Scissors (card 0) on cell" "$T/out" && ok "play: a card by its type letter" || bad "play: type letter"

# singular wording: one move each, one cell each, a draw; no cells held; one card left
echo "0 0" | "$BIN" play --agent greedy --rounds 1 --seed 9 >"$T/out" 2>"$T/err"; RC=$?
if [ "$RC" -eq 0 ] && [ "$(tail -3 "$T/out" | tr '\n' '|')" = "game over after 2 moves (1 by you, 1 by greedy): the round limit is reached|  you (Player1) hold cell 0; greedy (Player2) holds cell 2; 7 cells are empty|draw, 1 cell each|" ]
then ok "play: summary in the singular (draw, 1 cell each)"; else bad "play: singular summary (rc=$RC, $(tail -3 "$T/out" | tr '\n' '|'))"; fi
check_transcript "round limit draw"
echo "0 0" | "$BIN" play --agent greedy --rounds 1 --seed 1 >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 0 ] && grep -q "^  you (Player1) hold no cells; greedy (Player2) holds cells 0 and 3; 7 cells are empty$" "$T/out" &&
  grep -q "^you lose, 0 cells to 2$" "$T/out" && ok "play: summary with no cells held" || bad "play: no cells ($(tail -3 "$T/out" | tr '\n' '|'))"
printf '1 4\n' | "$BIN" play --agent greedy --deck 9 --hand 1 --seed 9 >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 1 ] && grep -q "invalid: card 1 is not in your hand; your card is 0 (" "$T/out" && ok "play: 'your card is' with one card" ||
  bad "play: one card ($(grep invalid "$T/out"))"
printf 'quit\n' | "$BIN" play --agent random --seat 2 --seed 1 >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 1 ] && [ "$(cat "$T/err")" = "neural_rps play: quit: game abandoned after 1 move" ] && ok "play: quit after 1 move (singular)" ||
  bad "play: quit (rc=$RC, $(cat "$T/err"))"
printf 'quit\n' | "$BIN" play --agent random --seed 1 >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 1 ] && grep -q "quit: game abandoned after 0 moves$" "$T/err" && ok "play: quit" || bad "play: quit (rc=$RC)"

# the default opponent: mcts-net:200 with ./models/rps_policy.onnx + rps_value.onnx, else mcts:200 saying why
if [ -f models/rps_policy.onnx ] && [ -f models/rps_value.onnx ]; then
  echo "$ALL" | "$BIN" play --seed 3 >"$T/out" 2>"$T/err"; RC=$?
  [ "$RC" -eq 0 ] && grep -q "^neural_rps play: you are Player1 against mcts-net:200 (seed 3)$" "$T/out" &&
    grep -qF "opponent: mcts-net:200 (the default): MCTS with 200 playouts a move, guided by the trained networks models/rps_policy.onnx and models/rps_value.onnx; --agent SPEC picks another" "$T/out" &&
    grep -q "^mcts-net:200 plays .*(search: 200 playouts" "$T/out" && ok "play: default opponent mcts-net:200 with the trained nets" ||
    bad "play: default with models (rc=$RC, $(head -2 "$T/out" | tr '\n' '|') $(cat "$T/err"))"
  check_transcript "default mcts-net:200"
else skip "play: default opponent with models (models/ has no default pair)"; fi
mkdir -p "$T/nomodels" "$T/half/models"
cp models/rps_policy.onnx "$T/half/models/" 2>/dev/null
(cd "$T/nomodels" && printf 'quit\n' | "$BIN" play --seed 3 >"$T/out" 2>"$T/err"); RC=$?
[ "$RC" -eq 1 ] && grep -q "^neural_rps play: you are Player1 against mcts:200 (seed 3)$" "$T/out" &&
  grep -qF "opponent: mcts:200 (MCTS with 200 random-rollout playouts a move, no networks): the default mcts-net:200 needs models/rps_policy.onnx and models/rps_value.onnx, and both are missing from $(cd "$T/nomodels" && pwd -P); run from the project folder or pass --agent mcts-net:200,nets=DIR" "$T/out" &&
  ok "play: default opponent mcts:200 without models, saying why" || bad "play: default without models ($(head -2 "$T/out" | tr '\n' '|'))"
(cd "$T/half" && printf 'quit\n' | "$BIN" play --seed 3 >"$T/out" 2>"$T/err"); RC=$?
[ "$RC" -eq 1 ] && grep -q "against mcts:200 " "$T/out" && grep -q "and the value network is missing from " "$T/out" &&
  ok "play: default mcts:200 when only the policy network is there" || bad "play: half models ($(sed -n 2p "$T/out"))"
printf 'quit\n' | "$BIN" play --agent random --seed 3 >"$T/out" 2>"$T/err"
grep -q "^opponent:" "$T/out" && bad "play: no default line with --agent" || ok "play: no default line with --agent"
expect_ok "play --help: default opponent and a move example" "default mcts-net:200 with models/rps_policy.onnx" -- play --help
grep -qF "'0 4' = card 0 on cell 4" "$T/out" && ok "play --help: move example" || bad "play --help: move example"

expect_fail "play: bad seat" 2 "play: --seat expects an integer in \[1, 2\]" -- play --seat 3
expect_fail "play: bad agent" 2 "play: --agent: agent spec 'mcts:-5'" -- play --agent mcts:-5
summary cli_play
