/* onnx_ort_eval_net.c - runs an ONNX file once through ONNX Runtime's C API on the CPU and fetches any of its
 * outputs by name, independently of our own reader (onnx_ort_eval_outputs in onnx_net.h). Tests compare what
 * our reader + reference forward compute with what ONNX Runtime computes on the very same file, for one- and
 * two-headed networks. Not a benchmark path: a session per call. */
#include "onnx/onnx_net.h"

#include <stdlib.h>
#include <string.h>

#include "onnxruntime_c_api.h"

static nrps_status ort_check(const OrtApi *api, OrtStatus *s, const char *path, const char *what) {
    if (!s) return NRPS_OK;
    nrps_set_error("%s: ONNX Runtime %s failed: %s", path, what, api->GetErrorMessage(s));
    api->ReleaseStatus(s);
    return NRPS_ERR_BACKEND;
}

#define ORT_TRY(call, what)                                                                                       \
    do {                                                                                                          \
        st = ort_check(api, (call), path, what);                                                                  \
        if (st != NRPS_OK) goto cleanup;                                                                          \
    } while (0)

/* Copies output value v ([batch, width] float32 expected) into y. */
static nrps_status output_copy(const OrtApi *api, const char *path, const char *name, OrtValue *v, int batch,
                               int width, float *y) {
    nrps_status st = NRPS_OK;
    OrtTensorTypeAndShapeInfo *ti = NULL;
    size_t nd = 0;
    int64_t dims[2] = {0, 0};
    float *data = NULL;
    ORT_TRY(api->GetTensorTypeAndShape(v, &ti), "GetTensorTypeAndShape");
    ORT_TRY(api->GetDimensionsCount(ti, &nd), "GetDimensionsCount");
    if (nd == 2) ORT_TRY(api->GetDimensions(ti, dims, 2), "GetDimensions");
    if (nd != 2 || dims[0] != batch || dims[1] != width) {
        nrps_set_error("%s: ONNX Runtime output '%s' has rank %zu [%lld, %lld], expected [%d, %d]", path, name, nd,
                       (long long)dims[0], (long long)dims[1], batch, width);
        st = NRPS_ERR_BACKEND;
        goto cleanup;
    }
    ORT_TRY(api->GetTensorMutableData(v, (void **)&data), "GetTensorMutableData");
    memcpy(y, data, (size_t)batch * (size_t)width * sizeof(float));
cleanup:
    if (ti) api->ReleaseTensorTypeAndShapeInfo(ti);
    return st;
}

nrps_status onnx_ort_eval_outputs(const char *path, const float *x, int batch, int in, int n_out,
                                  const char *const *names, const int *width, float *const *y) {
    nrps_status st = NRPS_OK;
    const OrtApiBase *base = OrtGetApiBase();
    const OrtApi *api = base ? base->GetApi(ORT_API_VERSION) : NULL;
    if (!api) {
        nrps_set_error("%s: ONNX Runtime API version %d is not available", path, ORT_API_VERSION);
        return NRPS_ERR_BACKEND;
    }
    if (n_out < 1 || n_out > 8 || batch < 1 || in < 1) {
        nrps_set_error("%s: onnx_ort_eval_outputs: bad arguments (batch %d, in %d, %d output%s)", path, batch, in,
                       n_out, n_out == 1 ? "" : "s");
        return NRPS_ERR_ARG;
    }
    OrtEnv *env = NULL;
    OrtSessionOptions *so = NULL;
    OrtSession *sess = NULL;
    OrtMemoryInfo *mi = NULL;
    OrtValue *xin = NULL, *yout[8] = {NULL};
    OrtAllocator *alloc = NULL;
    char *in_name = NULL;
    ORT_TRY(api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "neural_rps_eval", &env), "CreateEnv");
    ORT_TRY(api->CreateSessionOptions(&so), "CreateSessionOptions");
    ORT_TRY(api->SetIntraOpNumThreads(so, 1), "SetIntraOpNumThreads");
    ORT_TRY(api->CreateSession(env, path, so, &sess), "CreateSession");
    ORT_TRY(api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mi), "CreateCpuMemoryInfo");
    int64_t shape[2] = {batch, in};
    ORT_TRY(api->CreateTensorWithDataAsOrtValue(mi, (void *)x, (size_t)batch * (size_t)in * sizeof(float), shape, 2,
                                                ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &xin),
            "CreateTensorWithDataAsOrtValue");
    ORT_TRY(api->GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions");
    ORT_TRY(api->SessionGetInputName(sess, 0, alloc, &in_name), "SessionGetInputName");
    const char *in_names[1] = {in_name};
    st = ort_check(api, api->Run(sess, NULL, in_names, (const OrtValue *const *)&xin, 1, names, (size_t)n_out, yout),
                   path, "Run");
    for (int k = 0; k < n_out && st == NRPS_OK; k++)
        st = output_copy(api, path, names[k], yout[k], batch, width[k], y[k]);
cleanup:
    if (alloc && in_name) {
        OrtStatus *fs = api->AllocatorFree(alloc, in_name);
        if (fs) api->ReleaseStatus(fs);
    }
    for (int k = 0; k < 8; k++)
        if (yout[k]) api->ReleaseValue(yout[k]);
    if (xin) api->ReleaseValue(xin);
    if (mi) api->ReleaseMemoryInfo(mi);
    if (sess) api->ReleaseSession(sess);
    if (so) api->ReleaseSessionOptions(so);
    if (env) api->ReleaseEnv(env);
    return st;
}
