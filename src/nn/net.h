/* net.h - the network family (shared/DESIGN.md sections 2 and 2b): a list of dense layers with one or two heads.
 *
 *   layers[0 .. trunk-1]                    the trunk, shared by every head (trunk may be 0)
 *   layers[head[h].first .. + head[h].count] head h, applied to the trunk's output (to the input when trunk = 0)
 *
 * A one-head network has trunk = 0 and head[0] = {first 0, count n_layers}: the original's 81 -> H -> 9 and
 * 81 -> H -> 1 files are the 2-layer case. A two-headed (AlphaZero-style) network has a trunk of >= 0 layers and
 * two heads of >= 1 layer each, laid out trunk | head 0 | head 1. Each layer is y = act(W x + b) with W stored
 * [out][in] like PyTorch's nn.Linear.weight. Hidden activations: NONE, RELU, LEAKY_RELU(alpha), TANH, SIGMOID;
 * a head's last layer may also end in SOFTMAX or LOGSOFTMAX (over the row).
 *
 * Parameters live in one allocation (params, n_params floats) laid out layer by layer, W then b (for 2 layers
 * that is W1 | b1 | W2 | b2, as before); w[l] and b[l] are views into it. The plain-C forward here (nn_forward,
 * double accumulation) is the numerical reference every backend is compared with. nn_ops.h has the math ops it
 * is built from, which the trainer and the backends reuse. A network is not modified by any const function
 * here, so one nn_net may be read by many threads at once. */
#ifndef NRPS_NN_NET_H
#define NRPS_NN_NET_H

#include <stddef.h>

#include "util/util.h"

enum { NN_MAX_LAYERS = 16, NN_MAX_HEADS = 2, NN_MAX_WIDTH = 1 << 20, NN_NAME_LEN = 64 };

/* Values stored in checkpoints: never renumber. */
typedef enum {
    NN_ACT_NONE = 0,
    NN_ACT_RELU = 1,
    NN_ACT_TANH = 2,
    NN_ACT_SIGMOID = 3,
    NN_ACT_SOFTMAX = 4,    /* row softmax; a head's last layer only */
    NN_ACT_LOGSOFTMAX = 5, /* row log-softmax; a head's last layer only */
    NN_ACT_LEAKY_RELU = 6  /* max(z, alpha z) */
} nn_act;

/* What a head's output means to the game: POLICY (9 move logits/probabilities), VALUE (1: probability or logit
 * that the player to move wins), or OTHER (a model that is not a game network; never relabelled silently). */
typedef enum { NN_HEAD_OTHER = 0, NN_HEAD_POLICY = 1, NN_HEAD_VALUE = 2 } nn_head_kind;

typedef struct {
    int out;     /* output width, 1..NN_MAX_WIDTH (the input width follows from the layer before) */
    nn_act act;  /* activation applied after W x + b */
    float alpha; /* LEAKY_RELU slope (0.01 is PyTorch's default); 0 otherwise */
} nn_layer_spec;

typedef struct {
    char name[NN_NAME_LEN]; /* graph output name ("output", "policy", "value", ...) */
    nn_head_kind kind;
    int first, count;       /* its layers: layer[first .. first + count - 1] */
} nn_head;

/* The architecture: everything but the weights. Plain data (no pointers): compare with nn_arch_equal. */
typedef struct {
    int in;       /* input width, 1..NN_MAX_WIDTH */
    int n_layers; /* 1..NN_MAX_LAYERS in all (trunk + heads) */
    nn_layer_spec layer[NN_MAX_LAYERS];
    int trunk;    /* layers shared by every head: 0 for a one-head network */
    int n_heads;  /* 1 or 2 */
    nn_head head[NN_MAX_HEADS];
} nn_arch;

typedef struct {
    nn_arch arch;
    size_t n_params;
    float *params;                             /* one allocation of n_params floats */
    float *w[NN_MAX_LAYERS], *b[NN_MAX_LAYERS]; /* views: w[l][out][in], b[l][out] */
} nn_net;

/* ---- architecture ---- */

/* A one-head network: in -> hidden[0] -> ... -> hidden[n_hidden-1] -> out, hidden layers with hidden_act
 * (alpha for LEAKY_RELU), the last layer with out_act; head name "output" and the given kind. n_hidden may be 0
 * (a single linear layer). Does not validate: see nn_arch_check. */
