/* eval_net.c - batched policy/value network evaluator (see eval_net.h). */
#include "search/eval_net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_mlp.h"

typedef struct {
    mlp net;
    float *scratch; /* max_batch x hidden */
} mlp_runner;

struct eval_net {
    mcts_evaluator ev;
    eval_net_fn pol, val;
    mlp_runner own[2]; /* used by eval_net_create_mlp_files */
    int owns;
    float *x, *xv, *py, *vy; /* max_batch x 81 (policy input), x 81 (value input when encoded differently), x 9, x 1 */
};

nrps_status eval_net_model_encoding(const char *path, const char *input_encoding, rps_encoding *enc) {
    if (rps_encoding_parse(input_encoding, enc)) return NRPS_OK;
    nrps_set_error("%s: unknown input_encoding '%s' in the ONNX metadata (expected board or hands)", path,
                   input_encoding);
    return NRPS_ERR_UNSUPPORTED;
}

nrps_status eval_net_load_model(const char *path, mlp *out, onnx_mlp_info *info, rps_encoding *enc) {
    onnx_mlp_info local;
    if (!info) info = &local;
    nrps_status st = onnx_mlp_load(path, out, info);
    if (st == NRPS_OK && (st = eval_net_model_encoding(path, info->input_encoding, enc)) != NRPS_OK) mlp_free(out);
    return st;
}

static nrps_status mlp_runner_forward(void *ctx, const float *x, int n, float *y) {
    mlp_runner *r = ctx;
    return mlp_forward(&r->net, x, n, y, r->scratch);
}

static void to_policy(float *p, mlp_act act) {
    int ok = 1;
    for (int i = 0; i < RPS_POLICY_SIZE; i++)
        if (!isfinite(p[i])) ok = 0;
    if (!ok) {
        for (int i = 0; i < RPS_POLICY_SIZE; i++) p[i] = 1.0f / RPS_POLICY_SIZE;
        return;
    }
    if (act == MLP_ACT_SOFTMAX) return;
    if (act == MLP_ACT_LOGSOFTMAX) {
        for (int i = 0; i < RPS_POLICY_SIZE; i++) p[i] = expf(p[i]);
        return;
    }
    float mx = p[0], s = 0;
    for (int i = 1; i < RPS_POLICY_SIZE; i++)
        if (p[i] > mx) mx = p[i];
    for (int i = 0; i < RPS_POLICY_SIZE; i++) s += (p[i] = expf(p[i] - mx));
    for (int i = 0; i < RPS_POLICY_SIZE; i++) p[i] /= s;
}

