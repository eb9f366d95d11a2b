/* train.h - the AlphaZero-style training loop behind `neural_rps train`, its checkpoints, and the analysis
 * of trained networks against the exact solver.
 *
 * Networks (shared/DESIGN.md 2b), chosen by train_config.heads:
 *   TRAIN_HEADS_SEPARATE  a policy network 81 -> layers... -> 9 softmax and a value network
 *                         81 -> value_layers... -> 1 sigmoid, trained side by side (today's default: 128 and 64)
 *   TRAIN_HEADS_TWO       one AlphaZero-style network: a trunk 81 -> layers..., then a policy head
 *                         (policy_head... -> 9 softmax) and a value head (value_head... -> 1 sigmoid); the loss is
 *                         policy_weight * cross-entropy + value_weight * value loss
 * Every hidden layer is ReLU. The architecture is part of the configuration and of the checkpoint.
 *
 * A run in DIR (train_config.out_dir):
 *   generation 0 = the randomly initialised networks; generation g >= 1 = self-play with generation g-1's
 *   networks (cfg.games games), then cfg.epochs epochs of minibatch AdamW over the replay window (the last
 *   cfg.window generations, identical positions averaged): policy cross-entropy against root visit
 *   distributions, value BCE or MSE against results; then short arenas.
 * Files (all written atomically, after EVERY generation); NETS = rps_policy.onnx + rps_value.onnx (separate) or
 * rps_net.onnx (two heads), with ONNX metadata (architecture, games, seed, kind, input_encoding):
 *   DIR/NETS                                     the latest networks
 *   DIR/summary.json                             configuration, per-generation statistics, total time
 *   DIR/generations/gNNNN/NETS                   the networks of every generation
 *   DIR/checkpoint/LATEST                        name of the newest complete checkpoint folder
 *   DIR/checkpoint/gen_NNNN/                     {policy,value}.ckpt or net.ckpt (network + Adam state,
 *       nn_trainer_save_tagged) and state.bin: run id, configuration, statistics, replay window (magic
 *       "NRPSTRST", version, FNV-1a checksum)
 *   DIR/.lock                                    the run folder's lock (train_lock.h)
 * A checkpoint folder is complete before LATEST names it, so a run killed at any moment resumes from the
 * last finished generation. Every random choice derives from (seed, generation, game index), so a resumed
 * run gives the same networks as an uninterrupted one, for any thread count. Checkpoints written before the
 * architecture flags existed (hidden_policy / hidden_value, mlp_trainer files) keep resuming.
 * A run has a run id (32 hex digits, random, made when the run starts; in state.bin and summary.json): every
 * network checkpoint names the run id and the generation it belongs to, and --resume refuses a checkpoint folder
 * whose files name another run or generation than its state.bin (one line naming both files). A checkpoint
 * written before run ids existed (state.bin version 2, network checkpoints version 1 or 2) resumes with a
 * one-line warning on stderr and gets a new run id.
 * One run at a time per folder: train_run holds DIR/.lock (flock) throughout, and a second run fails at once.
 *
 * Over MPI (cfg.mpi, `mpirun -np N neural_rps train --mpi`): rank 0 runs the loop above and is the only process that
 * reads or writes DIR; every generation it sends the current networks to all ranks (broadcast), each rank plays its
 * block of the self-play games by game index (selfplay_config.distributed) and rank 0 gathers the samples in game
 * order, trains, and writes; the evaluation games are split the same way (each rank writes the networks it was
 * sent to a private temp folder for them). The networks are byte-identical to a 1-process run for any N and any
 * threads per rank. A failure on any rank ends every rank's train_run with it (the message names the rank). */
#ifndef NRPS_TRAIN_H
#define NRPS_TRAIN_H

#include <stdint.h>

#include "game/game.h"
#include "nn/nn_train.h"

/* Hidden-layer widths, e.g. {2, {256, 128}}; n = 0 is none. */
typedef struct {
    int n;
    int w[NN_MAX_LAYERS];
} train_widths;

typedef enum { TRAIN_HEADS_SEPARATE = 0, TRAIN_HEADS_TWO = 1 } train_heads;

typedef struct {
    char out_dir[1024];
    rps_config game;
    int generations;          /* training generations in total (a resumed run continues up to this) */
    long games;               /* self-play games per generation */
    int playouts;             /* MCTS simulations per self-play move */
    int mcts_batch;           /* leaves evaluated per network call (virtual loss) */
    double c_puct, dirichlet_alpha, dirichlet_weight;
    double temperature;       /* move sampling temperature for the first temperature_plies plies */
    int temperature_plies;
    double random_share;      /* share of self-play games where one seat plays uniformly random moves (0 = pure
                                 self-play); only the searching side's positions are recorded in those */
    train_heads heads;        /* two networks (policy, value) or one two-headed network */
    train_widths layers;      /* separate: the policy's hidden widths; two heads: the trunk */
    train_widths value_layers; /* separate: the value network's hidden widths */
    train_widths policy_head, value_head; /* two heads: hidden widths of each head before its output layer */
    double policy_weight, value_weight;   /* two heads: loss weights of the heads (>= 0, not both 0) */
    rps_encoding encoding;    /* network input encoding (RPS_ENC_HANDS by default; RPS_ENC_BOARD = DESIGN.md's) */
    double lr, weight_decay;
    double lr_final;          /* learning rate of the last generation (linear decay from lr); <= 0: constant */
    int batch, epochs, window;
    nn_value_loss value_loss;
    uint64_t seed;
    int threads;
    long eval_games;          /* games per arena after each generation (0 = no arenas) */
    int eval_playouts;        /* MCTS playouts in those arenas */
    int progress;             /* progress line on stderr */
    int quiet;                /* no per-generation lines on stdout */
    char backend[32];         /* backend of self-play, evaluation games (SELFPLAY_DEFAULT_BACKEND = native-ref: the
                                 same numbers on every machine) */
    int mpi;                  /* one run over the processes of the MPI job (--mpi; util/mpi_dist.h, train_run) */
} train_config;

