#!/usr/bin/env python3
# play_transcript_check.py TRANSCRIPT (used by tests/test_cli_play.sh): checks a `neural_rps play` transcript
# against its own boards. Every board has the legend; every move announcement names a card the mover's hand showed
# (by its fixed number) and exactly the cells that changed owner on the next board, worded "cell N" / "cells A and
# B" / "cells A, B and C"; the other card numbers stay as they were; every prompt's example is a card in the hand
# on an empty cell; the summary's move count, cells held and result match the moves and the last board.
# Prints what it checked; exits 1 listing each mismatch.
import re, sys
lines = open(sys.argv[1]).read().split("\n")
ROW = re.compile(r"^  ((?:[RPS][12] |\.  ){3})   (?:cells|     ) (\d) (\d) (\d)$")
HAND = re.compile(r"^  (your hand|opponent's hand) \(Player([12])\):((?: \d+:[RPS])*)(?: \(empty\))?(?:   \(.*\))?$")
MOVE = re.compile(r"^(you play|\S+ plays) (Rock|Paper|Scissors) \(card (\d+)\) on cell (\d): (no capture|captures (cells? [0-9, and]+))(?:  \(search: .*\))?$")
PROMPT = re.compile(r"^your move, CARD CELL \(e\.g\. '(\d+) (\d)' = card (\d+), (Rock|Paper|Scissors), on cell (\d)\): ")
errs = []
board = None; hands = {}; human = None; pending = None; boards = 0; moves = 0; prompts = 0
def cells_of(text):
    return sorted(int(x) for x in re.findall(r"\d", text))
i = 0
while i < len(lines):
    l = lines[i]
    m = re.match(r"^neural_rps play: you are Player([12]) against (\S+)", l)
    if m: human = int(m.group(1))
    if ROW.match(l) and ROW.match(lines[i + 1]) and ROW.match(lines[i + 2]):
        nb = []
        for k in range(3):
            toks = [t for t in re.findall(r"[RPS][12]|\.", ROW.match(lines[i + k]).group(1))]
            nb += [None if t == "." else (t[0], int(t[1])) for t in toks]
        if not lines[i + 3].startswith("  R/P/S = Rock/Paper/Scissors, digit = owner (%d you, %d opponent), . = empty" % (human, 3 - human)):
            errs.append("no legend under the board at line %d" % (i + 4))
        nh = {}
        for k in (4, 5):
            hm = HAND.match(lines[i + k])
            if not hm: errs.append("line %d is not a hand: %r" % (i + k + 1, lines[i + k])); continue
            nh[int(hm.group(2))] = [(int(a), b) for a, b in re.findall(r"(\d+):([RPS])", hm.group(3))]
            if (hm.group(1) == "your hand") != (int(hm.group(2)) == human): errs.append("hand labels wrong at line %d" % (i + k + 1))
        if pending:
            who, typ, num, pos, caps = pending
            if nb[pos] != (typ[0], who): errs.append("move to cell %d not on the board after it" % pos)
            changed = sorted(p for p in range(9) if p != pos and board[p] and nb[p] and board[p][1] != nb[p][1])
            if changed != caps: errs.append("announced captures %s, board shows %s (move %d)" % (caps, changed, moves))
            if any(nb[p][1] != who for p in changed): errs.append("captured cells not the mover's")
            if (num, typ[0]) not in hands[who]: errs.append("card %d:%s was not in the hand shown" % (num, typ[0]))
            if nh[who] != [c for c in hands[who] if c[0] != num]: errs.append("hand numbers changed: %s -> %s" % (hands[who], nh[who]))
            if nh[3 - who] != hands[3 - who]: errs.append("the other hand changed")
            pending = None
        board, hands = nb, nh
        boards += 1
        i += 6
        continue
    pm = PROMPT.match(l)
    if pm:
        prompts += 1
        c, p, c2, t, p2 = int(pm.group(1)), int(pm.group(2)), int(pm.group(3)), pm.group(4), int(pm.group(5))
        if c != c2 or p != p2 or (c, t[0]) not in hands[human] or board[p] is not None:
            errs.append("prompt example is not a legal move: %r" % l)
    mm = MOVE.match(l)
    if mm:
        who = human if mm.group(1) == "you play" else 3 - human
        caps = cells_of(mm.group(6)) if mm.group(6) else []
        if mm.group(6):
            want = ("cell %d" % caps[0]) if len(caps) == 1 else "cells " + ", ".join(map(str, caps[:-1])) + " and %d" % caps[-1]
            if mm.group(6) != want: errs.append("capture list wording %r, want %r" % (mm.group(6), want))
        pending = (who, mm.group(2), int(mm.group(3)), int(mm.group(4)), caps)
        moves += 1
    gm = re.match(r"^game over after (\d+) (moves?) \((\d+) by you, (\d+) by (\S+)\): ", l)
    if gm:
        n = int(gm.group(1))
        if n != moves or gm.group(2) != ("move" if n == 1 else "moves") or int(gm.group(3)) + int(gm.group(4)) != n:
            errs.append("summary move count %r, %d moves announced" % (l, moves))
        own = {1: [p for p in range(9) if board[p] and board[p][1] == 1], 2: [p for p in range(9) if board[p] and board[p][1] == 2]}
        def lst(c): return "no cells" if not c else ("cell %d" % c[0] if len(c) == 1 else "cells " + ", ".join(map(str, c[:-1])) + " and %d" % c[-1])
        me, op = human, 3 - human
        empty = 9 - len(own[1]) - len(own[2])
        want = "  you (Player%d) hold %s; %s (Player%d) holds %s" % (me, lst(own[me]), gm.group(5), op, lst(own[op]))
        if empty: want += "; %d %s empty" % (empty, "cell is" if empty == 1 else "cells are")
        if lines[i + 1] != want: errs.append("summary cells %r, want %r" % (lines[i + 1], want))
        a, b = len(own[me]), len(own[op])
        cw = lambda k: "cell" if k == 1 else "cells"
        res = ("draw, %d %s each" % (a, cw(a))) if a == b else ("%s, %d %s to %d" % ("you win" if a > b else "you lose", a, cw(a), b))
        if lines[i + 2] != res: errs.append("result line %r, want %r" % (lines[i + 2], res))
        print("summary ok")
    i += 1
if pending: errs.append("last move not followed by a board")
print("%d boards, %d moves, %d prompts" % (boards, moves, prompts))
for e in errs: print("ERROR", e)
sys.exit(1 if errs or boards == 0 else 0)
