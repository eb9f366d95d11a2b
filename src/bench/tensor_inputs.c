/* tensor_inputs.c - benchmark inputs for graph inputs of any element type (bench.h): seeded random data or the
 * user's .npy files. Game positions for [batch, 81] float32 models come from inputs.c. */
#include <string.h>

#include "bench/bench.h"
#include "util/npy.h"

enum { NPY_MAX_BYTES = 1 << 30 };

void bench_tensor_random(const be_tensor *t, void *buf, size_t elems, uint64_t seed, long lo, long hi) {
    nrps_rng rng;
    nrps_rng_seed(&rng, seed);
    uint64_t span = (uint64_t)(hi - lo) + 1;
    for (size_t i = 0; i < elems; i++) {
        double v;
        if (be_dtype_is_float(t->dtype)) v = nrps_rng_uniform(&rng);
        else if (t->dtype == BE_BOOL) v = (double)(nrps_rng_next(&rng) >> 63);
        else v = (double)lo + (double)(span ? nrps_rng_next(&rng) % span : nrps_rng_next(&rng));
        be_dtype_set(t->dtype, buf, i, v);
    }
}

void bench_tensor_random_desc(const be_tensor *t, long lo, long hi, char *buf, size_t len) {
    if (be_dtype_is_float(t->dtype)) snprintf(buf, len, "uniform in [0,1)");
    else if (t->dtype == BE_BOOL) snprintf(buf, len, "uniform false/true");
    else snprintf(buf, len, "uniform integers in [%ld,%ld]", lo, hi);
}

/* The .npy element type that holds t's type (bfloat16: its raw bits as uint16). */
static int npy_matches(npy_dtype n, be_dtype t) {
    static const struct {
        npy_dtype n;
        be_dtype t;
    } MAP[] = {{NPY_F32, BE_F32}, {NPY_F16, BE_F16}, {NPY_U16, BE_BF16}, {NPY_F64, BE_F64}, {NPY_I64, BE_I64},
               {NPY_I32, BE_I32}, {NPY_I16, BE_I16}, {NPY_I8, BE_I8},    {NPY_U64, BE_U64}, {NPY_U32, BE_U32},
               {NPY_U16, BE_U16}, {NPY_U8, BE_U8},   {NPY_BOOL, BE_BOOL}};
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (MAP[i].n == n && MAP[i].t == t) return 1;
    return 0;
}

/* The array's shape must be [n, the input's dims without the batch axis] (batch on axis 0, n >= 1). */
static nrps_status npy_shape_check(const char *path, const npy_array *a, const be_tensor *t) {
    char want[160], got[160];
    size_t pos = 0;
    be_tensor_describe(t, want, sizeof want);
    for (int d = 0; d < a->rank && pos < sizeof got; d++)
        pos += (size_t)snprintf(got + pos, sizeof got - pos, "%s%lld", d ? ", " : "", (long long)a->shape[d]);
    if (t->batch_axis > 0) {
        nrps_set_error("%s: input '%s' (%s) has its batch on axis %d; --inputs takes .npy files with the batch on axis "
                       "0", path, t->name, want, t->batch_axis);
        return NRPS_ERR_ARG;
    }
    int batched = t->batch_axis == 0;
    int ok = a->rank == t->rank && (!batched || a->shape[0] >= 1);
    for (int d = batched; ok && d < t->rank; d++) ok = a->shape[d] == t->dim[d];
    if (ok) return NRPS_OK;
    nrps_set_error("%s: shape [%s] does not fit input '%s' %s (%s)", path, got, t->name, want,
                   batched ? "expected any number of samples on axis 0 and the input's other dims" : "expected its shape");
    return NRPS_ERR_ARG;
}

nrps_status bench_tensor_from_npy(const char *path, const be_tensor *t, int max_batch, void *buf, char *desc,
                                  size_t len) {
    npy_array a;
    memset(&a, 0, sizeof a);
    nrps_status st = npy_load(path, NPY_MAX_BYTES, &a);
    if (st != NRPS_OK) return st;
    if (!npy_matches(a.dtype, t->dtype)) {
        nrps_set_error("%s: element type %s (%s) does not match input '%s' (%s%s)", path, npy_dtype_name(a.dtype),
                       a.descr, t->name, be_dtype_name(t->dtype), t->dtype == BE_BF16 ? ": give its bits as uint16" : "");
        npy_free(&a);
        return NRPS_ERR_ARG;
    }
    if ((st = npy_shape_check(path, &a, t)) != NRPS_OK) {
        npy_free(&a);
        return st;
    }
    long samples = t->batch_axis == 0 ? (long)a.shape[0] : 1;
    size_t sample_bytes = (size_t)t->width * be_dtype_size(t->dtype);
    long fill = t->batch_axis == 0 ? max_batch : 1;
    for (long s = 0; s < fill; s++)
        memcpy((char *)buf + (size_t)s * sample_bytes, (const char *)a.data + (size_t)(s % samples) * sample_bytes,
               sample_bytes);
    snprintf(desc, len, "%s: %ld sample%s%s", path, samples, samples == 1 ? "" : "s",
             samples < fill ? ", repeated" : samples > fill ? ", cut to the batch" : "");
    npy_free(&a);
    return NRPS_OK;
}
