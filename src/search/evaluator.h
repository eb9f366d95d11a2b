/* evaluator.h - how search asks for position evaluations: a batch of states in, priors over the 9
 * positions and a value out. Any inference backend (native C, ONNX Runtime, CUDA) or a network-free
 * evaluator (uniform priors + random rollouts, the exact solver) serves it. */
#ifndef NRPS_EVALUATOR_H
#define NRPS_EVALUATOR_H

#include "game/game.h"

typedef struct mcts_evaluator {
    void *ctx;
    /* Evaluates n (1..max_batch) non-terminal states. Writes policy[i*9 + p] = prior of position p
     * (need not be masked or normalised: search masks illegal positions and renormalises) and
     * value[i] = probability in [0,1] that the player to move in states[i] wins (draw = 0.5).
     * Must not allocate per call. Returns NRPS_OK or an error (search stops with it). */
    nrps_status (*evaluate)(void *ctx, const rps_state *states, int n, float *policy, float *value);
    int max_batch;    /* largest n the evaluator accepts (>= 1) */
    const char *name; /* for reports */
} mcts_evaluator;

#endif
