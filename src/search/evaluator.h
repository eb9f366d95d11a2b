/* evaluator.h - how search asks for position evaluations: a batch of states in, priors over the 9
 * positions and a value out. Any inference backend (native C, ONNX Runtime, CUDA) or a network-free
 * evaluator (uniform priors + random rollouts, the exact solver) serves it. */
#ifndef NRPS_EVALUATOR_H
#define NRPS_EVALUATOR_H

#include <stdint.h>

#include "game/game.h"

/* An evaluation id (see evaluate_from): 0 = none. */
enum { MCTS_EVAL_NONE = 0 };

typedef struct mcts_evaluator {
    void *ctx;
    /* Evaluates n (1..max_batch) non-terminal states. Writes policy[i*9 + p] = prior of position p
     * (need not be masked or normalised: search masks illegal positions and renormalises) and
     * value[i] = probability in [0,1] that the player to move in states[i] wins (draw = 0.5).
     * Must not allocate per call. Returns NRPS_OK or an error (search stops with it). */
    nrps_status (*evaluate)(void *ctx, const rps_state *states, int n, float *policy, float *value);
    /* Optional (NULL: search calls evaluate). The same evaluation, given for each state the id of an evaluation this
     * evaluator made earlier of a related position (from[i]: in search, the parent node's; MCTS_EVAL_NONE when there
     * is none), from which it may build states[i]'s incrementally (an NNUE-style accumulator). Writes ids[i], the id
     * of this evaluation (or MCTS_EVAL_NONE when it keeps none), for the caller to pass as `from` later. Results must
     * not depend on `from` beyond float rounding: an id the evaluator no longer holds (overwritten, another search)
     * or of an unrelated position is the evaluator's to detect, and a stale id is never read. */
    nrps_status (*evaluate_from)(void *ctx, const rps_state *states, const uint32_t *from, uint32_t *ids, int n,
                                 float *policy, float *value);
    int max_batch;    /* largest n the evaluator accepts (>= 1) */
    const char *name; /* for reports */
    /* Nonzero when evaluate / evaluate_from may be called from several threads at once (a batching service's
     * client, src/search/eval_service.h); 0 (the default): one caller at a time. */
    int thread_safe;
} mcts_evaluator;

#endif
