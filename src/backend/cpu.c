/* cpu.c - the native-cpu backend: our vectorised C kernels (src/backend/cpu_kernels.h: register-blocked tiles,
 * AVX-512 / AVX2 / portable picked at run time, a sparse first layer by input density) on the network read from
 * the same ONNX bytes ONNX Runtime runs. Single-threaded; no allocation per call. Results agree with the reference
 * (nn_forward) to float rounding (tests/test_backend.c, tests/test_cpu_kernels.c). One handle per thread (the
 * plan's scratch). */
#include <stdlib.h>

#include "backend/backend_impl.h"
#include "backend/cpu_kernels.h"

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
    nrps_status st = cpu_plan_create(n, opt->max_batch, &c->plan);
    if (st == NRPS_OK) st = be_host_io_alloc(&c->io, &n->arch, opt->max_batch);
    if (st != NRPS_OK) {
        cpu_destroy(c);
        return st;
    }
    b->info.threads = 1;
    snprintf(b->info.provider, sizeof b->info.provider, "native C %.150s; single-threaded", cpu_plan_describe(c->plan));
    snprintf(b->info.device, sizeof b->info.device, "CPU");
    snprintf(b->info.note, sizeof b->info.note, "host buffers, no copies");
    b->ctx = c;
    b->run = cpu_run;
    b->io_buffers = cpu_io_buffers;
    b->destroy = cpu_destroy;
    return NRPS_OK;
}
