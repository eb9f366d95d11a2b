/* train_state.h - PRIVATE to src/train: the in-memory state of a training run (networks, trainers, replay window,
 * statistics) and its checkpoint folder on disk (train_state.c). The loop (train.c) builds on it; train.h
 * describes the files. Not thread-safe: one thread owns a state. */
#ifndef NRPS_TRAIN_STATE_H
#define NRPS_TRAIN_STATE_H

#include <cjson/cJSON.h>

#include "nn/nn_train.h"
#include "train/replay.h"
#include "train/train.h"

enum { TRAIN_RUN_ID_LEN = 32 }; /* hex digits */

typedef struct {
    train_config cfg;
    int finished;        /* generations finished */
    double elapsed;      /* seconds spent in finished generations (all sessions) */
    int n_nets;          /* 2: net[0] policy + net[1] value; 1: net[0] is the two-headed network */
    nn_net net[2];
    nn_trainer *tr[2];   /* tr[i] trains net[i] (keeps a pointer to it: a state is never moved) */
    replay_buffer rb;
    cJSON *gens;         /* per-generation statistics (array) */
    char run_id[TRAIN_RUN_ID_LEN + 1]; /* the run's id (train_new_run_id); "" until known */
    int unbound;         /* read from a checkpoint written before run ids (no binding was checked) */
} train_state;

/* A new run id: TRAIN_RUN_ID_LEN lowercase hex digits from the system's random source (getrandom). */
void train_new_run_id(char out[TRAIN_RUN_ID_LEN + 1]);

/* A new run's state for cfg (checked by the caller): networks initialised from the run seed, trainers with the
 * run's AdamW settings, an empty window, a new run id. On error the state may be partly filled: train_state_free
 * it. */
nrps_status train_state_fresh(const train_config *cfg, train_state *s);
/* Frees everything the state holds; accepts a zeroed state. */
void train_state_free(train_state *s);

/* Writes DIR/checkpoint/gen_NNNN/ for s->finished (network checkpoints tagged with s->run_id and s->finished,
 * then state.bin with the run id), then LATEST, then removes the checkpoint two generations older. */
nrps_status train_checkpoint_write(const train_state *s);
/* Reads the checkpoint LATEST names in out_dir into the zeroed state s: the run id, configuration and
 * statistics from state.bin, then each network checkpoint, which must hold the architecture the configuration
 * describes and name the run id and generation of state.bin (one line naming the files otherwise). A checkpoint
 * written before run ids (every file of it without one) reads with s->unbound set and s->run_id "". s->cfg.out_dir
 * is left empty. */
nrps_status train_checkpoint_read(const char *out_dir, train_state *s);

/* The configuration as stored in state.bin and summary.json (caller deletes). */
cJSON *train_config_json(const train_config *c);

/* mkdir -p; one line naming the folder on failure. */
nrps_status train_make_dirs(const char *path);
/* A seed for stream `stream` of generation gen (initial weights, epoch shuffles, arenas). */
uint64_t train_derive_seed(uint64_t seed, int gen, long stream);

#endif
