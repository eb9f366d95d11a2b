/* cpu.c - the native-cpu backend: our vectorised C kernels (src/backend/cpu_kernels.h: register-blocked tiles,
 * AVX-512 / AVX2 / portable picked at run time, a sparse first layer by input density) on the network read from
 * the same ONNX bytes ONNX Runtime runs. be_options.threads > 1 splits large batches over a persistent pool (idle
 * workers spin 200 us, none with --no-spin); no allocation per call. Results agree with the reference (nn_forward)
 * to float rounding (tests/test_backend.c, tests/test_cpu_kernels.c). One caller at a time per handle (the plan's
 * scratch). */
#include <stdlib.h>

#include "backend/backend_impl.h"
#include "backend/cpu_kernels.h"
#include "util/threadpool.h"

typedef struct {
    cpu_plan *plan;
    be_host_io io;
} cpu_ctx;

static void cpu_destroy(void *p) {
    cpu_ctx *c = p;
    if (!c) return;
    cpu_plan_destroy(c->plan);
    be_host_io_free(&c->io);
    free(c);
}

static void cpu_io_buffers(void *p, float **in, float **out) { be_host_io_get(&((cpu_ctx *)p)->io, in, out); }

static nrps_status cpu_run(void *p, const float *in, int batch, float *const *out) {
    return cpu_plan_run(((cpu_ctx *)p)->plan, in, batch, out);
}

nrps_status be_cpu_create(const char *name, const be_model *model, const be_options *opt, be_backend *b) {
    (void)name;
    const nn_net *n = be_model_net(model);
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    int spin_us = opt->ort.no_spin ? 0 : NRPS_POOL_SPIN_US_DEFAULT;
    nrps_status st = cpu_plan_create_threads(n, opt->max_batch, opt->threads, spin_us, &c->plan);
    if (st == NRPS_OK) st = be_host_io_alloc(&c->io, &n->arch, opt->max_batch);
    if (st != NRPS_OK) {
        cpu_destroy(c);
        return st;
    }
    b->info.threads = cpu_plan_split_from(c->plan) ? cpu_plan_threads(c->plan) : 1;
    snprintf(b->info.provider, sizeof b->info.provider, "native C %.180s", cpu_plan_describe(c->plan));
    snprintf(b->info.device, sizeof b->info.device, "CPU");
    snprintf(b->info.note, sizeof b->info.note, "host buffers, no copies");
    b->ctx = c;
    b->run = cpu_run;
    b->io_buffers = cpu_io_buffers;
    b->destroy = cpu_destroy;
    return NRPS_OK;
}
