/* eval_net.c - the batched policy/value evaluator over backends (see eval_net.h). */
#include "search/eval_net.h"

#include <stdlib.h>
#include <string.h>

#include "nn/nn_ops.h"

/* One network on one backend: its encoded input and its outputs. */
typedef struct {
    be_backend *b;
    rps_encoding enc;
    float *x;                    /* max_batch x input */
    float *y[BE_MAX_IO];    /* max_batch x output[k].width */
} net_run;

struct eval_net {
    mcts_evaluator ev;
    net_run run[2];              /* [0] policy (and value when two-headed), [1] value network (b NULL if none) */
    int pol_out, val_out;        /* output indices in run[0] / run[val_run] */
    int val_run;                 /* 0 (two-headed), 1 (separate value network) or -1 (no value network) */
    nn_act pol_act, val_act;
    be_backend *owned[2];
};

nrps_status eval_net_model_encoding(const char *path, const char *input_encoding, rps_encoding *enc) {
    if (rps_encoding_parse(input_encoding, enc)) return NRPS_OK;
    nrps_set_error("%s: unknown input_encoding '%s' in the ONNX metadata (expected board or hands)", path,
                   input_encoding);
    return NRPS_ERR_UNSUPPORTED;
}

nrps_status eval_net_fit(const be_info *info, nn_head_kind want, int *index) {
    int width = want == NN_HEAD_POLICY ? RPS_POLICY_SIZE : 1;
    int input_ok = info->n_inputs == 1 && !info->fixed_batch && be_tensor_is_rows(&info->input[0], RPS_INPUT_SIZE);
    for (int k = 0; input_ok && k < info->n_outputs; k++)
        if (info->output[k].kind == want && be_tensor_is_rows(&info->output[k], width)) {
            *index = k;
            return NRPS_OK;
        }
    char got[512], t[96];
    size_t pos = 0;
    for (int j = 0; j < info->n_inputs && pos < sizeof got; j++) {
        be_tensor_describe(&info->input[j], t, sizeof t);
        pos += (size_t)snprintf(got + pos, sizeof got - pos, "%s%s", j ? ", " : "", t);
    }
    for (int k = 0; k < info->n_outputs && pos < sizeof got; k++) {
        be_tensor_describe(&info->output[k], t, sizeof t);
        pos += (size_t)snprintf(got + pos, sizeof got - pos, "%s'%s' %s %s", k ? ", " : " -> ", info->output[k].name,
                                t, nn_head_kind_name(info->output[k].kind));
    }
    nrps_set_error("%s: not a game %s network: %s (expected one float32 [batch, %d] input and a %d-wide %s head)",
                   info->model_path, nn_head_kind_name(want), got, RPS_INPUT_SIZE, width, nn_head_kind_name(want));
    return NRPS_ERR_UNSUPPORTED;
}

static void run_free(net_run *r) {
    free(r->x);
    for (int k = 0; k < BE_MAX_IO; k++) free(r->y[k]);
}

static nrps_status run_init(net_run *r, be_backend *b, rps_encoding enc, int max_batch) {
    const be_info *inf = be_get_info(b);
    r->b = b;
    r->enc = enc;
    r->x = calloc((size_t)max_batch * (size_t)inf->input[0].width, sizeof(float));
    if (!r->x) return NRPS_ERR_NOMEM;
    for (int k = 0; k < inf->n_outputs; k++)
        if (!(r->y[k] = calloc((size_t)max_batch * (size_t)inf->output[k].width, sizeof(float)))) return NRPS_ERR_NOMEM;
    return NRPS_OK;
}

static nrps_status run_forward(net_run *r, const rps_state *states, int n) {
    for (int i = 0; i < n; i++) rps_state_encode_as(&states[i], r->enc, &r->x[(size_t)i * RPS_INPUT_SIZE]);
    return be_run(r->b, r->x, n, r->y);
}

static nrps_status net_eval(void *ctx, const rps_state *states, int n, float *policy, float *value) {
    eval_net *e = ctx;
    if (n < 1 || n > e->ev.max_batch) {
        nrps_set_error("eval_net: batch %d outside [1, %d]", n, e->ev.max_batch);
        return NRPS_ERR_ARG;
    }
    nrps_status st = run_forward(&e->run[0], states, n);
    if (st == NRPS_OK && e->val_run == 1) /* a value network in the same encoding reads the policy's inputs */
        st = e->run[1].enc == e->run[0].enc ? be_run(e->run[1].b, e->run[0].x, n, e->run[1].y)
                                            : run_forward(&e->run[1], states, n);
    if (st != NRPS_OK) return st;
    const float *py = e->run[0].y[e->pol_out];
    const float *vy = e->val_run >= 0 ? e->run[e->val_run].y[e->val_out] : NULL;
    nn_search_outputs(py, e->pol_act, RPS_POLICY_SIZE, vy, e->val_act, n, policy, value);
    return NRPS_OK;
}

