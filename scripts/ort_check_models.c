/* ort_check_models.c - load ONNX models with ONNX Runtime (C API, CPU), print every input's and output's
 * name, element type (ONNXTensorElementDataType number) and shape (symbolic names as given), run each once
 * on all-zero inputs and print the shapes ONNX Runtime returns (and the sum of each float32 output).
 *
 * Every symbolic dimension is bound to 2 unless named with --dim NAME=N; fixed dimensions stay as they are.
 *
 * Build: cc -O1 -o /tmp/ort_check scripts/ort_check_models.c -Ithird_party/onnxruntime/include \
 *            -Lthird_party/onnxruntime/lib -lonnxruntime -Wl,-rpath,$PWD/third_party/onnxruntime/lib
 * Usage: ort_check [--dim NAME=N]... MODEL.onnx...
 * Exit status 0 when every model loaded and ran, 1 otherwise (one "FILE: refused: ..." line each).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onnxruntime_c_api.h>

#define MAX_IO 16
#define MAX_RANK 8
#define MAX_DIMS 16

static const OrtApi *ort;
static const char *dim_name[MAX_DIMS];
static long dim_value[MAX_DIMS];
static int n_dims;

/* Returns 1 (after printing the message) when st is an error. */
static int failed(OrtStatus *st, const char *file) {
    if (!st) return 0;
    printf("%s: refused: %s\n", file, ort->GetErrorMessage(st));
    ort->ReleaseStatus(st);
    return 1;
}

static long bind_dim(const char *name) {
    for (int i = 0; i < n_dims; i++)
        if (strcmp(dim_name[i], name) == 0) return dim_value[i];
    return 2;
}

static void print_dims(const int64_t *d, size_t n) {
    printf("[");
    for (size_t i = 0; i < n; i++) printf("%s%lld", i ? "," : "", (long long)d[i]);
    printf("]");
}

/* Prints one input or output; for an input also fills in the shape to run with. */
static OrtStatus *describe(const char *what, const char *name, OrtTypeInfo *ti, int *elem, int64_t *shape,
                           size_t *rank) {
    const OrtTensorTypeAndShapeInfo *tsi;
    OrtStatus *st = ort->CastTypeInfoToTensorInfo(ti, &tsi);
    if (st) return st;
    if (!tsi) return ort->CreateStatus(ORT_FAIL, "not a tensor");
    ONNXTensorElementDataType t;
    const char *sym[MAX_RANK];
    int64_t d[MAX_RANK];
    size_t n;
    if ((st = ort->GetTensorElementType(tsi, &t)) || (st = ort->GetDimensionsCount(tsi, &n))) return st;
    if (n > MAX_RANK) return ort->CreateStatus(ORT_FAIL, "rank too high for this checker");
    if ((st = ort->GetDimensions(tsi, d, n)) || (st = ort->GetSymbolicDimensions(tsi, sym, n))) return st;
    printf("  %s %-14s type %2d shape [", what, name, (int)t);
    for (size_t i = 0; i < n; i++) {
        if (sym[i] && sym[i][0])
            printf("%s'%s'", i ? "," : "", sym[i]);
        else
            printf("%s%lld", i ? "," : "", (long long)d[i]);
        if (shape) shape[i] = d[i] >= 0 ? d[i] : bind_dim(sym[i] ? sym[i] : "");
    }
    printf("]\n");
    *elem = (int)t;
    if (rank) *rank = n;
    return NULL;
}

