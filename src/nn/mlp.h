/* mlp.h - the two-layer perceptron family of the project (DESIGN.md section 2):
 *   y = out_act(W2 * hidden_act(W1 * x + b1) + b2)
 * with weights stored [out][in] like PyTorch's nn.Linear. The plain-C forward pass here is the
 * numerical reference that every other backend is compared against.
 * Parameters live in one allocation (params), laid out W1 | b1 | W2 | b2. */
#ifndef NRPS_MLP_H
#define NRPS_MLP_H

#include <stddef.h>

#include "util/util.h"

typedef enum { MLP_ACT_NONE = 0, MLP_ACT_RELU, MLP_ACT_TANH, MLP_ACT_SIGMOID, MLP_ACT_SOFTMAX, MLP_ACT_LOGSOFTMAX } mlp_act;

typedef struct {
    int in, hidden, out;
    mlp_act hidden_act; /* RELU (default), TANH or SIGMOID */
    mlp_act out_act;    /* SOFTMAX (policy), SIGMOID (value), LOGSOFTMAX, TANH or NONE */
    float *params;      /* one allocation of mlp_param_count floats */
    float *w1, *b1, *w2, *b2; /* views into params: w1[hidden][in], b1[hidden], w2[out][hidden], b2[out] */
} mlp;

size_t mlp_param_count(int in, int hidden, int out);
/* Allocates zeroed parameters. Returns NRPS_ERR_ARG for non-positive sizes, NRPS_ERR_NOMEM. */
nrps_status mlp_init(mlp *m, int in, int hidden, int out, mlp_act hidden_act, mlp_act out_act);
void mlp_free(mlp *m); /* accepts a zeroed/freed struct */
const char *mlp_act_name(mlp_act a);

/* Reference forward pass: x[batch][in] -> y[batch][out]. scratch must hold batch*hidden floats
 * (or be NULL: then it allocates, which the hot paths must avoid). Never allocates otherwise. */
nrps_status mlp_forward(const mlp *m, const float *x, int batch, float *y, float *scratch);

/* ---- additions (nn developer) ---- */
/* Re-points w1/b1/w2/b2 into m->params after params was (re)assigned. */
void mlp_set_views(mlp *m);
/* dst = deep copy of src (dst is overwritten without being freed first). */
nrps_status mlp_copy(mlp *dst, const mlp *src);
/* PyTorch nn.Linear default initialisation: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * drawn in the order w1, b1, w2, b2 from rng (deterministic for a seed). */
void mlp_init_random(mlp *m, nrps_rng *rng);
/* 1 if every parameter is finite; otherwise 0 and *which (if not NULL) = "w1"/"b1"/"w2"/"b2". */
int mlp_params_finite(const mlp *m, const char **which);
/* Overflow-safe logistic function. */
float mlp_sigmoid(double z);

#endif
