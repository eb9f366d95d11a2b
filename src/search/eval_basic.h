/* eval_basic.h - network-free evaluators for MCTS: uniform priors with a random-rollout value, and
 * uniform priors with a fixed 0.5 value (pure prior search, for tests). Each owns its rng. */
#ifndef NRPS_EVAL_BASIC_H
#define NRPS_EVAL_BASIC_H

#include "search/evaluator.h"

typedef struct eval_rollout eval_rollout;

/* Uniform priors over the 9 positions; value = result (1 / 0.5 / 0) for the player to move of one game
 * played to the end with uniformly random legal moves (rng owned here, seeded with seed). max_batch as
 * given (>= 1). Returns NULL with the error set. The evaluator stays valid until eval_rollout_destroy. */
eval_rollout *eval_rollout_create(uint64_t seed, int max_batch);
void eval_rollout_destroy(eval_rollout *e); /* accepts NULL */
void eval_rollout_reseed(eval_rollout *e, uint64_t seed);
const mcts_evaluator *eval_rollout_evaluator(eval_rollout *e);

/* Plays uniformly random legal moves (random empty cell, random hand card) from s to the end; returns
 * the value for `player` (1 win, 0.5 draw, 0 loss). s is not modified. */
double eval_random_playout(const rps_state *s, int player, nrps_rng *rng);

/* Uniform priors and value 0.5 for every state: a static evaluator (no state, any batch size). */
const mcts_evaluator *eval_uniform_evaluator(void);

#endif