/* Defaults (those of the committed models): 24 generations x 1500 games, 200 playouts, batch 4, c_puct 1.5,
 * alpha 0.3, weight 0.25, temperature 1 for 4 plies, no random opponents, separate networks with hidden layers
 * 128 (policy) and 64 (value) (two heads: policy head none, value head 32, weights 1 and 1), hands encoding, lr
 * 2e-3 decaying linearly to 5e-4, wd 1e-4, minibatch 128, 6 epochs, window 4, BCE, seed 1, 1 thread, 100 eval
 * games at 100 playouts, out_dir "runs/train". */
train_config train_config_default(void);
/* Checks ranges and the architecture; one-line error naming the flag (e.g. "--games must be in [1, 10000000],
 * got 0"), NRPS_ERR_ARG. */
nrps_status train_config_check(const train_config *cfg);

/* The networks cfg trains: out[0] = policy, out[1] = value (separate; returns 2) or out[0] = the two-headed
 * network (returns 1). Not validated (train_config_check does). */
int train_config_archs(const train_config *cfg, nn_arch out[2]);

enum { TRAIN_WIDTH_MAX = 65536 };

/* Parses a width list for flag (e.g. "layers"): comma-separated integers in [1, TRAIN_WIDTH_MAX], at most
 * NN_MAX_LAYERS - 1 of them, or "none" (an empty list). On error: one line "--FLAG expects ..., got 'TEXT'",
 * NRPS_ERR_ARG, *out unchanged. */
nrps_status train_widths_parse(const char *flag, const char *text, train_widths *out);
/* "256,128", or "none" for an empty list, into buf (always terminated). */
void train_widths_text(const train_widths *w, char *buf, size_t len);
int train_widths_equal(const train_widths *a, const train_widths *b);
const char *train_heads_name(train_heads h); /* "separate", "two" */
int train_heads_parse(const char *name, train_heads *out); /* 1 when name is "separate" or "two" */

/* Reads the configuration and finished generation count of the checkpoint in dir (for --resume).
 * NRPS_ERR_IO when there is no checkpoint, NRPS_ERR_FORMAT (one-line message naming the file) when it is
 * damaged. */
nrps_status train_checkpoint_peek(const char *dir, train_config *cfg, int *finished);

/* NRPS_OK unless a training run holds dir's lock right now: then the one-line error "DIR: another training run
 * holds this folder (pid N, lock DIR/.lock) ...", NRPS_ERR_IO. Touches nothing (train_run takes the lock itself;
 * this lets a caller say so before it reads the folder). */
nrps_status train_lock_check(const char *dir);

/* Runs (or with resume, continues) the training described by cfg. With cfg->mpi, COLLECTIVE: rank 0 passes the
 * run's cfg and resume; the other ranks follow rank 0 (their cfg gives only threads; resume is ignored) and return
 * rank 0's status. Returns NRPS_OK when cfg->generations
 * generations are finished, NRPS_ERR_INTERRUPTED after SIGINT (finished generations are saved), or an
 * error (message set). *finished (may be NULL) = generations finished on return. Order: the folder is created
 * (fresh run) and locked before anything in it is read or written, then accepted (a fresh run: no run there;
 * resume: its checkpoint reads and belongs together), then the temp files of earlier killed runs are removed
 * (train_lock.h), then the run writes. */
nrps_status train_run(const train_config *cfg, int resume, int *finished);

/* Analysis of a policy/value pair against the exact solver on positions of held-out self-play games. */
typedef struct {
    char nets_dir[1024];   /* analysed: DIR/rps_policy.onnx + DIR/rps_value.onnx, or DIR/rps_net.onnx when the
                              pair is absent */
    char source_dir[1024]; /* networks that play the self-play games ("" = nets_dir) */
    rps_config game;
    long positions;        /* positions to analyse (>= 1) */
    uint64_t seed;         /* self-play seed (use one the networks were not trained with) */
    int playouts, mcts_batch;
    double c_puct, dirichlet_alpha, dirichlet_weight, temperature;
    int temperature_plies;
    int json;              /* print one JSON object instead of text */
    char backend[32];      /* backend the networks run on (default SELFPLAY_DEFAULT_BACKEND; "" = native-cpu) */
} train_analyse_config;

typedef struct {
    long positions, games;
    long policy_margin_opt;    /* policy's top legal position holds a margin-optimal move */
    long policy_result_opt;    /* ... a move reaching the best result (win/draw/loss) */
    long decisive;             /* positions where some legal position does not reach the best result */
    long decisive_result_opt;  /* ... and the policy's top position does */
    double random_margin_opt;  /* expected share for a uniformly random legal position */
    double random_result_opt;
    double random_decisive_result_opt;
    long value_correct;        /* sign of value - 0.5 equals the solver's result */
    long value_win_positions;  /* positions the solver calls won for the side to move */
    double value_mse;          /* mean (value - exact result in {0, 0.5, 1})^2 */
    double seconds;
    int interrupted;           /* SIGINT stopped it: the figures cover the positions analysed so far */
} train_analysis;

void train_analyse_config_default(train_analyse_config *cfg);
/* NRPS_OK, or NRPS_ERR_INTERRUPTED after SIGINT with *out holding the figures of the positions analysed so far
 * (out->interrupted set; out->positions may be 0), or another error. */
nrps_status train_analyse(const train_analyse_config *cfg, train_analysis *out);

#endif
