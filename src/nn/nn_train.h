/* nn_train.h - training for the layer-list network family (net.h): per-head losses, the backward pass through
 * every layer, minibatch Adam/AdamW and binary checkpoints (architecture + config + weights + Adam state + step).
 * The self-play loop (src/train) builds on this.
 *
 * Losses (per sample, averaged over the minibatch), chosen by each head's final activation:
 *   SOFTMAX / LOGSOFTMAX  cross-entropy     L = -sum_k t_k log p_k   (t = a target distribution)
 *   SIGMOID               NN_LOSS_MSE       L = sum_k (p_k - t_k)^2   (default)
 *                         NN_LOSS_BCE       L = -sum_k t_k log p_k + (1 - t_k) log(1 - p_k)
 *   any other             NN_LOSS_MSE on the head's outputs act(z)
 * The loss of a network is sum_h head_weight[h] * (mean loss of head h); the trunk's gradient is the sum of the
 * heads' gradients. Everything internal to the loss and the backward pass is computed in double; parameters,
 * gradients and Adam moments are float, each in one allocation laid out like nn_net.params. Sums run in a fixed
 * order, so a run is reproducible bit for bit (`make train` rebuilds the committed default models exactly).
 *
 * Targets are given per head: t[h] points at n rows of nn_head_width(arch, h) floats (t has n_heads pointers).
 *
 * Typical use:
 *   nn_train_config c = nn_train_config_default(); c.lr = 1e-3f; c.max_batch = 256;
 *   nn_trainer *tr = nn_trainer_create(&net, &c);
 *   for (...) nn_trainer_fit_epoch(tr, x, t, n, &rng, &loss, head_loss);
 *   nn_trainer_save(tr, "net.ckpt");  ...  nn_trainer_destroy(tr);
 * The trainer keeps a pointer to the network and updates net.params in place; the caller owns the network and
 * keeps it alive (at the same address) while the trainer lives. A trainer is not thread-safe: one thread at a
 * time; nn_loss_grad is thread-safe for distinct grad/scratch. */
#ifndef NRPS_NN_TRAIN_H
#define NRPS_NN_TRAIN_H

#include "nn/net.h"

/* Values stored in checkpoints: never renumber. */
typedef enum { NN_LOSS_MSE = 0, NN_LOSS_BCE = 1 } nn_value_loss;

typedef struct {
    float lr;                       /* learning rate (> 0) */
    float beta1, beta2;             /* Adam moment decay (0.9, 0.999), each in [0, 1) */
    float eps;                      /* Adam epsilon (1e-8), added to sqrt(v_hat) as in PyTorch */
    float weight_decay;             /* decoupled (AdamW): p -= lr * wd * p before the Adam update; 0 = plain Adam */
    nn_value_loss value_loss;       /* for heads ending in SIGMOID; BCE needs at least one such head */
    float head_weight[NN_MAX_HEADS]; /* loss weight of each head, finite, >= 0, not all 0 (default 1) */
    int max_batch;                  /* largest n accepted by nn_trainer_step (scratch is sized for it) */
} nn_train_config;

/* lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, MSE, head weights 1, max_batch 256. */
nn_train_config nn_train_config_default(void);

/* Doubles of scratch nn_loss_grad needs for a batch of n on architecture a. */
size_t nn_grad_scratch_count(const nn_arch *a, int n);

/* Weighted loss sum_h head_weight[h] * mean_b L_h over the batch x[n][in], targets t[h][n][width_h]. If grad is
 * not NULL it receives dLoss/dparams (net->n_params floats, layout of net->params). head_loss (n_heads doubles,
 * may be NULL) receives each head's unweighted mean loss. cfg: value loss and head weights (NULL = defaults; its
 * lr, betas, max_batch are not used). scratch: nn_grad_scratch_count(&net->arch, n) doubles, or NULL (then it
 * allocates: not for hot paths). Returns NaN with the error set on bad arguments (n < 1, BCE without a sigmoid
 * head, negative or non-finite head weights). */
double nn_loss_grad(const nn_net *net, const float *x, const float *const *t, int n, const nn_train_config *cfg,
                    float *grad, double *scratch, double *head_loss);

typedef struct nn_trainer nn_trainer;

/* Creates an Adam(W) trainer for net (moments zero, step 0) with a copy of cfg. Allocates the gradient, the
 * moments and scratch for cfg->max_batch. NULL on error (message set: bad configuration, out of memory). */
