/* nn_ops.h - every math op of the network family, written once: activations and their derivatives, the row
 * softmax / log-softmax, the reference dense layer, and "network output -> probabilities". The reference forward
 * (net.c), the trainer, the native backends and the evaluators all call these; nothing else in the project
 * computes a softmax or a sigmoid of its own. All functions are pure (no state, thread-safe). */
#ifndef NRPS_NN_OPS_H
#define NRPS_NN_OPS_H

#include "nn/net.h"

/* Overflow-safe logistic function (exp of a non-positive number only). */
double nn_sigmoid(double z);

/* Element-wise activation of a pre-activation z: NONE, RELU, LEAKY_RELU (slope alpha), TANH, SIGMOID. SOFTMAX and
 * LOGSOFTMAX are row operations: for them z is returned unchanged (use nn_act_rows). */
double nn_act_elem(nn_act a, float alpha, double z);

/* d act(z) / dz for the element-wise activations, from the pre-activation z and the activation y = act(z).
 * (RELU and LEAKY_RELU at z = 0 take the left derivative, as PyTorch does.) */
double nn_act_deriv(nn_act a, float alpha, double z, double y);

/* Binary cross-entropy of sigmoid(z) against a target t in [0, 1], from the logit z, overflow-safe:
 * max(z, 0) - z t + log(1 + exp(-|z|)) = -(t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))). */
double nn_bce_logit(double z, double t);

/* Row softmax / log-softmax of z[n] in place: max subtracted, the sum in double. */
void nn_softmax_row(float *z, int n);
void nn_logsoftmax_row(float *z, int n);
/* log(sum_k exp(z_k)) of z[n] in double, max subtracted (the trainer's cross-entropy uses it). */
double nn_logsumexp_d(const double *z, int n);

/* Applies activation a to rows x width values y in place (element-wise, or per row for SOFTMAX/LOGSOFTMAX). */
void nn_act_rows(nn_act a, float alpha, float *y, int rows, int width);

/* Reference dense layer: y[b][o] = act(b[o] + sum_i w[o][i] x[b][i]) for b < batch, the sum accumulated in double
 * in index order, an element-wise activation applied to the double sum before the one rounding to float, a row
 * activation (SOFTMAX/LOGSOFTMAX) to the rounded row. Zero inputs may be skipped (sparse game positions): that
 * changes no sum as long as the weights are finite (the ONNX reader refuses non-finite weights). */
void nn_dense_ref(const float *x, int batch, int in, const float *w, const float *bias, int out, nn_act act,
                  float alpha, float *y);

/* ---- network output -> probabilities (the one place that interprets a head's final activation) ---- */

/* Turns a policy head's outputs p[n] (in place) into a probability distribution given its final activation:
 * SOFTMAX as is, LOGSOFTMAX exp, anything else (logits) softmax. Non-finite outputs give the uniform
 * distribution. */
void nn_policy_probs(nn_act final_act, float *p, int n);

/* A value head's output as the probability that the player to move wins, in [0, 1]: SIGMOID as is, TANH
 * (v + 1) / 2, anything else (a logit) sigmoid. Non-finite gives 0.5. */
float nn_value_prob(nn_act final_act, float v);

/* Both for n positions: policy[i][w] from the policy head's rows py[i][w] (nn_policy_probs) and value[i] from
 * vy[i] (nn_value_prob; vy NULL: 0.5, a policy-only net). What every network evaluator hands to search. */
void nn_search_outputs(const float *py, nn_act pol_act, int w, const float *vy, nn_act val_act, int n, float *policy,
                       float *value);

#endif