void eval_net_destroy(eval_net *e) {
    if (!e) return;
    run_free(&e->run[0]);
    run_free(&e->run[1]);
    be_destroy(e->owned[0]);
    be_destroy(e->owned[1]);
    free(e);
}

/* Checks the backends' outputs and fills the head indices. */
static nrps_status wire_heads(eval_net *e, be_backend *policy, be_backend *value) {
    const be_info *pi = be_get_info(policy);
    nrps_status st = eval_net_fit(pi, NN_HEAD_POLICY, &e->pol_out);
    if (st != NRPS_OK) return st;
    e->pol_act = pi->output[e->pol_out].final_act;
    e->val_run = !value ? -1 : value == policy ? 0 : 1;
    if (!value) return NRPS_OK;
    const be_info *vi = be_get_info(value);
    if ((st = eval_net_fit(vi, NN_HEAD_VALUE, &e->val_out)) != NRPS_OK) return st;
    e->val_act = vi->output[e->val_out].final_act;
    return NRPS_OK;
}

eval_net *eval_net_create(be_backend *policy, rps_encoding penc, be_backend *value, rps_encoding venc, int max_batch) {
    if (!policy || max_batch < 1 || max_batch > be_max_batch(policy) || (value && max_batch > be_max_batch(value))) {
        nrps_set_error("eval_net: need a policy backend and 1 <= max_batch <= the backends' max batch");
        return NULL;
    }
    eval_net *e = calloc(1, sizeof *e);
    if (!e) goto nomem;
    if (wire_heads(e, policy, value) != NRPS_OK) {
        eval_net_destroy(e);
        return NULL;
    }
    if (value && value == policy && venc != penc) {
        nrps_set_error("%s: one two-headed network cannot take two input encodings", be_get_info(policy)->model_path);
        eval_net_destroy(e);
        return NULL;
    }
    if (run_init(&e->run[0], policy, penc, max_batch) != NRPS_OK ||
        (e->val_run == 1 && run_init(&e->run[1], value, venc, max_batch) != NRPS_OK)) {
        eval_net_destroy(e);
        goto nomem;
    }
    e->ev = (mcts_evaluator){.ctx = e, .evaluate = net_eval, .max_batch = max_batch, .name = "net"};
    return e;
nomem:
    nrps_set_error("eval_net: out of memory");
    return NULL;
}

/* The model at path (loaded into *own) or the given one; its encoding and a backend on it. */
static nrps_status open_one(const eval_net_spec *s, const char *path, const be_model *given, int max_batch,
                            be_backend **b, rps_encoding *enc) {
    be_model *own = NULL;
    const be_model *m = given;
    nrps_status st = NRPS_OK;
    if (!m && (st = be_model_load(path, &own)) != NRPS_OK) return st;
    if (own) m = own;
    st = eval_net_model_encoding(be_model_path(m), be_model_info(m)->input_encoding, enc);
    be_options opt = s->opt;
    opt.max_batch = max_batch;
    if (st == NRPS_OK) st = be_create(s->backend ? s->backend : "native-cpu", m, &opt, b);
    be_model_free(own);
    return st;
}

eval_net *eval_net_open(const eval_net_spec *s, int max_batch) {
    be_backend *b[2] = {NULL, NULL};
    rps_encoding enc[2] = {RPS_ENC_BOARD, RPS_ENC_BOARD};
    int two_headed = s->net_path || s->net;
    if (two_headed) {
        if (open_one(s, s->net_path, s->net, max_batch, &b[0], &enc[0]) != NRPS_OK) return NULL;
    } else {
        if (open_one(s, s->policy_path, s->policy, max_batch, &b[0], &enc[0]) != NRPS_OK) return NULL;
        if ((s->value_path || s->value) && open_one(s, s->value_path, s->value, max_batch, &b[1], &enc[1]) != NRPS_OK) {
            be_destroy(b[0]);
            return NULL;
        }
    }
    be_backend *value = two_headed ? b[0] : b[1];
    eval_net *e = eval_net_create(b[0], enc[0], value, two_headed ? enc[0] : enc[1], max_batch);
    if (!e) {
        be_destroy(b[0]);
        be_destroy(b[1]);
        return NULL;
    }
    e->owned[0] = b[0];
    e->owned[1] = b[1];
    return e;
}

const mcts_evaluator *eval_net_evaluator(eval_net *e) { return &e->ev; }

nrps_status eval_net_encoding(const eval_net *e, rps_encoding *enc) {
    *enc = e->run[0].enc;
    if (e->val_run != 1 || e->run[1].enc == e->run[0].enc) return NRPS_OK;
    nrps_set_error("%s: the policy (%s) and value (%s) networks use different input encodings; self-play needs one",
                   be_get_info(e->run[0].b)->model_path, rps_encoding_name(e->run[0].enc),
                   rps_encoding_name(e->run[1].enc));
    return NRPS_ERR_UNSUPPORTED;
}

nrps_status eval_net_one(eval_net *e, const rps_state *s, float policy[RPS_POLICY_SIZE], float *value) {
    return net_eval(e, s, 1, policy, value);
}
