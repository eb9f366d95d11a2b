/* recommend.c - the recommendation's test and text (see recommend.h); run_recommend.c measures it. */
#include "bench/recommend.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "util/textwrap.h"

int bench_rec_agreement_ok(double a, double b, int n) {
    if (n < 1) return 0;
    double se = sqrt((a * (1 - a) + b * (1 - b)) / n);
    return a >= b - 1.96 * se - 1e-12;
}

/* "threads=T batch=B" and its speed for check k. */
static void describe(const bench_rec_check *k, char *buf, size_t len) {
    const char *svc = k->service ? " service=1" : "";
    if (k->playouts_per_s > 0)
        snprintf(buf, len, "threads=%d batch=%d%s (%.0f playouts/s)", k->threads, k->batch, svc, k->playouts_per_s);
    else snprintf(buf, len, "threads=%d batch=%d%s", k->threads, k->batch, svc);
}

void bench_report_recommend_text(FILE *f, const bench_recommendation *recs, int n) {
    if (n <= 0) return;
    int width = nrps_term_width(f);
    fprintf(f, "\n");
    for (int i = 0; i < n; i++) {
        const bench_recommendation *r = &recs[i];
        const bench_rec_check *k = &r->chosen, *b = &r->baseline;
        const char *label = strcmp(r->eval, "incremental") ? r->backend : "native-incr";
        if (r->failed[0]) {
            nrps_wrapf(f, width, 6, "recommended: %s, %s: none: the strength checks failed: %s", label, r->nets,
                       r->failed);
            continue;
        }
        char what[96], speed[96] = "", arena[160] = "";
        describe(k, what, sizeof what);
        if (b->playouts_per_s > 0 && k->playouts_per_s > 0 && (k->threads != 1 || k->batch != 1))
            snprintf(speed, sizeof speed, ", %.2fx the playouts/s of threads=1 batch=1", k->playouts_per_s / b->playouts_per_s);
        if (k->games > 0)
            snprintf(arena, sizeof arena, "; arena score %.3f [%.3f, %.3f] against threads=1 batch=1 over %ld games",
                     k->score, k->score_lo, k->score_hi, k->games);
        const char *note = "";
        if (k->threads == 1 && k->batch == 1)
            note = r->n_rejected ? " (no faster configuration kept the strength)" : " (the fastest measured)";
        nrps_wrapf(f, width, 6, "recommended: %s, %s, %d playouts: %s%s; solver agreement %.1f%% (threads=1 batch=1: "
                                "%.1f%%) on %d positions%s%s",
                   label, r->nets, r->playouts, what, speed,
                   100 * k->agreement, 100 * b->agreement, r->positions, arena, note);
        for (int j = 0; j < r->n_rejected; j++) {
            char rw[96];
            describe(&r->rejected[j], rw, sizeof rw);
            nrps_wrapf(f, width, 6, "  not %s: %s", rw, r->rejected[j].why);
        }
    }
}

static cJSON *check_json(const bench_rec_check *k) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "threads", k->threads);
    cJSON_AddNumberToObject(o, "batch_size", k->batch);
    cJSON_AddBoolToObject(o, "service", k->service);
    if (k->playouts_per_s > 0) cJSON_AddNumberToObject(o, "playouts_per_s", k->playouts_per_s);
    else cJSON_AddNullToObject(o, "playouts_per_s");
    cJSON_AddNumberToObject(o, "solver_agreement", k->agreement);
    if (k->games > 0) {
        cJSON *a = cJSON_AddObjectToObject(o, "arena");
        cJSON_AddNumberToObject(a, "games", (double)k->games);
        cJSON_AddNumberToObject(a, "score", k->score);
        cJSON_AddNumberToObject(a, "score_lo", k->score_lo);
        cJSON_AddNumberToObject(a, "score_hi", k->score_hi);
    } else {
        cJSON_AddNullToObject(o, "arena");
    }
    if (k->why[0]) cJSON_AddStringToObject(o, "rejected_because", k->why);
    return o;
}

void bench_recommend_json(void *root, const bench_recommendation *recs, int n) {
    cJSON *arr = cJSON_AddArrayToObject(root, "recommendations");
    for (int i = 0; i < n; i++) {
        const bench_recommendation *r = &recs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "backend", r->backend);
        cJSON_AddStringToObject(o, "eval", r->eval);
        cJSON_AddStringToObject(o, "nets", r->nets);
        cJSON_AddNumberToObject(o, "playouts", r->playouts);
        cJSON_AddNumberToObject(o, "positions", r->positions);
        if (r->failed[0]) cJSON_AddStringToObject(o, "failed", r->failed);
        else cJSON_AddNullToObject(o, "failed");
        cJSON_AddItemToObject(o, "recommended", check_json(&r->chosen));
        cJSON_AddItemToObject(o, "baseline", check_json(&r->baseline));
        cJSON *rej = cJSON_AddArrayToObject(o, "rejected");
        for (int j = 0; j < r->n_rejected; j++) cJSON_AddItemToArray(rej, check_json(&r->rejected[j]));
        cJSON_AddItemToArray(arr, o);
    }
}
