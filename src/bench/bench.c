/* bench.c - the timing loop and output validation (see bench.h). */
#include "bench/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_time_s(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)) return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bench_loop_opts bench_loop_opts_default(void) {
    return (bench_loop_opts){.warmup = -1,
                             .iterations = 1000,
                             .duration_s = 0,
                             .window = 50,
                             .warmup_min = 100,
                             .warmup_max_calls = 20000,
                             .settle_tol = 0.03,
                             .warmup_max_s = 5.0};
}

void bench_timing_free(bench_timing *t) {
    if (!t) return;
    free(t->samples_us);
    t->samples_us = NULL;
}

static inline double call_us(be_backend *b, const void *const *in, int batch, void *const *out, nrps_status *rc) {
    uint64_t t0 = nrps_now_ns();
    *rc = be_run_io(b, in, batch, out);
    return (double)(nrps_now_ns() - t0) * 1e-3;
}

nrps_status bench_time_backend(be_backend *b, const void *const *in, void *const *out, int batch, const bench_loop_opts *o,
                               bench_timing *t) {
    memset(t, 0, sizeof *t);
    if (batch < 1 || batch > be_max_batch(b)) {
        nrps_set_error("%s: batch %d outside 1..%d", be_name(b), batch, be_max_batch(b));
        return NRPS_ERR_ARG;
    }
    nrps_status rc = NRPS_OK;
    double *win = NULL;
    t->first_call_us = call_us(b, in, batch, out, &rc);
    if (rc) return rc;

    /* warm-up */
    double w0 = nrps_now_s();
    if (o->warmup >= 0) {
        t->warmup_settled = -1;
        for (long i = 0; i < o->warmup && !nrps_interrupted; i++) {
            if ((rc = be_run_io(b, in, batch, out))) return rc;
            t->warmup_calls++;
        }
    } else {
        long W = o->window > 0 ? o->window : 50;
        win = malloc(sizeof(double) * (size_t)W);
        if (!win) {
            nrps_set_error("out of memory");
            return NRPS_ERR_NOMEM;
        }
        double prev = -1;
        for (;;) {
            for (long i = 0; i < W && !nrps_interrupted; i++) {
                win[i] = call_us(b, in, batch, out, &rc);
                if (rc) goto done;
            }
            if (nrps_interrupted) break;
            t->warmup_calls += W;
            double med = stats_median_inplace(win, W);
            if (prev > 0 && fabs(med - prev) <= o->settle_tol * prev && t->warmup_calls >= o->warmup_min) {
                t->warmup_settled = 1;
                break;
            }
            prev = med;
            if (t->warmup_calls >= o->warmup_min &&
                (t->warmup_calls >= o->warmup_max_calls || nrps_now_s() - w0 >= o->warmup_max_s))
                break;
        }
    }
    t->warmup_s = nrps_now_s() - w0;

    /* timed calls */
    long cap;
    if (o->duration_s > 0) {
        double per = t->first_call_us > 0 ? t->first_call_us : 1;
        if (t->warmup_s > 0 && t->warmup_calls > 0) per = t->warmup_s * 1e6 / (double)t->warmup_calls;
        double est = o->duration_s * 1e6 / (per > 0.05 ? per : 0.05) * 1.5 + 64;
        cap = est > 5e7 ? 50000000L : (long)est;
    } else {
        cap = o->iterations > 0 ? o->iterations : 1;
    }
    t->samples_us = malloc(sizeof(double) * (size_t)cap);
    if (!t->samples_us) {
        nrps_set_error("out of memory for %ld samples", cap);
        rc = NRPS_ERR_NOMEM;
        goto done;
    }
    double c0 = cpu_time_s();
    double t0 = nrps_now_s(), end = t0 + o->duration_s;
    for (;;) {
        if (nrps_interrupted) {
            t->interrupted = 1;
            break;
        }
        if (o->duration_s > 0) {
            if (t->n > 0 && nrps_now_s() >= end) break;
            if (t->n == cap) {
                double *p = realloc(t->samples_us, sizeof(double) * (size_t)cap * 2);
                if (!p) break; /* keep what we have */
                t->samples_us = p;
                cap *= 2;
            }
        } else if (t->n >= cap) {
            break;
        }
        t->samples_us[t->n] = call_us(b, in, batch, out, &rc);
        if (rc) goto done;
        t->n++;
    }
    t->total_s = nrps_now_s() - t0;
    if (t->n > 0) t->cpu_per_call_us = (cpu_time_s() - c0) * 1e6 / (double)t->n;
    if (nrps_interrupted) t->interrupted = 1;
    if (t->n > 0) rc = stats_compute(t->samples_us, t->n, &t->st);
done:
    free(win);
    return rc;
}

