/* onnx_ort_eval.c - runs an ONNX file once through ONNX Runtime's C API on the CPU, independently of
 * our own reader. Used by `neural_rps info --eval ... --engine ort` so that tests can compare what our
 * reader + reference forward compute with what ONNX Runtime computes on the very same file.
 * Not a benchmark path (it creates a session per call); the benchmark backends live in src/backend. */
#include "onnx/onnx_mlp.h"

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

nrps_status onnx_ort_eval(const char *path, const float *x, int batch, int in, float *y, int out) {
    nrps_status st = NRPS_OK;
    const OrtApiBase *base = OrtGetApiBase();
    const OrtApi *api = base ? base->GetApi(ORT_API_VERSION) : NULL;
    if (!api) {
        nrps_set_error("%s: ONNX Runtime API version %d is not available", path, ORT_API_VERSION);
        return NRPS_ERR_BACKEND;
    }
    OrtEnv *env = NULL;
    OrtSessionOptions *so = NULL;
    OrtSession *sess = NULL;
    OrtMemoryInfo *mi = NULL;
    OrtValue *xin = NULL, *yout = NULL;
    OrtTensorTypeAndShapeInfo *ti = NULL;
    OrtAllocator *alloc = NULL;
    char *in_name = NULL, *out_name = NULL;
    ORT_TRY(api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "neural_rps_eval", &env), "CreateEnv");
    ORT_TRY(api->CreateSessionOptions(&so), "CreateSessionOptions");
    ORT_TRY(api->SetIntraOpNumThreads(so, 1), "SetIntraOpNumThreads");
    ORT_TRY(api->CreateSession(env, path, so, &sess), "CreateSession");
    ORT_TRY(api->GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions");
    ORT_TRY(api->SessionGetInputName(sess, 0, alloc, &in_name), "SessionGetInputName");
    ORT_TRY(api->SessionGetOutputName(sess, 0, alloc, &out_name), "SessionGetOutputName");
    ORT_TRY(api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mi), "CreateCpuMemoryInfo");
    int64_t shape[2] = {batch, in};
    ORT_TRY(api->CreateTensorWithDataAsOrtValue(mi, (void *)x, (size_t)batch * (size_t)in * sizeof(float), shape, 2,
                                                ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &xin),
            "CreateTensorWithDataAsOrtValue");
    const char *in_names[1] = {in_name}, *out_names[1] = {out_name};
    ORT_TRY(api->Run(sess, NULL, in_names, (const OrtValue *const *)&xin, 1, out_names, 1, &yout), "Run");
    ORT_TRY(api->GetTensorTypeAndShape(yout, &ti), "GetTensorTypeAndShape");
    size_t nd = 0;
    ORT_TRY(api->GetDimensionsCount(ti, &nd), "GetDimensionsCount");
    int64_t dims[8] = {0};
    if (nd != 2) {
        nrps_set_error("%s: ONNX Runtime output has rank %zu, expected 2", path, nd);
        st = NRPS_ERR_BACKEND;
        goto cleanup;
    }
    ORT_TRY(api->GetDimensions(ti, dims, nd), "GetDimensions");
    if (dims[0] != batch || dims[1] != out) {
        nrps_set_error("%s: ONNX Runtime output is [%lld, %lld], expected [%d, %d]", path, (long long)dims[0],
                       (long long)dims[1], batch, out);
        st = NRPS_ERR_BACKEND;
        goto cleanup;
    }
    float *yd = NULL;
    ORT_TRY(api->GetTensorMutableData(yout, (void **)&yd), "GetTensorMutableData");
    memcpy(y, yd, (size_t)batch * (size_t)out * sizeof(float));
cleanup:
    if (ti) api->ReleaseTensorTypeAndShapeInfo(ti);
    if (yout) api->ReleaseValue(yout);
    if (xin) api->ReleaseValue(xin);
    if (mi) api->ReleaseMemoryInfo(mi);
    char *names[2] = {in_name, out_name};
    for (int i = 0; i < 2; i++)
        if (alloc && names[i]) {
            OrtStatus *fs = api->AllocatorFree(alloc, names[i]);
            if (fs) api->ReleaseStatus(fs);
        }
    if (sess) api->ReleaseSession(sess);
    if (so) api->ReleaseSessionOptions(so);
    if (env) api->ReleaseEnv(env);
    return st;
}
