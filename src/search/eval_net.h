/* eval_net.h - the network evaluator for MCTS: a policy network (81 -> 9) and a value network (81 -> 1)
 * evaluated for a whole batch of states per call. States are encoded with rps_state_encode into a buffer
 * allocated once (max_batch x 81); outputs go to preallocated buffers: no allocation per call.
 *
 * Backends are plugged in through eval_net_fn (a forward function + context + how to read its last
 * activation), so ONNX Runtime or CUDA backends can be wrapped later; eval_net_create_mlp_files wires in
 * the project's plain-C reference MLP (src/nn/mlp.h) loaded from ONNX files with onnx_mlp_load. */
#ifndef NRPS_EVAL_NET_H
#define NRPS_EVAL_NET_H

#include "nn/mlp.h"
#include "onnx/onnx_mlp.h"
#include "search/evaluator.h"

typedef struct {
    void *ctx;
    /* x[n][81] -> y[n][outputs] (outputs 9 for policy, 1 for value), n <= the evaluator's max_batch.
     * Must not allocate per call. */
    nrps_status (*forward)(void *ctx, const float *x, int n, float *y);
    /* The model's final activation, telling the evaluator how to turn y into probabilities:
     * policy SOFTMAX as is, LOGSOFTMAX exp, anything else softmax; value SIGMOID as is, TANH (y+1)/2,
     * anything else sigmoid. Results are clamped to [0,1]; NaN becomes uniform / 0.5. */
    mlp_act out_act;
    /* How states are encoded for this network (RPS_ENC_BOARD when zero-initialised). */
    rps_encoding enc;
} eval_net_fn;

typedef struct eval_net eval_net;

/* Wraps two forward functions (not owned: they must outlive the evaluator). max_batch >= 1. */
eval_net *eval_net_create(const eval_net_fn *policy, const eval_net_fn *value, int max_batch);

/* The input encoding of a model read from path (info from onnx_mlp_load): its "input_encoding" metadata,
 * RPS_ENC_BOARD when absent (the original project's models, PyTorch exports). An unknown value sets a one-line
 * error naming the file and returns NRPS_ERR_UNSUPPORTED. */
nrps_status eval_net_model_encoding(const char *path, const char *input_encoding, rps_encoding *enc);
/* onnx_mlp_load (info may be NULL) plus eval_net_model_encoding: a model file as the game's search uses it. On
 * error *out is left freed and the message names the file. */
nrps_status eval_net_load_model(const char *path, mlp *out, onnx_mlp_info *info, rps_encoding *enc);

/* Loads policy_path (81 -> 9) and value_path (81 -> 1) with onnx_mlp_load, each with the input encoding its
 * metadata names (eval_net_model_encoding), and evaluates them with mlp_forward (scratch preallocated). The
 * evaluator owns the MLPs. On error returns NULL with a one-line message naming the file. */
eval_net *eval_net_create_mlp_files(const char *policy_path, const char *value_path, int max_batch);

void eval_net_destroy(eval_net *e); /* accepts NULL */
const mcts_evaluator *eval_net_evaluator(eval_net *e);

/* Raw probabilities without search (e.g. for the `net` agent): policy[9] and value for one state. */
nrps_status eval_net_one(eval_net *e, const rps_state *s, float policy[RPS_POLICY_SIZE], float *value);

#endif
