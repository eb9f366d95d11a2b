/* eval_net.h - the network evaluator for MCTS, built on backends (src/backend/backend.h, the only inference
 * path): one two-headed network (a policy head and a value head in one model) or a policy network and a value
 * network, each on a be_backend. States are encoded (rps_state_encode_as, in each model's input encoding) into
 * buffers allocated once; outputs go to preallocated buffers: no allocation per call. The outputs become
 * probabilities through nn_policy_probs / nn_value_prob (src/nn/nn_ops.h), from each head's final activation.
 *
 * Threads: an eval_net is not thread-safe (its buffers and its backends): one per search thread. */
#ifndef NRPS_EVAL_NET_H
#define NRPS_EVAL_NET_H

#include "backend/backend.h"
#include "search/evaluator.h"

/* The one check that a model fits the game: backend output `*index` of info is a head of kind `want` (POLICY:
 * 9 wide, VALUE: 1 wide) over RPS_INPUT_SIZE inputs. Otherwise sets a one-line error naming the model and what it
 * got (e.g. "m.onnx: not a game policy network: 100 inputs -> outputs 'output' [10] (expected 81 inputs and a
 * 9-wide policy head)") and returns NRPS_ERR_UNSUPPORTED. */
nrps_status eval_net_fit(const be_info *info, nn_head_kind want, int *index);

/* The input encoding a model's metadata names (info->input_encoding: "board", "hands"; board when absent, as for
 * the original project's models and PyTorch exports). An unknown value is a one-line error naming path
 * (NRPS_ERR_UNSUPPORTED). */
nrps_status eval_net_model_encoding(const char *path, const char *input_encoding, rps_encoding *enc);

typedef struct eval_net eval_net;

/* An evaluator over backends the caller keeps (they must outlive it): policy (encoded as penc) and value
 * (venc); value may be the same backend as policy (a two-headed model: one run per batch) or NULL (no value
 * network: every value is 0.5; for the `net` agent). max_batch: 1..the backends' max batch. Checks the
 * outputs with eval_net_fit. NULL + error on failure. */
eval_net *eval_net_create(be_backend *policy, rps_encoding penc, be_backend *value, rps_encoding venc, int max_batch);

/* Where the networks come from: a two-headed file (net_path) or a policy file and a value file (value_path may
 * be NULL for a policy-only evaluator); models already loaded may be given instead of paths (net / policy /
 * value, not owned). backend: a registry name (NULL = native-cpu). */
typedef struct {
    const char *net_path, *policy_path, *value_path;
    const be_model *net, *policy, *value;
    const char *backend;
    be_options opt; /* max_batch is set by eval_net_open */
} eval_net_spec;

/* Loads what spec names, creates the backends on it and returns an evaluator that owns them. On error NULL and
 * a one-line message naming the file (or the backend). */
eval_net *eval_net_open(const eval_net_spec *spec, int max_batch);

void eval_net_destroy(eval_net *e); /* accepts NULL; frees what eval_net_open created */
/* The one input encoding of the evaluator's networks; NRPS_ERR_UNSUPPORTED (one line naming the model) when its
 * policy and value networks take different ones (self-play sample keys need one). */
nrps_status eval_net_encoding(const eval_net *e, rps_encoding *enc);
const mcts_evaluator *eval_net_evaluator(eval_net *e);

/* Raw probabilities without search (e.g. for the `net` agent): policy[9] and value for one state. */
nrps_status eval_net_one(eval_net *e, const rps_state *s, float policy[RPS_POLICY_SIZE], float *value);

#endif
