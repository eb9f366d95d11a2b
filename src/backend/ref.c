/* ref.c - the native-ref backend: the plain-C reference forward (nn_forward, double accumulation, zero inputs
 * skipped exactly) on a copy of the model's network. Its results do not depend on the CPU's vector ISA, so
 * self-play training on it reproduces bit for bit on every machine. One handle per thread (its scratch). */
#include <stdlib.h>
#include <string.h>

#include "backend/backend_impl.h"

typedef struct {
    nn_net net;
    float *scratch; /* nn_forward_scratch(max_batch) */
    be_host_io io;
} ref_ctx;

static void ref_destroy(void *p) {
    ref_ctx *c = p;
    if (!c) return;
    nn_free(&c->net);
    free(c->scratch);
    be_host_io_free(&c->io);
    free(c);
}

static void ref_io_buffers(void *p, float **in, float **out) { be_host_io_get(&((ref_ctx *)p)->io, in, out); }

static nrps_status ref_run(void *p, const float *in, int batch, float *const *out) {
    ref_ctx *c = p;
    return nn_forward(&c->net, in, batch, out, c->scratch);
}

nrps_status be_ref_create(const char *name, const be_model *m, const be_options *opt, be_backend *b) {
    (void)name;
    ref_ctx *c = calloc(1, sizeof *c);
    if (!c || nn_copy(&c->net, be_model_net(m)) != NRPS_OK) {
        ref_destroy(c);
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    const nn_arch *a = &c->net.arch;
    if (!(c->scratch = malloc(nn_forward_scratch(a, opt->max_batch) * sizeof(float))) ||
        be_host_io_alloc(&c->io, a, opt->max_batch) != NRPS_OK) {
        ref_destroy(c);
        nrps_set_error("out of memory for %d-sample buffers", opt->max_batch);
        return NRPS_ERR_NOMEM;
    }
    char arch[128];
    nn_arch_describe(a, arch, sizeof arch);
    snprintf(b->info.provider, sizeof b->info.provider, "plain-C reference %.120s (double accumulation)", arch);
    snprintf(b->info.device, sizeof b->info.device, "CPU");
    snprintf(b->info.note, sizeof b->info.note, "host buffers, no copies");
    b->info.threads = 1;
    b->ctx = c;
    b->run = ref_run;
    b->io_buffers = ref_io_buffers;
    b->destroy = ref_destroy;
    return NRPS_OK;
}
