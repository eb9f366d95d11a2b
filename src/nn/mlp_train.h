/* mlp_train.h - training math for the MLP family: losses, the backward pass, minibatch Adam/AdamW and
 * binary checkpoints (weights + Adam state + step). The self-play loop (src/train) builds on this.
 *
 * Losses (per sample, averaged over the minibatch):
 *   out_act SOFTMAX/LOGSOFTMAX: cross-entropy  L = -sum_k t_k log p_k  (t = target distribution)
 *   out_act SIGMOID:            MLP_LOSS_MSE   L = sum_k (p_k - t_k)^2      (default)
 *                               MLP_LOSS_BCE   L = -sum_k t_k log p_k + (1-t_k) log(1-p_k)
 *   out_act NONE/TANH:          MLP_LOSS_MSE on the outputs
 * Everything internal to the loss and backward pass is computed in double; parameters, gradients and
 * Adam moments are float, each in one allocation laid out like mlp.params (W1 | b1 | W2 | b2).
 *
 * Typical use:
 *   mlp_trainer *tr = mlp_trainer_create(&net, 1e-3f, 1e-4f, 256);
 *   for (...) { double loss; mlp_trainer_step(tr, x, targets, n, &loss); }
 *   mlp_trainer_save(tr, "policy.ckpt");  ...  mlp_trainer_destroy(tr);
 * The trainer keeps a pointer to the network (it updates net.params in place); the caller keeps
 * ownership of the network and must keep it alive while the trainer lives. */
#ifndef NRPS_MLP_TRAIN_H
#define NRPS_MLP_TRAIN_H

#include "nn/mlp.h"

typedef enum { MLP_LOSS_MSE = 0, MLP_LOSS_BCE = 1 } mlp_value_loss;

typedef struct {
    float lr;           /* learning rate (> 0) */
    float beta1, beta2; /* Adam moment decay (0.9, 0.999) */
    float eps;          /* Adam epsilon (1e-8), added to sqrt(v_hat) as in PyTorch */
    float weight_decay; /* decoupled (AdamW): p -= lr * wd * p before the Adam update; 0 = plain Adam */
    mlp_value_loss value_loss; /* for SIGMOID outputs */
    int max_batch;      /* largest n accepted by mlp_trainer_step (scratch is sized for it) */
} mlp_train_config;

/* lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, MSE, max_batch 256. */
mlp_train_config mlp_train_config_default(void);

/* Doubles of scratch mlp_loss_grad needs for a batch of n. */
size_t mlp_grad_scratch_count(const mlp *m, int n);

/* Mean loss over the batch x[n][in] with targets t[n][out]; if grad is not NULL it receives dLoss/dparams
 * (mlp_param_count floats, layout of m->params). scratch: mlp_grad_scratch_count doubles, or NULL
 * (allocates). Returns NaN (error set) on bad arguments (n < 1, unsupported loss/activation pair). */
double mlp_loss_grad(const mlp *m, const float *x, const float *t, int n, mlp_value_loss vl, float *grad,
                     double *scratch);

typedef struct mlp_trainer mlp_trainer;

/* Creates an Adam(W) trainer for m (moments zero, step 0). NULL on error (message set). */
mlp_trainer *mlp_trainer_create(mlp *m, float lr, float weight_decay, int max_batch);
mlp_trainer *mlp_trainer_create_ex(mlp *m, const mlp_train_config *cfg);
void mlp_trainer_destroy(mlp_trainer *tr); /* accepts NULL; does not free the network */

/* One minibatch step: gradient of the mean loss over x[n][in], t[n][out] (1 <= n <= max_batch), then one
 * Adam(W) update of every parameter. *loss (may be NULL) = the mean loss before the update.
 * Never allocates. Errors: NRPS_ERR_ARG (bad n, NaN loss: parameters are left unchanged). */
nrps_status mlp_trainer_step(mlp_trainer *tr, const float *x, const float *t, int n, double *loss);

/* One epoch over x[n][in], t[n][out]: shuffled (rng) minibatches of max_batch (last one smaller).
 * *mean_loss (may be NULL) = sample-weighted mean of the step losses. Allocates a permutation and a
 * gather buffer per call (not a hot path). Stops with NRPS_ERR_INTERRUPTED when nrps_interrupted is set. */
nrps_status mlp_trainer_fit_epoch(mlp_trainer *tr, const float *x, const float *t, int n, nrps_rng *rng,
                                  double *mean_loss);

long long mlp_trainer_steps(const mlp_trainer *tr);      /* Adam steps taken (restored from checkpoints) */
const float *mlp_trainer_grad(const mlp_trainer *tr);    /* gradient of the last step (param layout) */
mlp_train_config mlp_trainer_config(const mlp_trainer *tr);
void mlp_trainer_set_lr(mlp_trainer *tr, float lr);      /* for schedules */
mlp *mlp_trainer_net(mlp_trainer *tr);

/* Checkpoint: "NRPSCKPT" magic, format version, sizes, activations, config, step, then params, Adam m
 * and Adam v (float32 little-endian), then an FNV-1a 64 checksum of everything before it. Written
 * atomically. */
nrps_status mlp_trainer_save(const mlp_trainer *tr, const char *path);
/* Reads a checkpoint into a new network (*net, caller frees with mlp_free) and a trainer bound to it
 * (*tr_out, caller destroys; net must stay at the same address while the trainer lives). lr, betas,
 * eps, weight decay, value loss, Adam moments and step come from the file; max_batch is a runtime
 * choice and is not stored (<= 0 = the default 256). Validates magic, version, sizes, exact length,
 * checksum and finiteness; on any error nothing is returned (message names the file and the problem:
 * NRPS_ERR_IO/FORMAT). */
nrps_status mlp_trainer_load(const char *path, int max_batch, mlp *net, mlp_trainer **tr_out);

#endif
