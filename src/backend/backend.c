/* backend.c - backend registry: name -> constructor, the checked run wrapper, and the native-cuda glue that
 * loads the ONNX weights in C and hands plain arrays to src/backend/cuda.cu (when built with nvcc). */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "nn/mlp.h"
#include "onnx/onnx_mlp.h"
#ifdef NRPS_HAVE_CUDA
#include "backend/cuda_native.h"
#endif

be_options be_options_default(void) { return (be_options){.threads = 1, .device_id = 0, .provider = NULL, .max_batch = 1024}; }

int be_name_known(const char *name) {
    return !strcmp(name, "native-cpu") || !strcmp(name, "native-cuda") || !strcmp(name, "ort") ||
           (!strncmp(name, "ort-", 4) && be_ort_provider_known(name + 4));
}

int be_is_gpu(const char *name) {
    if (!strcmp(name, "native-cuda")) return 1;
    if (!strncmp(name, "ort-", 4)) {
        const char *p = name + 4;
        /* CPU-side providers (no separate device memory) */
        const char *full = be_ort_provider_full_name(p);
        return strcmp(full, "CPUExecutionProvider") && strcmp(full, "XnnpackExecutionProvider") &&
               strcmp(full, "OpenVINOExecutionProvider");
    }
    return 0;
}

nrps_status be_create(const char *name, const char *model_path, const be_options *opt_in, be_backend **out) {
    *out = NULL;
    be_options opt = opt_in ? *opt_in : be_options_default();
    if (opt.threads <= 0) opt.threads = 1;
    if (opt.max_batch <= 0) opt.max_batch = 1024;
    if (!be_name_known(name)) {
        nrps_set_error("unknown backend '%s' (expected ort-cpu, ort-cuda, ort-tensorrt, ort-<provider> with an ONNX "
                       "Runtime provider name, native-cpu, native-cuda)",
                       name);
        return NRPS_ERR_ARG;
    }
    be_backend *b = calloc(1, sizeof *b);
    if (!b) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    snprintf(b->name, sizeof b->name, "%s", name);
    b->max_batch = opt.max_batch;
    nrps_status rc;
    if (!strcmp(name, "native-cpu"))
        rc = be_cpu_create(model_path, &opt, b);
    else if (!strcmp(name, "native-cuda"))
        rc = be_cuda_create(model_path, &opt, b);
    else {
        const char *prov = !strcmp(name, "ort") ? (opt.provider ? opt.provider : "cpu") : name + 4;
        rc = be_ort_create(model_path, prov, &opt, b);
    }
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("%s: %s", name, msg);
        free(b);
        return rc;
    }
    *out = b;
    return NRPS_OK;
}

nrps_status be_run(be_backend *b, const float *in, int batch, float *out) {
    if (batch < 1 || batch > b->max_batch) {
        nrps_set_error("%s: batch %d outside 1..%d", b->name, batch, b->max_batch);
        return NRPS_ERR_ARG;
    }
    return b->run(b->ctx, in, batch, out);
}

nrps_status be_forward(void *backend, const float *in, int batch, float *out) {
    return be_run((be_backend *)backend, in, batch, out);
}

void be_io_buffers(be_backend *b, float **in, float **out) {
    *in = *out = NULL;
    if (b->io_buffers) b->io_buffers(b->ctx, in, out);
}

void be_destroy(be_backend *b) {
    if (!b) return;
    if (b->destroy) b->destroy(b->ctx);
    free(b);
}

#ifdef NRPS_HAVE_CUDA
typedef struct {
    void *nc;
} cuda_ctx;

static nrps_status cuda_run(void *p, const float *in, int batch, float *out) {
    char err[256];
    if (nc_run(((cuda_ctx *)p)->nc, in, batch, out, err, sizeof err)) {
        nrps_set_error("native-cuda: %s", err);
        return NRPS_ERR_BACKEND;
    }
    return NRPS_OK;
}
static void cuda_io(void *p, float **in, float **out) { nc_io_buffers(((cuda_ctx *)p)->nc, in, out); }
static void cuda_destroy(void *p) {
    if (!p) return;
    nc_destroy(((cuda_ctx *)p)->nc);
    free(p);
}

nrps_status be_cuda_create(const char *model_path, const be_options *opt, be_backend *b) {
    double t0 = nrps_now_s();
    mlp m;
    memset(&m, 0, sizeof m);
    onnx_mlp_info oi;
    memset(&oi, 0, sizeof oi);
    nrps_status rc = onnx_mlp_load(model_path, &m, &oi);
    if (rc) return rc;
    cuda_ctx *c = calloc(1, sizeof *c);
    char err[256];
    nc_mlp_desc d = {.in = m.in, .hidden = m.hidden, .out = m.out, .hidden_act = (int)m.hidden_act,
                     .out_act = (int)m.out_act, .w1 = m.w1, .b1 = m.b1, .w2 = m.w2, .b2 = m.b2};
    if (!c) {
        nrps_set_error("out of memory");
        rc = NRPS_ERR_NOMEM;
    } else if (nc_create(&d, opt->device_id, opt->max_batch, &c->nc, b->info.device, sizeof b->info.device, err,
                         sizeof err)) {
        nrps_set_error("%s", err);
        rc = NRPS_ERR_UNAVAILABLE;
    }
    if (rc) {
        free(c);
        mlp_free(&m);
        return rc;
    }
    b->info.create_ms = (nrps_now_s() - t0) * 1e3;
    snprintf(b->info.input_name, sizeof b->info.input_name, "%s", oi.input_name[0] ? oi.input_name : "input");
    snprintf(b->info.output_name, sizeof b->info.output_name, "%s", oi.output_name[0] ? oi.output_name : "output");
    b->info.input_size = m.in;
    b->info.output_size = m.out;
    b->info.threads = 1;
    snprintf(b->info.provider, sizeof b->info.provider, "native CUDA fused kernel (%d-%d-%d, fp32)", m.in, m.hidden,
             m.out);
    snprintf(b->info.note, sizeof b->info.note, "pinned host buffers; H2D + kernel + D2H copies included");
    mlp_free(&m);
    b->ctx = c;
    b->run = cuda_run;
    b->io_buffers = cuda_io;
    b->destroy = cuda_destroy;
    return NRPS_OK;
}
#else
nrps_status be_cuda_create(const char *model_path, const be_options *opt, be_backend *b) {
    (void)model_path, (void)opt, (void)b;
    nrps_set_error("not compiled in (no nvcc at build time; rebuild with CUDA to get the native CUDA backend)");
    return NRPS_ERR_UNAVAILABLE;
}
#endif