static int check(OrtEnv *env, OrtAllocator *alloc, const char *file) {
    OrtSession *sess = NULL;
    OrtValue *in[MAX_IO] = {0}, *out[MAX_IO] = {0};
    char *in_name[MAX_IO] = {0}, *out_name[MAX_IO] = {0};
    size_t n_in = 0, n_out = 0;
    int bad = 1;
    OrtSessionOptions *so;
    if (failed(ort->CreateSessionOptions(&so), file)) return 1;
    OrtStatus *st = ort->CreateSession(env, file, so, &sess);
    ort->ReleaseSessionOptions(so);
    if (failed(st, file)) return 1;
    if (failed(ort->SessionGetInputCount(sess, &n_in), file) || failed(ort->SessionGetOutputCount(sess, &n_out), file))
        goto done;
    if (n_in > MAX_IO || n_out > MAX_IO) {
        printf("%s: refused: too many inputs or outputs for this checker\n", file);
        n_in = n_out = 0;
        goto done;
    }
    printf("%s\n", file);
    for (size_t i = 0; i < n_in; i++) {
        OrtTypeInfo *ti;
        int64_t shape[MAX_RANK];
        size_t rank;
        int elem;
        void *data;
        size_t bytes;
        if (failed(ort->SessionGetInputName(sess, i, alloc, &in_name[i]), file) ||
            failed(ort->SessionGetInputTypeInfo(sess, i, &ti), file))
            goto done;
        st = describe("in ", in_name[i], ti, &elem, shape, &rank);
        ort->ReleaseTypeInfo(ti);
        if (failed(st, file) || failed(ort->CreateTensorAsOrtValue(alloc, shape, rank, elem, &in[i]), file) ||
            failed(ort->GetTensorMutableData(in[i], &data), file) ||
            failed(ort->GetTensorSizeInBytes(in[i], &bytes), file))
            goto done;
        memset(data, 0, bytes);
        printf("      runs with ");
        print_dims(shape, rank);
        printf("\n");
    }
    for (size_t i = 0; i < n_out; i++) {
        OrtTypeInfo *ti;
        int elem;
        if (failed(ort->SessionGetOutputName(sess, i, alloc, &out_name[i]), file) ||
            failed(ort->SessionGetOutputTypeInfo(sess, i, &ti), file))
            goto done;
        st = describe("out", out_name[i], ti, &elem, NULL, NULL);
        ort->ReleaseTypeInfo(ti);
        if (failed(st, file)) goto done;
    }
    if (failed(ort->Run(sess, NULL, (const char *const *)in_name, (const OrtValue *const *)in, n_in,
                        (const char *const *)out_name, n_out, out),
               file))
        goto done;
    for (size_t i = 0; i < n_out; i++) {
        OrtTensorTypeAndShapeInfo *tsi;
        ONNXTensorElementDataType t;
        int64_t d[MAX_RANK];
        size_t n, count;
        if (failed(ort->GetTensorTypeAndShape(out[i], &tsi), file)) goto done;
        st = ort->GetTensorElementType(tsi, &t);
        if (!st) st = ort->GetDimensionsCount(tsi, &n);
        if (!st && n > MAX_RANK) st = ort->CreateStatus(ORT_FAIL, "output rank too high for this checker");
        if (!st) st = ort->GetDimensions(tsi, d, n);
        if (!st) st = ort->GetTensorShapeElementCount(tsi, &count);
        ort->ReleaseTensorTypeAndShapeInfo(tsi);
        if (failed(st, file)) goto done;
        printf("  ran %-14s type %2d shape ", out_name[i], (int)t);
        print_dims(d, n);
        if (t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
            float *v;
            double sum = 0;
            if (failed(ort->GetTensorMutableData(out[i], (void **)&v), file)) goto done;
            for (size_t k = 0; k < count; k++) sum += v[k];
            printf(" sum %.6f", sum);
        }
        printf("\n");
    }
    bad = 0;
done:
    for (size_t i = 0; i < n_in; i++) {
        if (in[i]) ort->ReleaseValue(in[i]);
        if (in_name[i]) alloc->Free(alloc, in_name[i]);
    }
    for (size_t i = 0; i < n_out; i++) {
        if (out[i]) ort->ReleaseValue(out[i]);
        if (out_name[i]) alloc->Free(alloc, out_name[i]);
    }
    ort->ReleaseSession(sess);
    return bad;
}

int main(int argc, char **argv) {
    OrtEnv *env;
    OrtAllocator *alloc;
    int bad = 0;
    ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    if (!ort) {
        fprintf(stderr, "ort_check: this ONNX Runtime does not offer API version %d\n", ORT_API_VERSION);
        return 1;
    }
    if (failed(ort->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "ort_check", &env), "ort_check") ||
        failed(ort->GetAllocatorWithDefaultOptions(&alloc), "ort_check"))
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dim") == 0 && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            if (!eq || n_dims == MAX_DIMS || atol(eq + 1) <= 0) {
                fprintf(stderr, "ort_check: --dim wants NAME=N (N > 0)\n");
                return 2;
            }
            *eq = '\0';
            dim_name[n_dims] = argv[i];
            dim_value[n_dims++] = atol(eq + 1);
        } else {
            bad |= check(env, alloc, argv[i]);
        }
    }
    ort->ReleaseEnv(env);
    return bad;
}
