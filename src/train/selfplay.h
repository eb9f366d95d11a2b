/* selfplay.h - AlphaZero-style self-play for training: games played by PUCT MCTS with the current policy
 * and value networks (Dirichlet noise at the root, temperature for the first plies, then greedy), turned
 * into training samples (packed position key, root visit distribution, final result for the mover).
 *
 * Reproducibility: game g of generation gen draws its deal, noise and move sampling from one rng seeded
 * by selfplay_game_seed(seed, gen, g) only, and samples are returned in game order, so the result does
 * not depend on the thread count, on scheduling, or on how many MPI processes share the games
 * (selfplay_config.distributed, util/mpi_dist.h). */
#ifndef NRPS_SELFPLAY_H
#define NRPS_SELFPLAY_H

#include <stdint.h>

#include "game/game.h"
#include "backend/backend.h"
#include "search/eval_net.h"
#include "search/mcts.h"

/* One position seen in self-play. key packs what the network sees (board + side to move, and the hands
 * in the hands encoding, see sp_key_from_state); policy[p] = share of root visits that went to position p (sums to 1, 0 on
 * occupied cells); value = final result for the player to move there (win 1, draw 0.5, loss 0). */
typedef struct {
    uint64_t key;
    float policy[RPS_POLICY_SIZE];
    float value;
} sp_sample;

/* Packs the part of s that the network sees in encoding enc: per cell 3 bits (0 empty, 1 + 2*type + owner-1),
 * bit 27 set when Player2 is to move; with RPS_ENC_HANDS also the hand counts, 5 bits each from bit 28
 * (Player1's Rock, Paper, Scissors, then Player2's). Two states with equal keys have identical
 * rps_state_encode_as(., enc, .) outputs. */
uint64_t sp_key_from_state(const rps_state *s, rps_encoding enc);
/* Writes the 81-float network input of a key (identical to rps_state_encode_as of any state with that key in
 * the encoding the key was made with: a board-encoding key has zero hand bits). */
void sp_key_encode(uint64_t key, float out[RPS_INPUT_SIZE]);

typedef struct {
    rps_config game;
    mcts_config mcts;    /* playouts, c_puct, batch, Dirichlet noise, temperature (+ plies), reuse */
    rps_encoding enc;    /* input encoding of both networks (and of the sample keys) */
    int threads;         /* >= 1 */
    uint64_t seed;
    double random_share; /* share of games (0..1) in which one seat, chosen at random, plays uniformly
                            random moves; only the searching side's positions are recorded there */
    int progress;        /* draw a progress line on stderr (the caller decides: terminal only) */
    const char *label;   /* progress prefix, e.g. "gen 3/20" (may be NULL) */
    const char *backend; /* backend the networks run on (NULL = SELFPLAY_DEFAULT_BACKEND) */
    int distributed;     /* split the games over the processes of the MPI job (nrps_dist_share blocks) */
} selfplay_config;

/* native-ref: its results do not depend on the CPU's vector ISA, so training runs reproduce on every machine. */
#define SELFPLAY_DEFAULT_BACKEND "native-ref"

typedef struct {
    long games, positions;
    long p1_wins, p2_wins, draws;
    long searches, eval_states;
    double seconds;
} selfplay_stats;

/* Seed of game g of generation gen (splitmix mixing). */
uint64_t selfplay_game_seed(uint64_t seed, int gen, long g);

/* Plays one self-play game with an existing search m and evaluator ev, seeded with game_seed; writes at
 * most RPS_MAX_PLIES samples to out (and, when states is not NULL, the position of each sample to states)
 * and returns their count in *n. *winner gets RPS_P1/RPS_P2/RPS_NONE.
 * Positions with a single distinct move are recorded without a search (one-hot target). random_seat
 * (RPS_P1/RPS_P2, or 0 for none): that player picks uniformly random legal moves, which are not recorded. */
nrps_status selfplay_game(mcts *m, const mcts_evaluator *ev, const rps_config *game, rps_encoding enc, uint64_t game_seed,
                          int random_seat, sp_sample *out, rps_state *states, int *n, int *winner, selfplay_stats *st);
/* The seat (RPS_P1/RPS_P2) that plays random moves in game g of generation gen, or 0 (pure self-play):
 * drawn from its own stream of (seed, gen, g) with probability share. */
int selfplay_random_seat(uint64_t seed, int gen, long g, double share);

/* Plays games 0..ngames-1 of generation gen on cfg->threads threads with the networks of policy and value (models
 * of the network family: a policy and a value network, or, with value NULL, one two-headed network), each thread
 * on its own backend cfg->backend (models are shared read-only; each thread has its own backend, search and
 * rng). On success *out is a malloc'd array (caller frees) of *nout samples in game order. Returns the first
 * error of any thread, or NRPS_ERR_INTERRUPTED on SIGINT (nothing returned then).
 * With cfg->distributed, COLLECTIVE: every rank of the job calls it with the same arguments and plays its block of
 * the games (on its own cfg->threads); rank 0 gets every game's samples in game order, the other ranks *out NULL
 * and *nout 0; *st holds the counts summed over the job (seconds: this rank's wall time, the gather included) on
 * every rank; an error anywhere is returned on every rank (nrps_dist_agree: the message names the rank). */
nrps_status selfplay_run(const selfplay_config *cfg, const be_model *policy, const be_model *value, int gen, long ngames,
                         sp_sample **out, long *nout, selfplay_stats *st);

/* The evaluator a self-play thread uses: cfg->backend on policy + value (or the two-headed policy when value is
 * NULL), batch cfg->mcts.batch. NULL + error on failure. */
eval_net *selfplay_evaluator_open(const selfplay_config *cfg, const be_model *policy, const be_model *value);

#endif
