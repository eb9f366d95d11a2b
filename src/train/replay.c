/* replay.c - replay window and per-position target aggregation (see replay.h). */
#include "train/replay.h"

#include <stdlib.h>
#include <string.h>

void replay_init(replay_buffer *rb, int window) {
    memset(rb, 0, sizeof *rb);
    rb->window = window < 1 ? 1 : window > REPLAY_MAX_WINDOW ? REPLAY_MAX_WINDOW : window;
}

void replay_free(replay_buffer *rb) {
    for (int i = 0; i < rb->ngens; i++) free(rb->g[i].s);
    rb->ngens = 0;
}

void replay_add(replay_buffer *rb, int gen, sp_sample *s, long n) {
    while (rb->ngens >= rb->window) {
        free(rb->g[0].s);
        memmove(&rb->g[0], &rb->g[1], (size_t)(rb->ngens - 1) * sizeof rb->g[0]);
        rb->ngens--;
    }
    rb->g[rb->ngens].gen = gen;
    rb->g[rb->ngens].s = s;
    rb->g[rb->ngens].n = n;
    rb->ngens++;
}

long replay_sample_count(const replay_buffer *rb) {
    long t = 0;
    for (int i = 0; i < rb->ngens; i++) t += rb->g[i].n;
    return t;
}

void replay_dataset_free(replay_dataset *ds) {
    free(ds->key);
    free(ds->x);
    free(ds->tp);
    free(ds->tv);
    free(ds->count);
    memset(ds, 0, sizeof *ds);
}

static uint64_t hash_key(uint64_t k) { /* splitmix64 finaliser */
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return k;
}

nrps_status replay_build(const replay_buffer *rb, replay_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    long total = replay_sample_count(rb);
    size_t cap = 16;
    while (cap < (size_t)total * 2) cap *= 2;
    long *slot = malloc(cap * sizeof *slot);            /* index into ds arrays, -1 = empty */
    double *sp = calloc((size_t)(total > 0 ? total : 1) * RPS_POLICY_SIZE, sizeof *sp);
    double *sv = calloc((size_t)(total > 0 ? total : 1), sizeof *sv);
    ds->key = malloc((size_t)(total > 0 ? total : 1) * sizeof *ds->key);
    ds->count = calloc((size_t)(total > 0 ? total : 1), sizeof *ds->count);
    nrps_status rc = NRPS_OK;
    if (!slot || !sp || !sv || !ds->key || !ds->count) goto nomem;
    for (size_t i = 0; i < cap; i++) slot[i] = -1;
    long n = 0;
    for (int gi = 0; gi < rb->ngens; gi++) {
        const replay_gen *g = &rb->g[gi];
        for (long i = 0; i < g->n; i++) {
            const sp_sample *s = &g->s[i];
            size_t h = hash_key(s->key) & (cap - 1);
            while (slot[h] >= 0 && ds->key[slot[h]] != s->key) h = (h + 1) & (cap - 1);
            long d = slot[h];
            if (d < 0) {
                d = slot[h] = n++;
                ds->key[d] = s->key;
            }
            for (int p = 0; p < RPS_POLICY_SIZE; p++) sp[d * RPS_POLICY_SIZE + p] += s->policy[p];
            sv[d] += s->value;
            ds->count[d]++;
        }
    }
    ds->n = n;
    ds->x = malloc((size_t)(n > 0 ? n : 1) * RPS_INPUT_SIZE * sizeof *ds->x);
    ds->tp = malloc((size_t)(n > 0 ? n : 1) * RPS_POLICY_SIZE * sizeof *ds->tp);
    ds->tv = malloc((size_t)(n > 0 ? n : 1) * sizeof *ds->tv);
    if (!ds->x || !ds->tp || !ds->tv) goto nomem;
    for (long d = 0; d < n; d++) {
        sp_key_encode(ds->key[d], &ds->x[d * RPS_INPUT_SIZE]);
        double c = ds->count[d], tot = 0;
        for (int p = 0; p < RPS_POLICY_SIZE; p++) tot += sp[d * RPS_POLICY_SIZE + p];
        for (int p = 0; p < RPS_POLICY_SIZE; p++)
            ds->tp[d * RPS_POLICY_SIZE + p] = (float)(tot > 0 ? sp[d * RPS_POLICY_SIZE + p] / tot : 0.0);
        ds->tv[d] = (float)(sv[d] / c);
    }
    goto cleanup;
nomem:
    nrps_set_error("replay: out of memory for %ld samples", total);
    replay_dataset_free(ds);
    rc = NRPS_ERR_NOMEM;
cleanup:
    free(slot);
    free(sp);
    free(sv);
    return rc;
}