void bench_compare(const float *got, const float *ref, int rows, int cols, double atol, double rtol,
                   bench_validation *v) {
    memset(v, 0, sizeof *v);
    v->elems = v->ref_elems = (long)rows * cols;
    for (int r = 0; r < rows; r++) {
        const float *g = got + (size_t)r * cols, *x = ref + (size_t)r * cols;
        int ag = -1, ar = -1, nan_row = 0; /* argmax over the non-NaN values (an infinity takes part) */
        for (int c = 0; c < cols; c++) {
            if (!isnan(g[c]) && (ag < 0 || g[c] > g[ag])) ag = c;
            if (!isnan(x[c]) && (ar < 0 || x[c] > x[ar])) ar = c;
            if (!isfinite(g[c]) || !isfinite(x[c])) { /* the same infinity, or NaN in both, agrees */
                if (g[c] == x[c] || (isnan(g[c]) && isnan(x[c]))) continue;
                if (isfinite(x[c])) v->nonfinite_got++, nan_row |= isnan(g[c]);
                else v->nonfinite_ref++;
                continue;
            }
            double d = fabs((double)g[c] - (double)x[c]);
            if (d > v->max_abs) v->max_abs = d;
            double rel = d / fmax(fabs((double)x[c]), 1e-6);
            if (rel > v->max_rel) v->max_rel = rel;
            if (d > atol + rtol * fabs((double)x[c])) v->out_of_tol++;
        }
        if (cols > 1) {
            v->top1_rows++;
            /* a NaN where the reference has a number leaves no argmax to agree with; a tie in the reference within
             * tolerance (or an equal value) is agreement */
            if (!nan_row && ag >= 0 && ar >= 0 &&
                (ag == ar || x[ag] == x[ar] || fabs((double)x[ag] - (double)x[ar]) <= atol + rtol * fabs((double)x[ar])))
                v->top1_agree++;
            else if (ag < 0 && ar < 0) /* NaN everywhere in both */
                v->top1_agree++;
        }
    }
    v->bad_values = v->out_of_tol + v->nonfinite_got + v->nonfinite_ref;
    v->ok = v->bad_values == 0 && v->top1_agree == v->top1_rows;
}

void bench_validation_merge(bench_validation *v, const bench_validation *w) {
    if (w->max_abs > v->max_abs) v->max_abs = w->max_abs;
    if (w->max_rel > v->max_rel) v->max_rel = w->max_rel;
    v->top1_agree += w->top1_agree, v->top1_rows += w->top1_rows;
    v->bad_values += w->bad_values, v->out_of_tol += w->out_of_tol;
    v->nonfinite_got += w->nonfinite_got, v->nonfinite_ref += w->nonfinite_ref;
    v->elems += w->elems, v->ref_elems += w->ref_elems;
    v->ok = v->ok && w->ok;
}

void bench_validation_describe(const bench_validation *v, char *buf, size_t len) {
    if (!len) return;
    buf[0] = 0;
    if (v->ok) return;
    size_t used = 0;
#define ADD(...)                                                                                                  \
    do {                                                                                                          \
        if (used < len) used += (size_t)snprintf(buf + used, len - used, "%s", used ? "; " : "");                 \
        if (used < len) used += (size_t)snprintf(buf + used, len - used, __VA_ARGS__);                            \
    } while (0)
    if (v->elems != v->ref_elems) ADD("the output has %ld values, the reference %ld", v->elems, v->ref_elems);
    if (v->nonfinite_got)
        ADD("%ld of %ld values non-finite (NaN/Inf) where the reference is finite", v->nonfinite_got, v->elems);
    if (v->nonfinite_ref) ADD("%ld of %ld values differ from the reference's NaN/Inf", v->nonfinite_ref, v->elems);
    if (v->out_of_tol) ADD("%ld of %ld values beyond tolerance (max abs %.3g)", v->out_of_tol, v->elems, v->max_abs);
    if (v->top1_agree != v->top1_rows)
        ADD("top-1 disagrees in %ld of %ld rows", v->top1_rows - v->top1_agree, v->top1_rows);
    if (!used) ADD("differs from the reference");
#undef ADD
}
