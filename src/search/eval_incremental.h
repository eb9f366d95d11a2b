/* eval_incremental.h - the incremental network evaluator for MCTS (Stockfish's NNUE accumulator idea, for the
 * layer-list networks of src/nn/net.h): it keeps, for the positions it evaluated, the pre-activation W1 x + b1 of
 * every layer that reads the network input, and builds a new position's from a related position's (in search: the
 * parent node's, which MCTS names through mcts_evaluator.evaluate_from) by adding (new - old) times the weight
 * columns of only the inputs that differ. The rest of each network (the activation of that layer, the remaining
 * layers, the heads) runs on the native-cpu kernel set (src/backend/cpu_kernels.h; see "The rest" below).
 *
 * Inputs as features: the 81 encoded floats (rps_state_encode_as, either encoding) are read as features, one per
 * input except the side-to-move slots, which every cell repeats (b+6 for Player1, b+7 for Player2): each of the two
 * is one feature whose weight column is the sum of its nine columns (summed once, in double). A move then changes
 * 2 side features, 3 for the placed card, 2 per captured cell and (hands encoding) 1 hand count, where the raw
 * inputs change by 16 more. The changed features are found by comparing the two positions' 81 inputs (vector
 * compares, bit masks; exact: any two positions work, nothing is assumed about the move).
 *
 * The rest: a one-head rest of at most 4096 multiply-adds (the default pair's 128->9 and 64->1) runs as a loop
 * over its layers (dot products in the native kernel set's vectors), anything larger on a cpu_plan (for the
 * default two-headed net: its 128->128 trunk layer and both heads); the loop was measured faster for the small
 * rests, where the plan's per-call work (density count, chunking) outweighs the arithmetic.
 *
 * Full refresh or delta, per position and encoding: a full first layer adds one column per non-zero feature (nnz),
 * a delta one per changed feature; the delta is taken when changed < nnz, otherwise (and when the related
 * position's accumulator is not held) the layer is computed in full. eval_incr_get_stats counts both.
 *
 * Storage: a ring of `slots` entries (the position's inputs + accumulators), allocated at creation; evaluation ids
 * are a running 32-bit count (never 0 = MCTS_EVAL_NONE), entry id % slots. An id is valid while its entry still
 * holds it, so a reused tree's nodes keep working and an overwritten or foreign id is a full refresh, never a stale
 * read (an id could only alias after 2^32 further evaluations: far beyond one game's tree).
 * Results equal nn_forward (the reference) to float rounding (tests/test_eval_incremental.c: abs 1e-5 + rel 1e-4);
 * the deltas along a path add at most one column per changed feature per ply.
 *
 * Backends: it does its own arithmetic on the networks' weights (no be_backend): the native-cpu kernels and the
 * accumulator loops, vectorised for the kernel set the plan picked (NRPS_CPU_ISA and NRPS_NO_AVX512 apply). The
 * agent key eval=incremental therefore needs backend=native-cpu (the default) and says so for any other.
 *
 * Threads: not thread-safe (ring, scratch, plans): one per search thread. No allocation or lock per call. */
#ifndef NRPS_EVAL_INCREMENTAL_H
#define NRPS_EVAL_INCREMENTAL_H

#include "nn/net.h"
#include "search/eval_net.h"
#include "search/evaluator.h"

typedef struct eval_incr eval_incr;

/* The networks: a policy network and a value network (value NULL: every value 0.5), or one two-headed network
 * (value == policy). Each must fit the game (eval_net_fit on its heads) and take its encoding; they are copied
 * into the evaluator's own layout (the caller may free them afterwards). Names are for messages (NULL: "policy
 * network" / "value network"). */
typedef struct {
    const nn_net *policy, *value;
    rps_encoding penc, venc;
    const char *policy_name, *value_name;
} eval_incr_nets;

/* max_batch: largest evaluation batch (1..65536); slots: ring entries kept (>= 1; rounded up to a power of two;
 * eval_incr_slots_for gives a size for a search). NULL + a one-line error on failure. */
eval_incr *eval_incr_create(const eval_incr_nets *nets, int max_batch, int slots);

/* As eval_net_open (paths or models, the encoding each model's metadata names) for the incremental evaluator.
 * spec->backend must be NULL, "" or "native-cpu" (otherwise NRPS_ERR_ARG: "eval=incremental needs
 * backend=native-cpu, got X"); models outside the network family are refused in one line naming the file. */
eval_incr *eval_incr_open(const eval_net_spec *spec, int max_batch, int slots);

/* Ring entries for searches of `playouts` playouts: twice one search's evaluations (capped at 65536), so that the
 * nodes evaluated by this search and the previous one stay held; older nodes of a subtree kept over several moves
 * may be overwritten (their children then take a full refresh: still exact). */
int eval_incr_slots_for(int playouts);

void eval_incr_destroy(eval_incr *e); /* accepts NULL */
/* The evaluator (evaluate and evaluate_from), valid until eval_incr_destroy. */
const mcts_evaluator *eval_incr_evaluator(eval_incr *e);

/* Counters since creation, per position and input encoding (a policy and a value network in the same encoding
 * share one decision): evals = positions evaluated; deltas = first layers built from a held accumulator;
 * refreshes = computed in full, of which no_parent had no held accumulator to start from (id NONE, overwritten or
 * unknown) and the rest took the full path by the threshold (changed >= nnz); columns = feature columns added
 * per accumulator set (delta and full alike). */
typedef struct {
    long long evals, deltas, refreshes, no_parent, columns;
} eval_incr_stats;
eval_incr_stats eval_incr_get_stats(const eval_incr *e);

/* One line for reports, owned by the evaluator: the accumulator widths, features, vector width and ring, e.g.
 * "accumulators 128+64 over 65 features, 8-lane vectors, ring of 512". */
const char *eval_incr_describe(const eval_incr *e);

#endif
