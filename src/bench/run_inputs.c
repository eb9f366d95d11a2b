/* run_inputs.c - the benchmark's inputs, one pool per model and graph input holding its largest batch: game
 * positions (self-play or random floats, in the model's encoding) for models that take [batch, 81] float32,
 * .npy files when given, seeded random data of each input's type otherwise. */
#include <stdlib.h>
#include <string.h>

#include "bench/run_impl.h"

int bench_model_max_batch(const run_ctx *c, int m) { return c->m[m].batches[c->m[m].n_batches - 1]; }

static void append(char *buf, size_t len, const char *s) {
    size_t used = strlen(buf);
    if (used < len) snprintf(buf + used, len - used, "%s%s", used ? "; " : "", s);
}

/* Where input generation stands, for the progress line. */
typedef struct {
    const run_ctx *c;
    const char *label; /* the model's */
} inputs_progress;

/* bench_inputs_progress_fn: "inputs: <model> self-play k/n positions, game N" on stderr (bench_progress: only on
 * a terminal); positions_pool clears the line when the inputs are made. */
static void on_inputs_progress(void *ctx, long games, long positions, long n) {
    const inputs_progress *ip = ctx;
    char pos[48];
    snprintf(pos, sizeof pos, "%ld/%ld", positions, n);
    bench_progress(ip->c, "inputs: %-12s self-play %s positions, game %d", ip->label, pos, (int)games);
}

/* Game positions into the pool of a [batch, 81] float32 model: up to BENCH_POOL_MAX distinct, repeated; an
 * earlier model's positions when it takes the same encoding and batch. */
static nrps_status positions_pool(run_ctx *c, int m, int max_batch, char *desc, size_t len) {
    const bench_plan *p = c->p;
    model_ctx *mc = &c->m[m];
    float *pool = mc->pool[0];
    for (int k = 0; k < m; k++)
        if (c->m[k].positions && c->m[k].enc == mc->enc && bench_model_max_batch(c, k) == max_batch) {
            memcpy(pool, c->m[k].pool[0], sizeof(float) * (size_t)max_batch * RPS_INPUT_SIZE);
            snprintf(desc, len, "%s", c->r->env.models[k].data);
            return NRPS_OK;
        }
    long distinct = max_batch < BENCH_POOL_MAX ? max_batch : BENCH_POOL_MAX;
    bench_inputs_kind kind = p->inputs == BENCH_INPUTS_RANDOM ? BENCH_INPUTS_RANDOM : BENCH_INPUTS_SELFPLAY;
    inputs_progress ip = {c, c->r->env.models[m].label};
    bench_inputs_progress_fn fn = p->progress ? on_inputs_progress : NULL;
    nrps_status st = bench_inputs_make_cb(kind, distinct, RPS_INPUT_SIZE, p->seed, p->selfplay_agent, (int)mc->enc,
                                          p->cache_dir, pool, desc, len, fn, &ip);
    if (p->progress) fprintf(stderr, "\r%80s\r", "");
    if (st != NRPS_OK) return st;
    for (long s = distinct; s < max_batch; s++)
        memcpy(pool + (size_t)s * RPS_INPUT_SIZE, pool + (size_t)(s % distinct) * RPS_INPUT_SIZE,
               sizeof(float) * RPS_INPUT_SIZE);
    if (distinct < max_batch) {
        size_t used = strlen(desc);
        snprintf(desc + used, len - used, ", repeated to %d", max_batch);
    }
    return NRPS_OK;
}

/* Input j of model m from the plan's .npy files or seeded random data. */
static nrps_status tensor_pool(run_ctx *c, int m, int j, int max_batch, char *desc, size_t len) {
    const bench_plan *p = c->p;
    const be_tensor *t = &c->m[m].first->input[j];
    if (p->inputs == BENCH_INPUTS_FILES)
        return bench_tensor_from_npy(p->input_files[j], t, max_batch, c->m[m].pool[j], desc, len);
    char how[96];
    bench_tensor_random_desc(t, p->int_lo, p->int_hi, how, sizeof how);
    bench_tensor_random(t, c->m[m].pool[j], (size_t)be_tensor_elems(t, max_batch), p->seed + (uint64_t)j, p->int_lo,
                        p->int_hi);
    snprintf(desc, len, "%s: random %s, seed %llu", t->name, how, (unsigned long long)(p->seed + (uint64_t)j));
    return NRPS_OK;
}

static nrps_status model_inputs(run_ctx *c, int m) {
    const bench_plan *p = c->p;
    model_ctx *mc = &c->m[m];
    const be_info *bi = mc->first;
    bench_model_info *mi = &c->r->env.models[m];
    int max_batch = bench_model_max_batch(c, m);
    if (p->inputs == BENCH_INPUTS_FILES && p->n_input_files != bi->n_inputs) {
        nrps_set_error("--inputs: %s has %d input%s but %d .npy file%s were given (one per graph input, in order)",
                       mi->path, bi->n_inputs, bi->n_inputs == 1 ? "" : "s", p->n_input_files,
                       p->n_input_files == 1 ? "" : "s");
        return NRPS_ERR_ARG;
    }
    for (int j = 0; j < bi->n_inputs; j++) {
        size_t bytes = (size_t)be_tensor_elems(&bi->input[j], max_batch) * be_dtype_size(bi->input[j].dtype);
        if (!(mc->pool[j] = calloc(1, bytes + 1))) {
            nrps_set_error("out of memory for the inputs of %s at batch %d", mi->path, max_batch);
            return NRPS_ERR_NOMEM;
        }
        char desc[300];
        nrps_status st = mc->positions && p->inputs != BENCH_INPUTS_FILES
                             ? positions_pool(c, m, max_batch, desc, sizeof desc)
                             : tensor_pool(c, m, j, max_batch, desc, sizeof desc);
        if (st != NRPS_OK) return st;
        append(mi->data, sizeof mi->data, desc);
    }
    return NRPS_OK;
}

nrps_status bench_make_inputs(run_ctx *c) {
    bench_env *e = &c->r->env;
    for (int m = 0; m < c->n_models; m++) {
        nrps_status st = model_inputs(c, m);
        if (st != NRPS_OK) return st;
        int dup = 0; /* the header's inputs line: each distinct description once */
        for (int k = 0; k < m; k++) dup |= !strcmp(e->models[k].data, e->models[m].data);
        if (!dup) append(e->inputs, sizeof e->inputs, e->models[m].data);
    }
    int rows = 0;
    for (int m = 0; m < c->n_models; m++) rows += c->m[m].n_batches;
    rows = 2 * rows * c->p->n_backends + c->p->n_batches;
    if ((c->r->rows = calloc((size_t)rows, sizeof *c->r->rows))) {
        c->max_rows = rows;
        return NRPS_OK;
    }
    nrps_set_error("out of memory for the results");
    return NRPS_ERR_NOMEM;
}
