/* bestresponse.h - exact best response to the uniformly random agent (expectimax).
 *
 * "We" are one fixed player (our_player). At our nodes the value is the maximum over our moves; at the
 * opponent's nodes it is the average over the `random` agent's move distribution exactly as that agent
 * draws it: uniform over rps_state_legal_moves, i.e. over (hand index, empty position) pairs, so a card
 * type held k times out of n cards is played with probability k/n and each empty cell with probability
 * 1/empties. Leaves are the arena score from our side: win 1, draw 0.5, loss 0. The value of a position
 * is therefore the highest expected score ANY player can reach against `random` from there; on a fresh
 * deal it is the ceiling of an agent's expected arena score on that deal and seat.
 *
 * Positions are memoised in a transposition table keyed by the whole position modulo the 8 symmetries of
 * the square (they preserve adjacency, and the random agent is symmetric too): board, both hands as type
 * counts, side to move, rounds left (clipped to 15: at most 9 plies remain), and which side is ours.
 * Values are exact expectations (no pruning), so entries are always valid and simply replaced on a
 * collision of slots.
 *
 * Thread safety: one instance per thread; no global mutable state. */
#ifndef NRPS_BESTRESPONSE_H
#define NRPS_BESTRESPONSE_H

#include <stdint.h>

#include "game/game.h"

typedef struct rps_br rps_br;

/* Two expectations closer than this are treated as equal (ties between best moves). */
#define RPS_BR_TIE_EPS 1e-12

/* Creates an instance with a table of 2^tt_log2 entries of 16 bytes (tt_log2 in 10..28; 0 = default 20,
 * i.e. 16 MiB). Returns NULL with the error set on a bad size or out of memory. */
rps_br *rps_br_create(int tt_log2);
void rps_br_destroy(rps_br *br); /* NULL is fine */
/* Empties the table (values do not depend on it; only timings do). */
void rps_br_clear(rps_br *br);
/* Nodes visited since creation (every position, terminal ones and table hits included). */
uint64_t rps_br_nodes(const rps_br *br);

/* Expected arena score (win 1, draw 0.5, loss 0) of our_player (RPS_P1 or RPS_P2) playing the best response
 * against the uniformly random agent from s, whoever is to move; for a finished game, the result on the
 * board. Returns NRPS_ERR_ARG (error set, *value untouched) for a bad player or a malformed state. */
nrps_status rps_br_value(rps_br *br, const rps_state *s, int our_player, double *value);

typedef struct {
    rps_move move; /* card = first hand index holding `type`; pos = position */
    int type;      /* card type played */
    double prob;   /* probability that the random agent plays it (when the opponent is to move), else 0 */
    double value;  /* our expected score after this move */
    int best;      /* our move within RPS_BR_TIE_EPS of the best value (0 when the opponent is to move) */
} rps_br_move;

typedef struct {
    int our_player;                           /* as given */
    int ours_to_move;                         /* 1 when s->to_move == our_player */
    double value;                             /* our expected score at s (max or average over moves) */
    int n_moves;                              /* distinct moves (by card type), 0 if the game is over */
    rps_br_move moves[RPS_NTYPES * RPS_CELLS]; /* in rps_state_distinct_moves order */
    int n_best;                               /* our best moves (0 when the opponent is to move) */
    uint64_t nodes;                           /* nodes visited by this call */
    double seconds;                           /* wall time of this call */
} rps_br_info;

/* Value of s for our_player and the value after each distinct move of the side to move. The best moves
 * (our turn) are those within RPS_BR_TIE_EPS of the maximum. NRPS_ERR_ARG as rps_br_value. */
nrps_status rps_br_analyse(rps_br *br, const rps_state *s, int our_player, rps_br_info *info);

/* Writes our best moves at s (s->to_move must be our side, game not over) into out (room for
 * RPS_NTYPES * RPS_CELLS) and returns their count (>= 1), or -1 with the error set. */
int rps_br_best_moves(rps_br *br, const rps_state *s, rps_move *out);

#endif
