/* cuda_backend.c - the native-cuda backend: C glue between the registry and the CUDA kernels of
 * src/backend/cuda.cu (cuda_native.h), compiled in when the build found nvcc (NRPS_HAVE_CUDA). One handle per
 * thread (its pinned buffers and stream). */
#include <stdlib.h>
#include <string.h>

#include "backend/backend_impl.h"

#ifdef NRPS_HAVE_CUDA
#include "backend/cuda_native.h"

static nrps_status cuda_run(void *p, const float *in, int batch, float *const *out) {
    char err[256];
    if (nc_net_run(p, in, batch, out, err, sizeof err)) {
        nrps_set_error("%s", err);
        return NRPS_ERR_BACKEND;
    }
    return NRPS_OK;
}

static void cuda_io(void *p, float **in, float **out) { nc_net_io_buffers(p, in, out); }

static void cuda_destroy(void *p) { nc_net_destroy(p); }

nrps_status be_cuda_create(const char *name, const be_model *model, const be_options *opt, be_backend *b) {
    (void)name;
    const nn_net *n = be_model_net(model);
    nc_net_desc d;
    nc_net_desc_from(n, &d);
    nc_net *g = NULL;
    char err[256];
    if (nc_net_create(&d, opt->device_id, opt->max_batch, &g, b->info.device, sizeof b->info.device, err, sizeof err)) {
        nrps_set_error("%s", err);
        return NRPS_ERR_UNAVAILABLE;
    }
    char arch[128];
    nn_arch_describe(&n->arch, arch, sizeof arch);
    b->info.threads = 1;
    snprintf(b->info.provider, sizeof b->info.provider, "native CUDA kernels (%.120s, fp32)", arch);
    snprintf(b->info.note, sizeof b->info.note, "pinned host buffers; H2D + kernels + D2H copies included");
    b->ctx = g;
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