nn_trainer *nn_trainer_create(nn_net *net, const nn_train_config *cfg);
void nn_trainer_destroy(nn_trainer *tr); /* accepts NULL; does not free the network */

/* One minibatch step: gradient of the loss over x[n][in], t[h][n][width_h] (1 <= n <= max_batch), then one
 * Adam(W) update of every parameter. *loss and head_loss[n_heads] (each may be NULL) = the losses before the
 * update, as nn_loss_grad. Never allocates. Errors: NRPS_ERR_ARG (bad n, non-finite loss: parameters are left
 * unchanged). */
nrps_status nn_trainer_step(nn_trainer *tr, const float *x, const float *const *t, int n, double *loss,
                            double *head_loss);

/* One epoch over x[n][in], t[h][n][width_h]: shuffled (rng) minibatches of max_batch (the last one smaller).
 * *mean_loss and head_loss[n_heads] (each may be NULL) = sample-weighted means of the step losses. Allocates a
 * permutation and gather buffers per call (not a hot path). Stops with NRPS_ERR_INTERRUPTED when
 * nrps_interrupted is set. */
nrps_status nn_trainer_fit_epoch(nn_trainer *tr, const float *x, const float *const *t, int n, nrps_rng *rng,
                                 double *mean_loss, double *head_loss);

long long nn_trainer_steps(const nn_trainer *tr);        /* Adam steps taken (restored from checkpoints) */
const float *nn_trainer_grad(const nn_trainer *tr);      /* gradient of the last step (param layout) */
nn_train_config nn_trainer_config(const nn_trainer *tr);
void nn_trainer_set_lr(nn_trainer *tr, float lr);        /* for schedules; ignored unless finite and > 0 */
nn_net *nn_trainer_net(nn_trainer *tr);

/* Checkpoint (version 2): "NRPSCKPT" magic, format version, the architecture (input width, layers with
 * out/act/alpha, trunk, heads with name/kind/first/count), the config but max_batch, the step, then params,
 * Adam m and Adam v (float32 little-endian, param layout), then an FNV-1a 64 checksum of everything before it.
 * Written atomically (temp + rename). */
nrps_status nn_trainer_save(const nn_trainer *tr, const char *path);

/* What a checkpoint belongs to, for a caller that keeps several checkpoints together (the training loop: its run
 * and generation). run_id: 1 to NN_CKPT_RUN_ID_MAX printable ASCII characters, or "" for none. */
enum { NN_CKPT_RUN_ID_MAX = 64 };
typedef struct {
    char run_id[NN_CKPT_RUN_ID_MAX + 1];
    long generation; /* >= 0; -1 = none */
} nn_ckpt_tag;

/* nn_trainer_save with a tag (NULL or run_id "": exactly nn_trainer_save's version-2 file): version 3 = version 2
 * with the tag (u32 length + run id bytes, u32 generation) right after the version. */
nrps_status nn_trainer_save_tagged(const nn_trainer *tr, const char *path, const nn_ckpt_tag *tag);

/* Reads a checkpoint into a new network (*net, caller frees with nn_free) and a trainer bound to it (*tr,
 * caller destroys; net must stay at the same address while the trainer lives). Config, Adam moments and step
 * come from the file; max_batch is a runtime choice (<= 0 = the default 256). expect (may be NULL): the
 * architecture the caller wants; another one is refused. Also reads the old mlp_trainer checkpoints (version 1:
 * a 2-layer one-head net named "output", kind POLICY for 9 softmax outputs, VALUE for 1 sigmoid output, else
 * OTHER). Validates magic, version, sizes, exact length, checksum, the architecture, the config and finiteness;
 * on any error nothing is returned (*net zeroed, *tr NULL) and the one-line message names the file:
 * NRPS_ERR_IO (unreadable), NRPS_ERR_FORMAT (anything wrong inside), NRPS_ERR_ARG (not the expected
 * architecture), NRPS_ERR_NOMEM. */
nrps_status nn_trainer_load(const char *path, int max_batch, const nn_arch *expect, nn_net *net, nn_trainer **tr);
/* The same, and *tag (may be NULL) = the checkpoint's tag (version 3), or run_id "" and generation -1 (versions
 * 1 and 2: written without one). */
nrps_status nn_trainer_load_tagged(const char *path, int max_batch, const nn_arch *expect, nn_net *net,
                                   nn_trainer **tr, nn_ckpt_tag *tag);

#endif