static float to_value(float v, mlp_act act) {
    if (!isfinite(v)) return 0.5f;
    if (act == MLP_ACT_TANH) v = (v + 1.0f) * 0.5f;
    else if (act != MLP_ACT_SIGMOID) v = 1.0f / (1.0f + expf(-v));
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static nrps_status net_eval(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    eval_net *e = ctx;
    if (n < 1 || n > e->ev.max_batch) {
        nrps_set_error("eval_net: batch %d outside [1, %d]", n, e->ev.max_batch);
        return NRPS_ERR_ARG;
    }
    for (int i = 0; i < n; i++) rps_state_encode_as(&states[i], e->pol.enc, &e->x[i * RPS_INPUT_SIZE]);
    const float *xv = e->x;
    if (e->val.enc != e->pol.enc) {
        for (int i = 0; i < n; i++) rps_state_encode_as(&states[i], e->val.enc, &e->xv[i * RPS_INPUT_SIZE]);
        xv = e->xv;
    }
    nrps_status st = e->pol.forward(e->pol.ctx, e->x, n, e->py);
    if (st != NRPS_OK) return st;
    if ((st = e->val.forward(e->val.ctx, xv, n, e->vy)) != NRPS_OK) return st;
    for (int i = 0; i < n; i++) {
        float *p = &policy[i * RPS_POLICY_SIZE];
        memcpy(p, &e->py[i * RPS_POLICY_SIZE], RPS_POLICY_SIZE * sizeof *p);
        to_policy(p, e->pol.out_act);
        value[i] = to_value(e->vy[i], e->val.out_act);
    }
    return NRPS_OK;
}

eval_net *eval_net_create(const eval_net_fn *policy, const eval_net_fn *value, int max_batch) {
    if (max_batch < 1 || !policy || !value || !policy->forward || !value->forward) {
        nrps_set_error("eval_net: need policy and value forward functions and max_batch >= 1");
        return NULL;
    }
    eval_net *e = calloc(1, sizeof *e);
    if (!e) goto nomem;
    e->pol = *policy;
    e->val = *value;
    e->ev.ctx = e;
    e->ev.evaluate = net_eval;
    e->ev.max_batch = max_batch;
    e->ev.name = "net";
    e->x = malloc((size_t)max_batch * RPS_INPUT_SIZE * sizeof *e->x);
    e->xv = malloc((size_t)max_batch * RPS_INPUT_SIZE * sizeof *e->xv);
    e->py = malloc((size_t)max_batch * RPS_POLICY_SIZE * sizeof *e->py);
    e->vy = malloc((size_t)max_batch * sizeof *e->vy);
    if (!e->x || !e->xv || !e->py || !e->vy) {
        eval_net_destroy(e);
        goto nomem;
    }
    return e;
nomem:
    nrps_set_error("eval_net: out of memory");
    return NULL;
}

static nrps_status load_runner(mlp_runner *r, const char *path, int want_out, int max_batch, rps_encoding *enc) {
    nrps_status st = eval_net_load_model(path, &r->net, NULL, enc);
    if (st != NRPS_OK) return st;
    if (r->net.in != RPS_INPUT_SIZE || r->net.out != want_out) {
        nrps_set_error("%s: expected a %s network with %d inputs and %d outputs, got %d -> %d", path,
                       want_out == 1 ? "value" : "policy", RPS_INPUT_SIZE, want_out, r->net.in, r->net.out);
        return NRPS_ERR_UNSUPPORTED;
    }
    r->scratch = malloc((size_t)max_batch * (size_t)r->net.hidden * sizeof *r->scratch);
    if (!r->scratch) {
        nrps_set_error("%s: out of memory", path);
        return NRPS_ERR_NOMEM;
    }
    return NRPS_OK;
}

eval_net *eval_net_create_mlp_files(const char *policy_path, const char *value_path, int max_batch) {
    mlp_runner r[2];
    memset(r, 0, sizeof r);
    eval_net *e = NULL;
    if (max_batch < 1) {
        nrps_set_error("eval_net: max_batch must be >= 1, got %d", max_batch);
        return NULL;
    }
    rps_encoding enc[2];
    if (load_runner(&r[0], policy_path, RPS_POLICY_SIZE, max_batch, &enc[0]) != NRPS_OK) goto cleanup;
    if (load_runner(&r[1], value_path, 1, max_batch, &enc[1]) != NRPS_OK) goto cleanup;
    eval_net_fn pf = {.ctx = NULL, .forward = mlp_runner_forward, .out_act = r[0].net.out_act, .enc = enc[0]};
    eval_net_fn vf = {.ctx = NULL, .forward = mlp_runner_forward, .out_act = r[1].net.out_act, .enc = enc[1]};
    e = eval_net_create(&pf, &vf, max_batch);
    if (!e) goto cleanup;
    e->own[0] = r[0];
    e->own[1] = r[1];
    e->owns = 1;
    e->pol.ctx = &e->own[0];
    e->val.ctx = &e->own[1];
    return e;
cleanup:
    for (int i = 0; i < 2; i++) {
        mlp_free(&r[i].net);
        free(r[i].scratch);
    }
    return NULL;
}

void eval_net_destroy(eval_net *e) {
    if (!e) return;
    if (e->owns)
        for (int i = 0; i < 2; i++) {
            mlp_free(&e->own[i].net);
            free(e->own[i].scratch);
        }
    free(e->x);
    free(e->xv);
    free(e->py);
    free(e->vy);
    free(e);
}

const mcts_evaluator *eval_net_evaluator(eval_net *e) { return &e->ev; }

nrps_status eval_net_one(eval_net *e, const rps_state *s, float policy[RPS_POLICY_SIZE], float *value) {
    return net_eval(e, s, 1, policy, value);
}
