/* solver.h - exact game-theoretic solver for rps positions: negamax alpha-beta over the remaining plies
 * with a transposition table, moves merged by card type (equal cards in a hand are equivalent). Values are
 * the final cell margin (cells owned by the side to move minus the opponent's, -9..9) under optimal play
 * by both sides, and the result (win/draw/loss = its sign).
 *
 * Thread safety: a solver instance (and its transposition table) belongs to one thread at a time; run one
 * instance per thread. There is no global mutable state. The table is keyed by the full position (board,
 * hand contents per type, side to move, rounds left), so entries stay valid across positions and configs and
 * a solver can be reused for any number of solves. */
#ifndef NRPS_SOLVER_H
#define NRPS_SOLVER_H

#include <stdint.h>

#include "game/game.h"
#include "search/evaluator.h"

typedef struct rps_solver rps_solver;

/* Creates a solver with a transposition table of 2^tt_log2 entries of 16 bytes (tt_log2 in 10..28; 0 = the
 * default 16, i.e. 1 MiB: solving a standard deal visits about 35k nodes, and a small table stays in cache).
 * Returns NULL with the error set on a bad size or out of memory. */
rps_solver *rps_solver_create(int tt_log2);
void rps_solver_destroy(rps_solver *sv); /* NULL is fine */
/* Empties the transposition table (results do not depend on it; only timings do). */
void rps_solver_clear(rps_solver *sv);
/* Nodes searched since creation (every position visited, terminal ones and table hits included). */
uint64_t rps_solver_nodes(const rps_solver *sv);

/* Exact final margin for the side to move (-9..9) with optimal play; for a finished game, the margin on the
 * board from the view of s->to_move. s must be a state built by game.c (deal/from_hands + apply). */
int rps_solver_margin(rps_solver *sv, const rps_state *s);
/* Game-theoretic result for the side to move: +1 win, 0 draw, -1 loss (a cheaper null-window search). */
int rps_solver_result(rps_solver *sv, const rps_state *s);

typedef struct {
    rps_move move; /* card = first hand index holding `type`; pos = position */
    int type;      /* card type played */
    int margin;    /* exact final margin for the mover after this move, with optimal play afterwards */
    int result;    /* sign of margin: +1 win, 0 draw, -1 loss for the mover */
    int optimal;   /* 1 when margin equals the best margin */
} rps_solver_move;

typedef struct {
    int margin;                            /* best margin for the side to move */
    int result;                            /* +1 / 0 / -1 for the side to move */
    int n_moves;                           /* distinct moves (by card type), 0 if the game is over */
    rps_solver_move moves[RPS_NTYPES * RPS_CELLS]; /* in rps_state_distinct_moves order */
    int n_optimal;                         /* moves reaching the best margin */
    int n_result_optimal;                  /* moves reaching the best result (superset of the above) */
    uint64_t nodes;                        /* nodes searched by this call */
    double seconds;                        /* wall time of this call */
} rps_solve_info;

/* Full analysis of s: value and every distinct move's exact margin. Never fails on a valid state;
 * returns NRPS_ERR_ARG (error set) when s is not a well-formed state. */
nrps_status rps_solver_analyse(rps_solver *sv, const rps_state *s, rps_solve_info *info);

/* An mcts_evaluator backed by the solver (ctx = sv, not owned; sv must outlive ev): value = 1 / 0.5 / 0
 * for a won / drawn / lost position (side to move), policy = uniform over the positions where some card
 * reaches the best result, 0 elsewhere. max_batch = 256. Same thread rule as the solver itself. */
void rps_solver_evaluator_init(mcts_evaluator *ev, rps_solver *sv);

#endif
