/* tensor.c - element types and tensor descriptions (backend.h): names, sizes, reading and writing one element of
 * any type as a double (float16 and bfloat16 converted here, round to nearest even). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backend/backend_impl.h"

static const struct {
    const char *name;
    size_t size;
} DTYPES[BE_N_DTYPES] = {
    [BE_F32] = {"float32", 4}, [BE_F16] = {"float16", 2}, [BE_BF16] = {"bfloat16", 2}, [BE_F64] = {"float64", 8},
    [BE_I64] = {"int64", 8},   [BE_I32] = {"int32", 4},   [BE_I16] = {"int16", 2},     [BE_I8] = {"int8", 1},
    [BE_U64] = {"uint64", 8},  [BE_U32] = {"uint32", 4},  [BE_U16] = {"uint16", 2},    [BE_U8] = {"uint8", 1},
    [BE_BOOL] = {"bool", 1},
};

const char *be_dtype_name(be_dtype t) { return (unsigned)t < BE_N_DTYPES ? DTYPES[t].name : "?"; }
size_t be_dtype_size(be_dtype t) { return (unsigned)t < BE_N_DTYPES ? DTYPES[t].size : 0; }
int be_dtype_is_float(be_dtype t) { return t == BE_F32 || t == BE_F16 || t == BE_BF16 || t == BE_F64; }

static float f16_to_f32(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 1024), exp - 25);
    return sign ? -v : v;
}

/* Round to nearest even, overflow to infinity, subnormals kept. */
static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    if (isnan(f)) return sign | 0x7e00;
    float a = fabsf(f);
    if (a >= 65520.0f) return sign | 0x7c00;
    if (a < 6.103515625e-05f) { /* subnormal: multiples of 2^-24 */
        return sign | (uint16_t)lrintf(a * 16777216.0f);
    }
    int e;
    float m = frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1) */
    long mant = lrintf(m * 2048.0f); /* 11 significant bits, rounded to nearest even */
    if (mant == 2048) mant = 1024, e++;
    if (e + 14 >= 31) return sign | 0x7c00;
    return sign | (uint16_t)((e + 14) << 10) | (uint16_t)(mant - 1024);
}

/* v as a float rounded to odd: when bits are dropped the last bit is set. Rounding that float again to float16 /
 * bfloat16 (11 / 8 significant bits, at least 2 fewer than float's 24) then gives v rounded once to nearest even;
 * a plain (float)v would round twice (1 + 2^-11 + 2^-40 -> 1 + 2^-11, a tie, -> 1 instead of 1 + 2^-10). */
static float f64_to_f32_odd(double v) {
    float f = (float)v;
    if (isfinite(f) && (double)f != v) {
        uint32_t x;
        memcpy(&x, &f, 4);
        if (!(x & 1)) f = nextafterf(f, v > (double)f ? INFINITY : -INFINITY);
    }
    return f;
}

static float bf16_to_f32(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static uint16_t f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if (isnan(f)) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

double be_dtype_get(be_dtype t, const void *data, size_t i) {
    const unsigned char *p = (const unsigned char *)data + i * be_dtype_size(t);
    union {
        float f; double d; int64_t i64; int32_t i32; int16_t i16; int8_t i8;
        uint64_t u64; uint32_t u32; uint16_t u16; uint8_t u8;
    } u;
    memcpy(&u, p, be_dtype_size(t));
    switch (t) {
    case BE_F32: return u.f;
    case BE_F16: return f16_to_f32(u.u16);
    case BE_BF16: return bf16_to_f32(u.u16);
    case BE_F64: return u.d;
    case BE_I64: return (double)u.i64;
    case BE_I32: return u.i32;
    case BE_I16: return u.i16;
    case BE_I8: return u.i8;
    case BE_U64: return (double)u.u64;
    case BE_U32: return u.u32;
    case BE_U16: return u.u16;
    case BE_U8: return u.u8;
    case BE_BOOL: return u.u8 != 0;
    default: return 0;
    }
}

/* v rounded and clamped to [lo, hi]. */
static double round_clamp(double v, double lo, double hi) {
    v = isnan(v) ? 0 : nearbyint(v);
    return v < lo ? lo : v > hi ? hi : v;
}

void be_dtype_set(be_dtype t, void *data, size_t i, double v) {
    unsigned char *p = (unsigned char *)data + i * be_dtype_size(t);
    union {
        float f; double d; int64_t i64; int32_t i32; int16_t i16; int8_t i8;
        uint64_t u64; uint32_t u32; uint16_t u16; uint8_t u8;
    } u;
    switch (t) {
    case BE_F32: u.f = (float)v; break;
    case BE_F16: u.u16 = f32_to_f16(f64_to_f32_odd(v)); break;
    case BE_BF16: u.u16 = f32_to_bf16(f64_to_f32_odd(v)); break;
    case BE_F64: u.d = v; break;
    /* the 64-bit bounds are 2^63 / 2^64 (exact doubles; INT64_MAX and UINT64_MAX are not): at or above them,
     * saturate; below, the largest double is 2^63 - 1024 / 2^64 - 2048 */
    case BE_I64: u.i64 = v >= 0x1p63 ? INT64_MAX : (int64_t)round_clamp(v, -0x1p63, 0x1p63 - 1024); break;
    case BE_I32: u.i32 = (int32_t)round_clamp(v, INT32_MIN, INT32_MAX); break;
    case BE_I16: u.i16 = (int16_t)round_clamp(v, INT16_MIN, INT16_MAX); break;
    case BE_I8: u.i8 = (int8_t)round_clamp(v, INT8_MIN, INT8_MAX); break;
    case BE_U64: u.u64 = v >= 0x1p64 ? UINT64_MAX : (uint64_t)round_clamp(v, 0, 0x1p64 - 2048); break;
    case BE_U32: u.u32 = (uint32_t)round_clamp(v, 0, UINT32_MAX); break;
    case BE_U16: u.u16 = (uint16_t)round_clamp(v, 0, UINT16_MAX); break;
    case BE_U8: u.u8 = (uint8_t)round_clamp(v, 0, UINT8_MAX); break;
    case BE_BOOL: u.u8 = v != 0; break;
    default: return;
    }
    memcpy(p, &u, be_dtype_size(t));
}

int be_tensor_is_rows(const be_tensor *t, long width) {
    return t->dtype == BE_F32 && t->rank == 2 && t->batch_axis == 0 && t->width == width;
}

long be_tensor_elems(const be_tensor *t, int batch) { return t->batch_axis >= 0 ? t->width * (long)batch : t->width; }

void be_tensor_describe(const be_tensor *t, char *buf, size_t len) {
    size_t pos = (size_t)snprintf(buf, len, "%s [", be_dtype_name(t->dtype));
    for (int d = 0; d < t->rank && pos < len; d++) {
        const char *sep = d ? ", " : "";
        if (t->dim[d] > 0) pos += (size_t)snprintf(buf + pos, len - pos, "%s%lld", sep, (long long)t->dim[d]);
        else pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", sep, t->dim_name[d][0] ? t->dim_name[d] : "?");
    }
    if (pos < len) snprintf(buf + pos, len - pos, "]");
}
