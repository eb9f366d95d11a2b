/* cuda_backend.c - the native-cuda backend: C glue between the registry and the CUDA kernels of
 * src/backend/cuda.cu (cuda_native.h), compiled in when the build found nvcc (NRPS_HAVE_CUDA). One handle per
 * thread (its pinned buffers and stream). */
#include <stdlib.h>
#include <string.h>

#include "backend/backend_impl.h"

#ifdef NRPS_HAVE_CUDA
#include "backend/cuda_native.h"

typedef struct {
    void *nc;
} cuda_ctx;

static nrps_status cuda_run(void *p, const float *in, int batch, float *const *out) {
    char err[256];
    if (nc_run(((cuda_ctx *)p)->nc, in, batch, out[0], err, sizeof err)) {
        nrps_set_error("%s", err);
        return NRPS_ERR_BACKEND;
    }
    return NRPS_OK;
}

static void cuda_io(void *p, float **in, float **out) { nc_io_buffers(((cuda_ctx *)p)->nc, in, &out[0]); }

static void cuda_destroy(void *p) {
    if (!p) return;
    nc_destroy(((cuda_ctx *)p)->nc);
    free(p);
}

nrps_status be_cuda_create(const char *name, const be_model *model, const be_options *opt, be_backend *b) {
    (void)name;
    const nn_net *n = be_model_net(model);
    const nn_arch *a = &n->arch;
    if (a->n_layers != 2 || a->n_heads != 1 || a->layer[0].act == NN_ACT_LEAKY_RELU) {
        nrps_set_error("%s: this native-cuda build runs 2-layer one-head networks only", be_model_path(model));
        return NRPS_ERR_UNSUPPORTED;
    }
    cuda_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    char err[256];
    nc_mlp_desc d = {.in = a->in, .hidden = a->layer[0].out, .out = a->layer[1].out, .hidden_act = (int)a->layer[0].act,
                     .out_act = (int)a->layer[1].act, .w1 = n->w[0], .b1 = n->b[0], .w2 = n->w[1], .b2 = n->b[1]};
    if (nc_create(&d, opt->device_id, opt->max_batch, &c->nc, b->info.device, sizeof b->info.device, err, sizeof err)) {
        nrps_set_error("%s", err);
        free(c);
        return NRPS_ERR_UNAVAILABLE;
    }
    char arch[128];
    nn_arch_describe(a, arch, sizeof arch);
    b->info.threads = 1;
    snprintf(b->info.provider, sizeof b->info.provider, "native CUDA kernels (%.60s, fp32)", arch);
    snprintf(b->info.note, sizeof b->info.note, "pinned host buffers; H2D + kernel + D2H copies included");
    b->ctx = c;
    b->run = cuda_run;
    b->io_buffers = cuda_io;
    b->destroy = cuda_destroy;
    return NRPS_OK;
}
#else
nrps_status be_cuda_create(const char *name, const be_model *model, const be_options *opt, be_backend *b) {
    (void)name, (void)model, (void)opt, (void)b;
    nrps_set_error("not compiled in (no nvcc at build time; rebuild with CUDA to get the native CUDA backend)");
    return NRPS_ERR_UNAVAILABLE;
}
#endif
