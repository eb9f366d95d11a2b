/* mcts.h - PUCT Monte Carlo tree search, AlphaZero style, for the rps card game.
 *
 * A move here is a (card type, position) pair: two hand cards of the same type give the same successor
 * state, so they are one child. Priors come from the evaluator's 9-vector over positions, masked to the
 * legal (empty) positions and renormalised, then split evenly across the distinct card types the mover
 * holds. Each node stores the sum of backed-up values from the point of view of the player who made the
 * move into it (node->mover), so a parent always maximises its children's Q for the player to move there.
 * Values are probabilities in [0,1] (win 1, draw 0.5, loss 0); terminal states are scored exactly.
 *
 * Leaves are collected up to cfg.batch at a time with virtual loss and evaluated in one evaluator call.
 * With an evaluator that has evaluate_from (an incremental one), each leaf goes with the evaluation id of its parent
 * node, and the id the evaluator returns is kept per node (beside the pool, moved with a reused subtree; fresh
 * nodes start at MCTS_EVAL_NONE), so children are built from their parent's evaluation.
 * All memory (node pool sized from cfg.playouts, batch buffers) is allocated by mcts_create; a search
 * never allocates. With cfg.reuse_tree the subtree of the move played is kept (mcts_advance, or found
 * automatically by mcts_search_run when the new state is the root or lies 1-2 plies below it) and its
 * visits count toward cfg.playouts.
 *
 * Threads: with cfg.threads = T > 1 one search runs T tree-parallel threads (the caller and T - 1 workers of a
 * pool created once by mcts_create) on one shared tree, lock-free (virtual loss steers them apart); exactly
 * cfg.playouts simulations run and visit counts add up as with one thread, but which leaves are visited depends on
 * timing, so only T = 1 is deterministic for a seed. Each thread evaluates with its own evaluator
 * (mcts_search_run_each) or all with one thread-safe evaluator (mcts_search_run; a batching service's client).
 * An mcts object is used by one caller at a time: one per game. */
#ifndef NRPS_MCTS_H
#define NRPS_MCTS_H

#include <stdint.h>

#include "game/game.h"
#include "search/evaluator.h"
#include "util/util.h"

/* At most 3 distinct card types x 9 positions children per node. */
enum { MCTS_MAX_CHILDREN = RPS_NTYPES * RPS_CELLS };
/* Search threads per search; idle search threads spin this long after a search before they sleep. */
enum { MCTS_MAX_THREADS = 64, MCTS_POOL_SPIN_US = 50 };
/* With threads, each takes playouts from the shared budget and nodes from the pool in runs of these sizes. */
enum { MCTS_PLAYOUT_RUN = 8, MCTS_NODE_RUN = 16 * MCTS_MAX_CHILDREN };

typedef struct {
    int playouts;            /* simulations per search (leaf evaluations + terminal hits), >= 1 */
    double c_puct;           /* exploration constant, > 0 (default 1.5) */
    int batch;               /* leaves per evaluator call, >= 1 (capped by the evaluator's max_batch) */
    double dirichlet_alpha;  /* root noise concentration (default 0.3) */
    double dirichlet_weight; /* root noise weight in [0,1]; 0 = off (default) */
    double temperature;      /* > 0: sample moves with p ~ N^(1/T) while ply < temperature_plies */
    int temperature_plies;   /* plies (state.ply) during which temperature applies; < 0 = all plies */
    double virtual_loss;     /* virtual visits (counted as losses) per in-flight leaf, >= 0 (default 1) */
    int reuse_tree;          /* keep the played subtree between searches */
    int threads;             /* search threads sharing the tree, 1..MCTS_MAX_THREADS (default 1) */
} mcts_config;

/* A child of the root: the move (card type, position) and its statistics. */
typedef struct {
    int8_t type, pos;
    int visits;
    float prior; /* after Dirichlet noise when noise is on */
    float q;     /* mean value for the player to move at the root; -1 when unvisited */
} mcts_child_stat;

typedef struct {
    int nchildren;
    mcts_child_stat children[MCTS_MAX_CHILDREN];
    float policy[RPS_POLICY_SIZE]; /* root visit distribution over positions (the training target) */
    float value;                   /* root mean value for the player to move, in [0,1] */
    int chosen;                    /* index into children */
    rps_move move;                 /* the chosen move as (hand index, position) in the searched state */
    int playouts;                  /* simulations run by this search */
    int root_visits;               /* root visit count after the search (reused visits included) */
    int reused_visits;             /* root visits inherited from the previous search (0 without reuse) */
    long eval_calls, eval_states;  /* evaluator calls and states evaluated by this search */
} mcts_result;

/* Defaults: 200 playouts, c_puct 1.5, batch 1, alpha 0.3, weight 0, temperature 0, virtual loss 1, 1 thread. */
mcts_config mcts_config_default(void);
/* Checks ranges; sets the error ("mcts: playouts must be >= 1, got 0") and returns NRPS_ERR_ARG. */
nrps_status mcts_config_check(const mcts_config *cfg);

typedef struct mcts mcts;

/* Allocates the node pool and batch buffers for cfg (copied). Returns NULL with the error set. */
mcts *mcts_create(const mcts_config *cfg);
void mcts_destroy(mcts *m); /* accepts NULL */
const mcts_config *mcts_get_config(const mcts *m);

/* Drops the tree (the next search starts fresh). */
void mcts_reset(mcts *m);

/* Searches state (not over) with ev, rng for noise and temperature sampling, and fills *res.
 * Returns NRPS_ERR_ARG when the game is over or cfg.threads > 1 and ev is not thread_safe, or the evaluator's
 * error (the tree is then reset; with several threads, the first failing thread's). */
nrps_status mcts_search_run(mcts *m, const rps_state *state, const mcts_evaluator *ev, nrps_rng *rng,
                            mcts_result *res);
/* The same with evs[t] (cfg.threads entries, each used by one thread only) for search thread t. The batch is
 * capped by the smallest max_batch among them. */
nrps_status mcts_search_run_each(mcts *m, const rps_state *state, const mcts_evaluator *const *evs, nrps_rng *rng,
                                 mcts_result *res);

/* Tree reuse: moves the root to the child reached by move (hand index, position) in the current root
 * state; keeps its subtree when reuse_tree is on, otherwise (or when the child was never expanded)
 * starts a fresh tree at the new state. Returns NRPS_ERR_ILLEGAL when move is illegal there or no
 * search has run yet. */
nrps_status mcts_advance(mcts *m, rps_move move);

/* Nodes currently in the tree (for tests and reports). */
int mcts_tree_size(const mcts *m);

/* Field-wise state equality (rps_state has padding, so memcmp is not safe). */
int mcts_state_equal(const rps_state *a, const rps_state *b);

/* Hand index of the first card of the given type in the mover's hand, or -1. */
int mcts_card_of_type(const rps_state *s, int type);

#endif
