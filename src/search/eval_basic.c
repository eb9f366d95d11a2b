/* eval_basic.c - uniform-prior evaluators: random rollouts and a constant value (see eval_basic.h). */
#include "search/eval_basic.h"

#include <stdlib.h>

struct eval_rollout {
    mcts_evaluator ev;
    nrps_rng rng;
};

double eval_random_playout(const rps_state *s0, int player, nrps_rng *rng) {
    rps_state s = *s0;
    while (!rps_state_is_over(&s)) {
        int empty[RPS_CELLS], ne = 0;
        for (int c = 0; c < RPS_CELLS; c++)
            if (s.board[c].owner == RPS_NONE) empty[ne++] = c;
        int hl = s.hand_len[s.to_move];
        if (ne == 0 || hl == 0) break;
        rps_move mv = {(int8_t)nrps_rng_below(rng, (uint32_t)hl), (int8_t)empty[nrps_rng_below(rng, (uint32_t)ne)]};
        rps_state_apply(&s, mv);
    }
    int w = rps_state_winner(&s);
    return w == player ? 1.0 : w == RPS_NONE ? 0.5 : 0.0;
}

static nrps_status rollout_eval(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    eval_rollout *e = ctx;
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < RPS_POLICY_SIZE; p++) policy[i * RPS_POLICY_SIZE + p] = 1.0f / RPS_POLICY_SIZE;
        value[i] = (float)eval_random_playout(&states[i], states[i].to_move, &e->rng);
    }
    return NRPS_OK;
}

eval_rollout *eval_rollout_create(uint64_t seed, int max_batch) {
    if (max_batch < 1) {
        nrps_set_error("eval_rollout: max_batch must be >= 1, got %d", max_batch);
        return NULL;
    }
    eval_rollout *e = calloc(1, sizeof *e);
    if (!e) {
        nrps_set_error("eval_rollout: out of memory");
        return NULL;
    }
    e->ev.ctx = e;
    e->ev.evaluate = rollout_eval;
    e->ev.max_batch = max_batch;
    e->ev.name = "random-rollout";
    nrps_rng_seed(&e->rng, seed);
    return e;
}

void eval_rollout_destroy(eval_rollout *e) { free(e); }
void eval_rollout_reseed(eval_rollout *e, uint64_t seed) { nrps_rng_seed(&e->rng, seed); }
const mcts_evaluator *eval_rollout_evaluator(eval_rollout *e) { return &e->ev; }

static nrps_status uniform_eval(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    (void)ctx;
    (void)states;
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < RPS_POLICY_SIZE; p++) policy[i * RPS_POLICY_SIZE + p] = 1.0f / RPS_POLICY_SIZE;
        value[i] = 0.5f;
    }
    return NRPS_OK;
}

static const mcts_evaluator UNIFORM = {.ctx = NULL, .evaluate = uniform_eval, .max_batch = 1 << 16, .name = "uniform",
                                       .thread_safe = 1};
const mcts_evaluator *eval_uniform_evaluator(void) { return &UNIFORM; }