nn_arch nn_arch_mlp(int in, const int *hidden, int n_hidden, nn_act hidden_act, float alpha, int out, nn_act out_act,
                    nn_head_kind kind);

/* The game's two-headed network: a trunk in -> trunk_widths..., then a policy head (policy_widths..., then 9,
 * SOFTMAX) named "policy" and a value head (value_widths..., then 1, SIGMOID) named "value"; every hidden layer
 * uses hidden_act. Any of the width lists may be empty (n = 0). Does not validate. */
nn_arch nn_arch_two_heads(int in, const int *trunk_widths, int n_trunk, const int *policy_widths, int n_policy,
                          const int *value_widths, int n_value, nn_act hidden_act, float alpha);

/* Checks the structure: widths in 1..NN_MAX_WIDTH, 1..NN_MAX_LAYERS layers, heads contiguous after the trunk and
 * covering every layer, one head with trunk 0 or two heads of >= 1 layer, SOFTMAX/LOGSOFTMAX only on a head's
 * last layer, activations known, alpha finite, head names non-empty and distinct, at most 2^31 parameters.
 * On failure sets a one-line message prefixed with `what` (e.g. a file name) and returns NRPS_ERR_ARG. */
nrps_status nn_arch_check(const nn_arch *a, const char *what);

int nn_arch_equal(const nn_arch *a, const nn_arch *b);      /* 1 when identical (names and alphas included) */
int nn_layer_in(const nn_arch *a, int l);                  /* input width of layer l */
int nn_head_width(const nn_arch *a, int h);                /* output width of head h */
nn_act nn_head_act(const nn_arch *a, int h);               /* final activation of head h */
int nn_head_find(const nn_arch *a, nn_head_kind kind);     /* index of the first head of that kind, or -1 */
int nn_arch_max_width(const nn_arch *a);                   /* widest layer output (not counting the input) */
size_t nn_arch_param_count(const nn_arch *a);              /* floats of W and b over every layer */
/* Offset (floats) of layer l's W in params; its b follows W at + out * in. */
size_t nn_layer_offset(const nn_arch *a, int l);

/* The widths as text into buf (always terminated): "81-128-9", or "81-64 -> policy:32-9 | value:16-1". */
void nn_arch_describe(const nn_arch *a, char *buf, size_t len);
/* Floating-point operations per sample of a forward pass: 2 per weight (a multiply and an add), activations and
 * biases not counted (the convention of GFLOP/s figures for dense layers). */
double nn_arch_flops(const nn_arch *a);

const char *nn_act_name(nn_act a);     /* "relu", "leaky_relu", "softmax", ... */
const char *nn_head_kind_name(nn_head_kind k); /* "policy", "value", "other" */

/* ---- networks ---- */

/* Checks the architecture (nn_arch_check with what = "network") and allocates zeroed parameters with views.
 * Returns NRPS_OK, NRPS_ERR_ARG or NRPS_ERR_NOMEM; on error *n is zeroed. */
nrps_status nn_init(nn_net *n, const nn_arch *a);
void nn_free(nn_net *n);                                /* accepts NULL and zeroed/freed structs */
nrps_status nn_copy(nn_net *dst, const nn_net *src);    /* dst (not freed first) = deep copy of src */
void nn_set_views(nn_net *n);                           /* re-points w/b into params after params moved */

/* PyTorch nn.Linear default initialisation, layer by layer: W then b, each U(-1/sqrt(in), 1/sqrt(in)), drawn in
 * parameter order from rng (deterministic for a seed; for 2 layers the same stream as before). */
void nn_init_random(nn_net *n, nrps_rng *rng);

/* 1 if every parameter is finite; otherwise 0 and *layer (if not NULL) = the first layer holding a non-finite
 * value. */
int nn_params_finite(const nn_net *n, int *layer);

/* ---- reference forward ---- */

/* Floats of scratch nn_forward needs for a batch: 3 * batch * nn_arch_max_width. */
size_t nn_forward_scratch(const nn_arch *a, int batch);

/* Reference forward: x[batch][in] -> y[h][batch][head width] for every head h (y has n_heads pointers).
 * Double accumulation, activations from nn_ops.h. scratch: nn_forward_scratch floats, or NULL (then it allocates:
 * not for hot paths). Never allocates otherwise; thread-safe for distinct scratch/y. */
nrps_status nn_forward(const nn_net *n, const float *x, int batch, float *const *y, float *scratch);

#endif
