#!/usr/bin/env python3
"""perft_reference.py - independent brute-force reference for tests/test_game.c's perft numbers.

Written from shared/DESIGN.md section 1 without looking at src/game/game.c. Run once
(`python3 tests/perft_reference.py`); its output is pinned in test_game.c. For each case it prints
the number of positions at each depth (terminal positions are not expanded), with moves as
(hand index, position) - equal cards in a hand are NOT merged - and the outcome tally over all
complete move sequences (P1 wins, P2 wins, draws), plus the same with moves merged by card type.
"""
import sys

BEATS = {(0, 2), (1, 0), (2, 1)}  # rock>scissors, paper>rock, scissors>paper
NB = {p: [q for q in (p - 3, p + 1 if p % 3 < 2 else -1, p + 3, p - 1 if p % 3 > 0 else -1) if 0 <= q < 9]
      for p in range(9)}


def over(board, hands, mover, rnd, max_rounds):
    if not hands[1] and not hands[2]:
        return True
    if rnd > max_rounds:
        return True
    if not hands[mover]:
        return True
    return all(c is not None for c in board)


def play(board, hands, mover, rnd, card, pos):
    board = list(board)
    hands = {1: list(hands[1]), 2: list(hands[2])}
    t = hands[mover].pop(card)
    board[pos] = (t, mover)
    opp = 3 - mover
    for q in NB[pos]:
        c = board[q]
        if c is not None and c[1] == opp and (t, c[0]) in BEATS:
            board[q] = (c[0], mover)
    if mover == 2:
        rnd += 1
    return board, hands, opp, rnd


def walk(board, hands, mover, rnd, max_rounds, depth, counts, tally, merged):
    counts[depth] = counts.get(depth, 0) + 1
    if over(board, hands, mover, rnd, max_rounds):
        a = sum(1 for c in board if c and c[1] == 1)
        b = sum(1 for c in board if c and c[1] == 2)
        tally[0 if a > b else 1 if b > a else 2] += 1
        return
    seen = set()
    for ci, t in enumerate(hands[mover]):
        if merged and t in seen:
            continue
        seen.add(t)
        for pos in range(9):
            if board[pos] is None:
                nb, nh, nm, nr = play(board, hands, mover, rnd, ci, pos)
                walk(nb, nh, nm, nr, max_rounds, depth + 1, counts, tally, merged)


CASES = [
    # name, max_rounds, p1 hand, p2 hand
    ("h3_rps", 10, [0, 1, 2], [0, 1, 2]),
    ("h3_rrs_ppp", 10, [0, 0, 2], [1, 1, 1]),
    ("h4_rounds2", 2, [0, 1, 2, 0], [2, 2, 1, 0]),
    ("h2_rounds1", 1, [2, 1], [0, 0]),
]

if __name__ == "__main__":
    for name, mr, p1, p2 in CASES:
        for merged in (False, True):
            counts, tally = {}, [0, 0, 0]
            walk([None] * 9, {1: p1, 2: p2}, 1, 1, mr, 0, counts, tally, merged)
            print(name, "merged" if merged else "indexed", [counts[d] for d in sorted(counts)],
                  "p1/p2/draw", tally)
            sys.stdout.flush()
