/* run_impl.h - private to the benchmark harness: the state of one bench_run, shared by run.c (models, backends,
 * batch sizes), run_inputs.c (inputs), run_time.c (timing, validation, floor, profiles), run_concurrent.c (N
 * callers on one session) and run_search.c (inference inside a real search). */
#ifndef NRPS_BENCH_RUN_IMPL_H
#define NRPS_BENCH_RUN_IMPL_H

#include "bench/run.h"
#include "game/game.h"
#include "nn/net.h"

typedef struct {
    be_model *model;
    const nn_net *net;       /* the dense network family (NULL outside it) */
    rps_encoding enc;        /* input encoding of a game-position model */
    int positions;           /* takes game positions: one float32 [batch, 81] input */
    int game;                /* the search can use it as a policy and/or value network */
    char search_why[300];    /* why it cannot ("" when it can) */
    be_backend *bk[BENCH_MAX_BACKENDS];
    const be_info *first;    /* the first backend's view (the model's description) */
    int batches[BENCH_MAX_BATCHES];
    int n_batches;
    void *pool[BE_MAX_IO];   /* inputs: max_batch samples of each graph input */
    int ref_backend;         /* outside the family: the backend whose outputs are the reference (-1: none) */
} model_ctx;

typedef struct {
    const bench_plan *p;
    bench_result *r;
    int n_models;
    model_ctx m[BENCH_MAX_MODELS];
    char first_backend[BENCH_MAX_MODELS][32];
    int gpu_failed[BENCH_MAX_BACKENDS];
    int be_batch;            /* the backends' max batch: the largest timed or search batch */
    int rec_pm, rec_vm;      /* the first search network set's policy and value models (-1: none searched) */
    int max_rows;            /* r->rows capacity */
    float *ref[BE_MAX_IO];   /* reference outputs as floats, ref_cap elements each */
    size_t ref_cap[BE_MAX_IO];
    long ref_elems[BE_MAX_IO];
    float *got;              /* one output converted to floats */
    size_t got_cap;
    float *scratch;          /* nn_forward scratch */
    size_t scratch_cap;
} run_ctx;

/* n handles on backend i of model m for n threads: h[0] is the run's own (c->m[m].bk[i]), h[1..n) new ones (native
 * backends: be_create; ONNX Runtime: be_share, the same session); the caller destroys h[1..n), also on error. */
nrps_status bench_backend_handles(run_ctx *c, int m, int i, be_backend **h, int n);

/* The largest batch model m is timed at. */
int bench_model_max_batch(const run_ctx *c, int m);

nrps_status bench_make_inputs(run_ctx *c);      /* run_inputs.c */
void bench_pick_reference(run_ctx *c, int m);   /* run_time.c: sets ref_backend and the model's reference */
nrps_status bench_time_models(run_ctx *c);      /* run_time.c */
nrps_status bench_time_floor(run_ctx *c);       /* run_time.c */
nrps_status bench_collect_profiles(run_ctx *c); /* run_time.c */
nrps_status bench_time_concurrent(run_ctx *c);  /* run_concurrent.c */
nrps_status bench_run_search(run_ctx *c);       /* run_search.c */
nrps_status bench_run_recommend(run_ctx *c);    /* run_recommend.c: after bench_run_search */
nrps_status bench_run_scenarios(run_ctx *c);    /* run_scenario.c: --scenario */
/* run_search.c: the network sets a search can run with (the first one-head policy model with the first one-head
 * value model, then every two-headed model) as (policy, value) model indices; returns how many. Models that do not
 * fit the game are named in the section's note (`section`: "inside-search benchmark", "scenarios"). */
int bench_search_sets(run_ctx *c, const char *section, int pm[BENCH_MAX_MODELS], int vm[BENCH_MAX_MODELS]);
/* run_peers.c: with p->peers, runs scripts/torch_peer.py on every model's inputs and batch sizes and merges its
 * rows (torch-eager, torch-script) after the rows of the same model and batch; torch or the script missing sets
 * env.peers_note and returns NRPS_OK; a script that fails or prints malformed rows is an error naming it. */
nrps_status bench_run_peers(run_ctx *c);

/* Progress on stderr when the plan asks for it: fmt with a, b and n. */
void bench_progress(const run_ctx *c, const char *fmt, const char *a, const char *b, int n);

/* A new row (zeroed) for backend b on model m at batch; NULL when the rows are full. */
bench_row *bench_row_new(run_ctx *c, be_backend *b, int m, int batch);

#endif
