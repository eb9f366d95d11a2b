/* test_tensor.c - the tensor-level backend API (backend.h): element types (be_dtype_*: names, sizes, every
 * conversion; float16 / bfloat16 rounding checked exhaustively and against bit patterns from numpy / PyTorch;
 * integer rounding and saturation), tensor descriptions (be_tensor_describe / be_tensor_elems), and the ONNX Runtime
 * backend on the models of tests/fixtures/any_models: what it reads from each graph (types, shapes, batch axis,
 * fixed batch, symbolic dimensions, batch_dim / dims), be_run_io against references computed here from the models'
 * weights, several inputs and outputs, refusals, be_share from two threads, profiling and session settings.
 * Run from the repository root (the fixture paths are relative). */
#include <float.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "check.h"

#define ANY "tests/fixtures/any_models/"

/* ---- element types ---- */

static uint16_t f16_bits(double v) {
    uint16_t h;
    be_dtype_set(BE_F16, &h, 0, v);
    return h;
}
static double f16_val(uint16_t h) { return be_dtype_get(BE_F16, &h, 0); }
static uint16_t bf16_bits(double v) {
    uint16_t h;
    be_dtype_set(BE_BF16, &h, 0, v);
    return h;
}
static double bf16_val(uint16_t h) { return be_dtype_get(BE_BF16, &h, 0); }

static void test_dtype_names_sizes(void) {
    static const struct {
        be_dtype t;
        const char *name;
        size_t size;
        int is_float;
    } T[] = {
        {BE_F32, "float32", 4, 1}, {BE_F16, "float16", 2, 1}, {BE_BF16, "bfloat16", 2, 1}, {BE_F64, "float64", 8, 1},
        {BE_I64, "int64", 8, 0},   {BE_I32, "int32", 4, 0},   {BE_I16, "int16", 2, 0},     {BE_I8, "int8", 1, 0},
        {BE_U64, "uint64", 8, 0},  {BE_U32, "uint32", 4, 0},  {BE_U16, "uint16", 2, 0},    {BE_U8, "uint8", 1, 0},
        {BE_BOOL, "bool", 1, 0},
    };
    CHECK(sizeof T / sizeof T[0] == BE_N_DTYPES);
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        CHECK_MSG(!strcmp(be_dtype_name(T[i].t), T[i].name), "%s vs %s", be_dtype_name(T[i].t), T[i].name);
        CHECK(be_dtype_size(T[i].t) == T[i].size);
        CHECK(be_dtype_is_float(T[i].t) == T[i].is_float);
    }
    CHECK(!strcmp(be_dtype_name(BE_N_DTYPES), "?"));
    CHECK(!strcmp(be_dtype_name((be_dtype)-1), "?"));
    CHECK(be_dtype_size(BE_N_DTYPES) == 0);
    CHECK(!be_dtype_is_float(BE_N_DTYPES));
}

/* Values each type holds exactly: set then get gives them back, element 3 lands at bytes [3 size, 4 size) and its
 * neighbours are left alone. */
static void test_dtype_round_trip(void) {
    static const struct {
        be_dtype t;
        int n;
        double v[8];
    } T[] = {
        {BE_F32, 8, {0, -0.5, 1, (double)0.1f, FLT_MAX, 0x1p-149, -(double)1e30f, 16777216}},
        {BE_F16, 8, {0, 1, -2, 0.5, 65504, -65504, 0x1p-24, 1 + 0x1p-10}},
        {BE_BF16, 8, {0, 1, -2, 1 + 0x1p-7, 0x1p-133, 0x1p-126, 0x1.fep127, 258}},
        {BE_F64, 6, {0.1, -1e300, 4.9e-324, 1.0 / 3, DBL_MAX, -0.0}},
        {BE_I64, 6, {-9223372036854775808.0, 9007199254740992.0, -9007199254740992.0, 0, -1, 9223372036854774784.0}},
        {BE_I32, 5, {-2147483648.0, 2147483647.0, 0, -1, 123456789}},
        {BE_I16, 4, {-32768, 32767, -1, 1234}},
        {BE_I8, 4, {-128, 127, -1, 0}},
        {BE_U64, 4, {0, 9223372036854775808.0, 18446744073709549568.0, 1}},
        {BE_U32, 3, {0, 4294967295.0, 1}},
        {BE_U16, 3, {0, 65535, 300}},
        {BE_U8, 3, {0, 255, 1}},
        {BE_BOOL, 2, {0, 1}},
    };
    CHECK(sizeof T / sizeof T[0] == BE_N_DTYPES);
    for (size_t k = 0; k < sizeof T / sizeof T[0]; k++) {
        size_t sz = be_dtype_size(T[k].t);
        for (int j = 0; j < T[k].n; j++) {
            unsigned char buf[64];
            memset(buf, 0xa5, sizeof buf);
            be_dtype_set(T[k].t, buf, 3, T[k].v[j]);
            double got = be_dtype_get(T[k].t, buf, 3);
            CHECK_MSG(got == T[k].v[j] && signbit(got) == signbit(T[k].v[j]), "%s: %.17g -> %.17g",
                      be_dtype_name(T[k].t), T[k].v[j], got);
            for (size_t b = 0; b < sizeof buf; b++)
                if (b < 3 * sz || b >= 4 * sz)
                    CHECK_MSG(buf[b] == 0xa5, "%s wrote byte %zu of element 3", be_dtype_name(T[k].t), b);
        }
    }
}

/* set stores the platform's native little-endian representation and get reads it. */
static void test_dtype_native_layout(void) {
    int64_t i64[2] = {0, 0};
    int32_t i32[2] = {0, 0};
    int16_t i16[2] = {0, 0};
    int8_t i8[2] = {0, 0};
    uint64_t u64[2] = {0, 0};
    uint32_t u32[2] = {0, 0};
    uint16_t u16[2] = {0, 0};
    uint8_t u8[2] = {0, 0};
    float f32[2] = {0, 0};
    double f64[2] = {0, 0};
    be_dtype_set(BE_I64, i64, 1, -5), be_dtype_set(BE_I32, i32, 1, -70000), be_dtype_set(BE_I16, i16, 1, -300);
    be_dtype_set(BE_I8, i8, 1, -7), be_dtype_set(BE_U64, u64, 1, 1e15), be_dtype_set(BE_U32, u32, 1, 4e9);
    be_dtype_set(BE_U16, u16, 1, 0x1234), be_dtype_set(BE_U8, u8, 1, 200), be_dtype_set(BE_F32, f32, 1, 0.1);
    be_dtype_set(BE_F64, f64, 1, 0.1);
    CHECK(i64[1] == -5 && i64[0] == 0);
    CHECK(i32[1] == -70000 && i32[0] == 0);
    CHECK(i16[1] == -300 && i16[0] == 0);
    CHECK(i8[1] == -7 && i8[0] == 0);
    CHECK(u64[1] == 1000000000000000ull && u64[0] == 0);
    CHECK(u32[1] == 4000000000u && u32[0] == 0);
    CHECK(u16[1] == 0x1234 && u16[0] == 0);
    CHECK(u8[1] == 200 && u8[0] == 0);
    CHECK(f32[1] == 0.1f && f32[0] == 0);
    CHECK(f64[1] == 0.1 && f64[0] == 0);
    int64_t big[3] = {INT64_MAX, INT64_MIN, -1};
    uint64_t ubig[1] = {UINT64_MAX};
    CHECK(be_dtype_get(BE_I64, big, 0) == 9223372036854775808.0); /* widened to the nearest double, 2^63 */
    CHECK(be_dtype_get(BE_I64, big, 1) == -9223372036854775808.0);
    CHECK(be_dtype_get(BE_I64, big, 2) == -1);
    CHECK(be_dtype_get(BE_U64, ubig, 0) == 18446744073709551616.0);
    uint8_t bools[4] = {0, 1, 7, 255};
    CHECK(be_dtype_get(BE_BOOL, bools, 0) == 0 && be_dtype_get(BE_BOOL, bools, 1) == 1);
    CHECK(be_dtype_get(BE_BOOL, bools, 2) == 1 && be_dtype_get(BE_BOOL, bools, 3) == 1); /* any nonzero byte */
    CHECK(be_dtype_get(BE_U8, bools, 3) == 255 && be_dtype_get(BE_I8, bools, 3) == -1);
}

/* float16: every one of the 65536 bit patterns decodes to the value its fields say (independent decoding here) and
 * encodes back to itself; NaNs stay NaN. */
static void test_f16_all_patterns(void) {
    int bad = 0, first = -1;
    for (int h = 0; h < 65536; h++) {
        int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
        double v = f16_val((uint16_t)h);
        if (exp == 31 && man) {
            uint16_t back = f16_bits(v);
            if (!isnan(v) || (back & 0x7c00) != 0x7c00 || !(back & 0x3ff)) bad++, first = first < 0 ? h : first;
            continue;
        }
        double ref = exp == 0 ? ldexp(man, -24) : exp == 31 ? INFINITY : ldexp(1024 + man, exp - 25);
        if (sign) ref = -ref;
        if (v != ref || !!signbit(v) != sign || f16_bits(v) != h) bad++, first = first < 0 ? h : first;
    }
    CHECK_MSG(bad == 0, "%d float16 patterns wrong, first 0x%04x", bad, first);
}

/* float16 rounding at every boundary: the midpoint between two neighbours goes to the one with an even mantissa
 * (the top one, 65520, to infinity), the doubles just below / above it to the lower / upper neighbour, for both
 * signs. The doubles next to a midpoint are not floats: a conversion through float rounds twice and sends them
 * to the even neighbour. */
static void test_f16_rounding_all_boundaries(void) {
    int bad = 0, first = -1;
    for (int h = 0; h <= 0x7bff; h++) {
        double lo = f16_val((uint16_t)h), hi = h == 0x7bff ? 65536.0 : f16_val((uint16_t)(h + 1));
        double mid = (lo + hi) / 2; /* exact */
        uint16_t even = (uint16_t)(h & 1 ? h + 1 : h), up = (uint16_t)(h + 1);
        int ok = f16_bits(mid) == even && f16_bits(nextafter(mid, 0)) == h &&
                 f16_bits(nextafter(mid, INFINITY)) == up && f16_bits(lo + (hi - lo) / 4) == h &&
                 f16_bits(lo + 3 * (hi - lo) / 4) == up &&
                 f16_bits(-mid) == (even | 0x8000) && f16_bits(-nextafter(mid, 0)) == (h | 0x8000) &&
                 f16_bits(-nextafter(mid, INFINITY)) == (up | 0x8000);
        if (!ok) bad++, first = first < 0 ? h : first;
    }
    CHECK_MSG(bad == 0, "%d of 31744 float16 boundaries wrong, first between 0x%04x and the next", bad, first);
}

static void test_f16_values(void) {
    /* value -> bits as numpy 1.24 gives them (from float64):
     * /usr/bin/python3 -c 'import numpy as np; print(hex(np.float16(V).view(np.uint16)))' */
    static const struct {
        double v;
        uint16_t bits;
    } NP[] = {
        {0.0, 0x0000},        {-0.0, 0x8000},
        {1.0, 0x3c00},        {-2.0, 0xc000},
        {65504.0, 0x7bff},    {65519.99, 0x7bff},
        {65519.999, 0x7bff}, /* below the tie 65520, though the nearest float is 65520 */
        {65520.0, 0x7c00},    {70000.0, 0x7c00}, /* overflow: infinity */
        {-70000.0, 0xfc00},   {6.103515625e-05, 0x0400}, /* smallest normal 2^-14 */
        {6.097555160522461e-05, 0x03ff}, /* largest subnormal */
        {5.960464477539063e-08, 0x0001}, /* smallest subnormal 2^-24 */
        {2.9802322387695312e-08, 0x0000}, /* 2^-25: a tie, to even (zero) */
        {4.470348358154297e-08, 0x0001}, /* 3 * 2^-26 */
        {2.980232536792755e-08, 0x0001}, /* just above 2^-25 */
        {1.00048828125, 0x3c00}, /* 1 + 2^-11: a tie, to even */
        {1.00146484375, 0x3c02}, /* 1 + 3 * 2^-11: a tie, to even (up) */
        {1.0009765625, 0x3c01},  {0.1, 0x2e66},
        {0.3333333333333333, 0x3555}, {2049.0, 0x6800}, /* a tie at spacing 2 */
        {2051.0, 0x6802},     {0.500244140625, 0x3800},
        {-1e-09, 0x8000},     {1e-05, 0x00a8},
        {INFINITY, 0x7c00},   {-INFINITY, 0xfc00},
        /* just above a tie by less than a float can tell: numpy rounds the double once, up */
        {1.0004882812509095, 0x3c01},   /* 1 + 2^-11 + 2^-40 */
        {2.9802322388562674e-08, 0x0001}, /* 2^-25 + 2^-60 */
        {1.0004882812490905, 0x3c00},     /* 1 + 2^-11 - 2^-40 */
        {6.10351553405053e-05, 0x0400},   /* 2^-14 - 2^-40: rounds up to the smallest normal */
    };
    for (size_t i = 0; i < sizeof NP / sizeof NP[0]; i++)
        CHECK_MSG(f16_bits(NP[i].v) == NP[i].bits, "float16(%.17g) = 0x%04x, numpy 0x%04x", NP[i].v,
                  f16_bits(NP[i].v), NP[i].bits);
    CHECK(f16_bits(1e300) == 0x7c00 && f16_bits(-1e300) == 0xfc00 && f16_bits(DBL_MAX) == 0x7c00);
    CHECK(f16_bits(1e-300) == 0x0000 && f16_bits(-1e-300) == 0x8000 && f16_bits(4.9e-324) == 0x0000);
    uint16_t n = f16_bits(NAN), mn = f16_bits(-NAN);
    CHECK((n & 0x7c00) == 0x7c00 && (n & 0x3ff) && isnan(f16_val(n)));
    CHECK((mn & 0x7c00) == 0x7c00 && (mn & 0x3ff) && isnan(f16_val(mn)));
    CHECK(f16_val(0x7bff) == 65504 && f16_val(0x0400) == 0x1p-14 && f16_val(0x0001) == 0x1p-24);
    CHECK(f16_val(0x3c01) == 1 + 0x1p-10 && f16_val(0xc000) == -2 && f16_val(0x7c00) == INFINITY);
    CHECK(f16_val(0xfc00) == -INFINITY && f16_val(0x8000) == 0 && signbit(f16_val(0x8000)));
    CHECK(isnan(f16_val(0x7e00)) && isnan(f16_val(0x7c01)) && isnan(f16_val(0xfe00)));
}

static void test_bf16_all_patterns(void) {
    int bad = 0, first = -1;
    for (int h = 0; h < 65536; h++) {
        int sign = h >> 15, exp = (h >> 7) & 255, man = h & 127;
        double v = bf16_val((uint16_t)h);
        if (exp == 255 && man) {
            uint16_t back = bf16_bits(v);
            if (!isnan(v) || (back & 0x7f80) != 0x7f80 || !(back & 0x7f)) bad++, first = first < 0 ? h : first;
            continue;
        }
        double ref = exp == 0 ? ldexp(man, -133) : exp == 255 ? INFINITY : ldexp(128 + man, exp - 134);
        if (sign) ref = -ref;
        if (v != ref || !!signbit(v) != sign || bf16_bits(v) != h) bad++, first = first < 0 ? h : first;
    }
    CHECK_MSG(bad == 0, "%d bfloat16 patterns wrong, first 0x%04x", bad, first);
}

static void test_bf16_rounding_all_boundaries(void) {
    int bad = 0, first = -1;
    for (int h = 0; h <= 0x7f7f; h++) {
        double lo = bf16_val((uint16_t)h), hi = h == 0x7f7f ? 0x1p128 : bf16_val((uint16_t)(h + 1));
        double mid = (lo + hi) / 2;
        uint16_t even = (uint16_t)(h & 1 ? h + 1 : h), up = (uint16_t)(h + 1);
        int ok = bf16_bits(mid) == even && bf16_bits(nextafter(mid, 0)) == h &&
                 bf16_bits(nextafter(mid, INFINITY)) == up && bf16_bits(lo + (hi - lo) / 4) == h &&
                 bf16_bits(lo + 3 * (hi - lo) / 4) == up && bf16_bits(-mid) == (even | 0x8000) &&
                 bf16_bits(-nextafter(mid, 0)) == (h | 0x8000) && bf16_bits(-nextafter(mid, INFINITY)) == (up | 0x8000);
        if (!ok) bad++, first = first < 0 ? h : first;
    }
    CHECK_MSG(bad == 0, "%d of 32640 bfloat16 boundaries wrong, first between 0x%04x and the next", bad, first);
}

static void test_bf16_values(void) {
    /* value -> bits as PyTorch 1.13 gives them (from float32; numpy has no bfloat16):
     * /usr/bin/python3 -c 'import torch; print(torch.tensor([V]).to(torch.bfloat16).view(torch.int16))' */
    static const struct {
        double v;
        uint16_t bits;
    } PT[] = {
        {0.0, 0x0000},       {-0.0, 0x8000},     {1.0, 0x3f80},       {-2.0, 0xc000},
        {1.00390625, 0x3f80}, /* 1 + 2^-8: a tie, to even */
        {1.01171875, 0x3f82}, /* 1 + 3 * 2^-8: a tie, to even (up) */
        {1.0078125, 0x3f81}, {0x1.99999ap-4, 0x3dcd} /* 0.1f */, {0x1.555556p-2, 0x3eab} /* 1/3 as float */,
        {3.140625, 0x4049},  {0x1.fep127, 0x7f7f} /* largest */, {0x1.ffp127, 0x7f80} /* its tie with 2^128 */,
        {3.4e38, 0x7f80},    {0x1.16c2p-133, 0x0001}, /* 1e-40f */
        {0x1p-126, 0x0080},  {0x1p-133, 0x0001},  {-1.5, 0xbfc0},      {65504.0, 0x4780},
        {70000.0, 0x4789},   {INFINITY, 0x7f80}, {-INFINITY, 0xff80}, {0x1.01001p+0, 0x3f81},
        /* above the tie 1 + 2^-8 by 2^-30, which a float cannot hold: the nearest bfloat16 is 1 + 2^-7 */
        {1.00390625 + 0x1p-30, 0x3f81},
    };
    for (size_t i = 0; i < sizeof PT / sizeof PT[0]; i++)
        CHECK_MSG(bf16_bits(PT[i].v) == PT[i].bits, "bfloat16(%.17g) = 0x%04x, PyTorch 0x%04x", PT[i].v,
                  bf16_bits(PT[i].v), PT[i].bits);
    CHECK(bf16_bits(1e39) == 0x7f80 && bf16_bits(-DBL_MAX) == 0xff80);
    CHECK(bf16_bits(1e-300) == 0x0000 && bf16_bits(-1e-300) == 0x8000);
    uint16_t n = bf16_bits(NAN), mn = bf16_bits(-NAN);
    CHECK((n & 0x7f80) == 0x7f80 && (n & 0x7f) && isnan(bf16_val(n)));
    CHECK((mn & 0x7f80) == 0x7f80 && (mn & 0x7f) && isnan(bf16_val(mn)));
    CHECK(bf16_val(0x3f80) == 1 && bf16_val(0x7f7f) == 0x1.fep127 && bf16_val(0x0001) == 0x1p-133);
    CHECK(bf16_val(0x7f80) == INFINITY && isnan(bf16_val(0x7fc0)) && isnan(bf16_val(0xffff)));
}

static void test_f32_rounding(void) {
    float f;
    be_dtype_set(BE_F32, &f, 0, 1 + 0x1p-24); /* a tie: to even */
    CHECK(f == 1.0f);
    be_dtype_set(BE_F32, &f, 0, 1 + 3 * 0x1p-24);
    CHECK(f == 1 + 0x1p-22f);
    be_dtype_set(BE_F32, &f, 0, 1 + 0x1p-24 + 0x1p-50);
    CHECK(f == 1 + 0x1p-23f);
    be_dtype_set(BE_F32, &f, 0, 1e39);
    CHECK(f == INFINITY);
    be_dtype_set(BE_F32, &f, 0, NAN);
    CHECK(isnan(f));
    CHECK(be_dtype_get(BE_F32, &f, 0) != be_dtype_get(BE_F32, &f, 0)); /* NaN read back as NaN */
}

/* One integer conversion: v stored into type t reads back as want. */
static void check_int(be_dtype t, double v, double want) {
    unsigned char buf[8];
    memset(buf, 0xa5, sizeof buf);
    be_dtype_set(t, buf, 0, v);
    double got = be_dtype_get(t, buf, 0);
    CHECK_MSG(got == want, "%s(%.17g) = %.17g, expected %.17g", be_dtype_name(t), v, got, want);
}

static void test_int_rounding_saturation(void) {
    check_int(BE_I8, 300, 127), check_int(BE_I8, -300, -128), check_int(BE_I8, 2.5, 2), check_int(BE_I8, 3.5, 4);
    check_int(BE_I8, -2.5, -2), check_int(BE_I8, -0.5, 0), check_int(BE_I8, 2.4999, 2), check_int(BE_I8, 2.5001, 3);
    check_int(BE_I8, 127.5, 127), check_int(BE_I8, -128.5, -128), check_int(BE_I8, NAN, 0);
    check_int(BE_I8, INFINITY, 127), check_int(BE_I8, -INFINITY, -128), check_int(BE_I8, 1e300, 127);
    check_int(BE_U8, -1, 0), check_int(BE_U8, -0.4, 0), check_int(BE_U8, 0.5, 0), check_int(BE_U8, 1.5, 2);
    check_int(BE_U8, 254.5, 254), check_int(BE_U8, 255.4, 255), check_int(BE_U8, 300, 255);
    check_int(BE_U8, NAN, 0), check_int(BE_U8, -INFINITY, 0);
    check_int(BE_I16, 40000, 32767), check_int(BE_I16, -40000, -32768), check_int(BE_I16, 1.5, 2);
    check_int(BE_U16, 70000, 65535), check_int(BE_U16, -3, 0), check_int(BE_U16, 65534.5, 65534);
    check_int(BE_I32, 3e9, 2147483647.0), check_int(BE_I32, -3e9, -2147483648.0);
    check_int(BE_I32, 2147483647.4, 2147483647.0), check_int(BE_I32, 0.5, 0), check_int(BE_I32, -1.5, -2);
    check_int(BE_I32, INFINITY, 2147483647.0), check_int(BE_I32, NAN, 0);
    check_int(BE_U32, 5e9, 4294967295.0), check_int(BE_U32, -5, 0), check_int(BE_U32, 4294967294.5, 4294967294.0);
    check_int(BE_I64, 2.5, 2), check_int(BE_I64, -3.5, -4), check_int(BE_I64, NAN, 0);
    check_int(BE_I64, -1e19, -9223372036854775808.0), check_int(BE_I64, -INFINITY, -9223372036854775808.0);
    check_int(BE_U64, -1, 0), check_int(BE_U64, 0x1p63, 0x1p63), check_int(BE_U64, NAN, 0);
    /* saturation at the top of the 64-bit types: INT64_MAX / UINT64_MAX exactly, not the largest double below */
    int64_t i64;
    uint64_t u64;
    static const double HI64[] = {0x1p63, 1e19, 1e300, INFINITY};
    for (size_t i = 0; i < sizeof HI64 / sizeof HI64[0]; i++) {
        be_dtype_set(BE_I64, &i64, 0, HI64[i]);
        CHECK_MSG(i64 == INT64_MAX, "int64(%g) = %lld", HI64[i], (long long)i64);
    }
    be_dtype_set(BE_I64, &i64, 0, 9223372036854774784.0); /* the largest double below 2^63 is still exact */
    CHECK(i64 == 9223372036854774784LL);
    static const double HIU64[] = {0x1p64, 1e20, INFINITY};
    for (size_t i = 0; i < sizeof HIU64 / sizeof HIU64[0]; i++) {
        be_dtype_set(BE_U64, &u64, 0, HIU64[i]);
        CHECK_MSG(u64 == UINT64_MAX, "uint64(%g) = %llu", HIU64[i], (unsigned long long)u64);
    }
    be_dtype_set(BE_U64, &u64, 0, 18446744073709549568.0);
    CHECK(u64 == 18446744073709549568ull);
    /* bool: v != 0 (NaN included) stored as the byte 1 */
    static const double B[] = {0, -0.0, 1, 0.5, -3, 1e-300, NAN, INFINITY};
    static const uint8_t BW[] = {0, 0, 1, 1, 1, 1, 1, 1};
    for (size_t i = 0; i < sizeof B / sizeof B[0]; i++) {
        uint8_t b = 0xa5;
        be_dtype_set(BE_BOOL, &b, 0, B[i]);
        CHECK_MSG(b == BW[i], "bool(%g) stored as %u", B[i], b);
    }
}

/* ---- tensor descriptions ---- */

/* A tensor of type t and shape dims (0 = symbolic), symbolic dims named by names[d] (NULL or "" = unnamed). */
static be_tensor make_tensor(be_dtype t, int rank, const int64_t *dims, const char *const *names, int batch_axis,
                             long width) {
    be_tensor x;
    memset(&x, 0, sizeof x);
    snprintf(x.name, sizeof x.name, "t");
    x.dtype = t;
    x.rank = rank;
    for (int d = 0; d < rank; d++) {
        x.dim[d] = dims[d] > 0 ? dims[d] : -1;
        if (names && names[d]) snprintf(x.dim_name[d], sizeof x.dim_name[d], "%s", names[d]);
    }
    x.batch_axis = batch_axis;
    x.width = width;
    return x;
}

static void check_describe(const be_tensor *t, const char *want) {
    char buf[512];
    be_tensor_describe(t, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, want), "'%s', expected '%s'", buf, want);
}

static void test_tensor_describe_elems(void) {
    be_tensor t = make_tensor(BE_F32, 4, (int64_t[]){0, 3, 8, 8}, (const char *[]){"batch", 0, 0, 0}, 0, 192);
    check_describe(&t, "float32 [batch, 3, 8, 8]");
    CHECK(be_tensor_elems(&t, 1) == 192 && be_tensor_elems(&t, 5) == 960);
    t = make_tensor(BE_I64, 2, (int64_t[]){0, 16}, NULL, 0, 16); /* a dynamic axis without a name */
    check_describe(&t, "int64 [?, 16]");
    CHECK(be_tensor_elems(&t, 3) == 48);
    t = make_tensor(BE_F16, 2, (int64_t[]){6, 0}, (const char *[]){0, "N"}, 1, 6); /* the batch is the last dim */
    check_describe(&t, "float16 [6, N]");
    CHECK(be_tensor_elems(&t, 3) == 18);
    t = make_tensor(BE_BOOL, 2, (int64_t[]){2, 3}, NULL, -1, 6); /* no batch axis: the same size at any batch */
    check_describe(&t, "bool [2, 3]");
    CHECK(be_tensor_elems(&t, 1) == 6 && be_tensor_elems(&t, 100) == 6);
    t = make_tensor(BE_F64, 0, NULL, NULL, -1, 1); /* a scalar */
    check_describe(&t, "float64 []");
    CHECK(be_tensor_elems(&t, 9) == 1);
    t = make_tensor(BE_F32, 2, (int64_t[]){0, 0}, (const char *[]){"batch", ""}, 0, 0); /* size known after a run */
    check_describe(&t, "float32 [batch, ?]");
    CHECK(be_tensor_elems(&t, 4) == 0);
    t = make_tensor(BE_BF16, 3, (int64_t[]){0, 5, 8}, (const char *[]){"batch", "seq", 0}, 0, 40); /* seq bound */
    check_describe(&t, "bfloat16 [batch, 5, 8]");
    CHECK(be_tensor_elems(&t, 2) == 80);
    t = make_tensor(BE_U16, 3, (int64_t[]){0, 0, 0}, (const char *[]){"a", 0, "c"}, 2, 0);
    check_describe(&t, "uint16 [a, ?, c]");
    t.dtype = (be_dtype)99;
    check_describe(&t, "? [a, ?, c]");
}

/* Every buffer length: a NUL-terminated prefix of the full text, nothing written at or past len. */
static void test_tensor_describe_truncation(void) {
    char longname[BE_DIM_NAME_LEN];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    const char *names[BE_MAX_RANK] = {longname, 0, longname, 0, longname, 0, longname, 0};
    be_tensor t = make_tensor(BE_U32, BE_MAX_RANK, (int64_t[]){0, 123456789012LL, 0, 2, 0, 3, 0, 4}, names, 0, 0);
    char full[1024];
    be_tensor_describe(&t, full, sizeof full);
    size_t n = strlen(full);
    CHECK(n > 4 * (BE_DIM_NAME_LEN - 1) && !strncmp(full, "uint32 [xxx", 11) && full[n - 1] == ']');
    CHECK(strstr(full, ", 123456789012, ") != NULL);
    int bad = 0;
    for (size_t len = 0; len <= n + 2; len++) {
        char buf[1100];
        memset(buf, '#', sizeof buf);
        be_tensor_describe(&t, buf, len);
        if (len == 0) {
            bad += buf[0] != '#';
            continue;
        }
        size_t k = strnlen(buf, len);
        bad += k != (len - 1 < n ? len - 1 : n) || strncmp(buf, full, k) != 0;
        for (size_t i = len; i < sizeof buf; i++) bad += buf[i] != '#';
    }
    CHECK_MSG(bad == 0, "%d bad truncations of '%s'", bad, full);
}

/* ---- the ONNX Runtime backend on tests/fixtures/any_models ---- */

/* W [6][3] and B [3] of each dtype_*.onnx, in the order of DT below (scripts/make_any_models.py: standard
 * normals from default_rng(100 + i) and (200 + i)), read with onnx.numpy_helper, as exact hexadecimal floats. */
static const float DT_W[7][18] = {
    {/* float16 */
     -0x1.28552cp+0f, 0x1.28b5bep-2f, 0x1.8fcc1ap-1f, 0x1.1683b6p-1f, -0x1.ec3a58p-1f, 0x1.122dap+0f,
     0x1.672532p-1f, 0x1.68f248p-1f, 0x1.7d78d8p-1f, 0x1.1ab68p+0f, 0x1.1f19b8p+1f, -0x1.3915ap-1f,
     0x1.82c106p-5f, 0x1.c11586p+0f, -0x1.5685dap+0f, 0x1.4d6364p-2f, -0x1.60d40ap-1f, -0x1.44c2b2p-6f,
    },
    {/* bfloat16 */
     -0x1.948edep-1f, -0x1.046e9cp+1f, 0x1.34e3f8p-1f, 0x1.7d142cp-1f, -0x1.3d1e8ap-2f, 0x1.782318p-2f,
     0x1.b5dc66p+0f, 0x1.0f9072p+0f, 0x1.6a4faap-1f, 0x1.6020bp-1f, -0x1.ba2584p-1f, 0x1.ed939ap-1f,
     -0x1.a601a8p+0f, -0x1.540fep-2f, -0x1.bfc9f4p-2f, -0x1.ba8034p+0f, -0x1.c3f2b6p-4f, 0x1.a4b978p+0f,
    },
    {/* double */
     0x1.405f9ap-1f, 0x1.15089ep+1f, 0x1.e93c9cp-1f, -0x1.148a1cp+0f, -0x1.2ff63p-1f, 0x1.b8f1b4p-1f,
     -0x1.67e92ap-5f, 0x1.3146ccp+0f, -0x1.f1362cp+0f, 0x1.0e742ap+1f, 0x1.e28e38p+0f, -0x1.72bd32p+0f,
     -0x1.2f1248p-2f, -0x1.350d3cp-1f, -0x1.79d99p-2f, 0x1.fdde74p-1f, -0x1.f206cep-2f, -0x1.c730bp-1f,
    },
    {/* int32 */
     0x1.1a7504p+0f, -0x1.479feep+0f, 0x1.4bdaa4p-1f, -0x1.3317b4p+0f, 0x1.126188p+0f, -0x1.8e5ab4p+0f,
     -0x1.6bcab6p-1f, -0x1.369c4p-1f, -0x1.0d7b36p+1f, 0x1.b49ec2p-1f, -0x1.8d27acp+0f, -0x1.4ea8acp+0f,
     -0x1.211fe2p-1f, 0x1.7d0cbp-1f, -0x1.a06f0cp-1f, 0x1.fd20e6p+0f, -0x1.987c5ep-6f, -0x1.27fd5ap-2f,
    },
    {/* int8 */
     0x1.1fcdc2p-1f, 0x1.1ed29ap-1f, -0x1.3eb2a6p-1f, -0x1.419e9p-7f, 0x1.1a07fcp-11f, 0x1.d6721p-5f,
     0x1.1763dep+1f, -0x1.22a8aep-2f, -0x1.2ad87ep-2f, -0x1.d514b4p-2f, 0x1.0937dap+0f, -0x1.a6c384p-2f,
     -0x1.696ce2p-4f, 0x1.c2d9b8p-1f, 0x1.85d6e2p-1f, -0x1.f2f636p-1f, 0x1.d09fe6p+0f, 0x1.1c2062p-2f,
    },
    {/* uint8 */
     -0x1.03e89p-4f, 0x1.3fcc6ep+0f, 0x1.fcee4ep+0f, -0x1.b53f72p-5f, -0x1.e9cb6cp-3f, 0x1.0fe12cp+0f,
     0x1.def41cp-5f, 0x1.a0757ep-1f, 0x1.99f628p+0f, 0x1.1eceeep-1f, 0x1.169a76p+0f, -0x1.2a4c62p+1f,
     0x1.0cc5b8p+0f, -0x1.4455eap-3f, -0x1.dec05ap-1f, -0x1.294272p-3f, -0x1.2f2462p+0f, -0x1.2ba11ep+0f,
    },
    {/* bool */
     0x1.c3e6aep-1f, 0x1.4c093p-2f, 0x1.f7ef7p-2f, -0x1.59973cp-3f, 0x1.ea40cap-1f, -0x1.8655c6p+0f,
     0x1.213d06p+0f, -0x1.24b00ep-2f, -0x1.78297p-3f, -0x1.0ffe02p+0f, -0x1.a13426p+0f, -0x1.dba3e4p-2f,
     0x1.69a5fp-1f, 0x1.2946f2p-2f, 0x1.b4dcb4p-1f, -0x1.dc4eb4p-3f, 0x1.9b4d68p-3f, -0x1.3502c8p-3f,
    },
};
static const float DT_B[7][3] = {
    {0x1.41d482p-2f, -0x1.b62f7p-2f, -0x1.02e0ep-1f}, /* float16 */
    {0x1.edd024p+0f, -0x1.37222ap-1f, -0x1.092d7p+1f}, /* bfloat16 */
    {0x1.cfcce8p+0f, -0x1.754682p-1f, -0x1.15eb9ep+0f}, /* double */
    {-0x1.0e87dep-1f, -0x1.6630ccp-2f, 0x1.e2a71p-1f}, /* int32 */
    {0x1.e13ac6p-1f, 0x1.54e86ep-3f, 0x1.1f5c1ap+1f}, /* int8 */
    {-0x1.68da96p-2f, 0x1.df917ep+0f, 0x1.e2a5bcp+0f}, /* uint8 */
    {0x1.62071ap-1f, -0x1.781b2ap-4f, 0x1.61a444p+0f}, /* bool */
};
/* symbolic_seq: W [8, 4] */
static const float SEQ_W[32] = {
    -0x1.22e03cp-2f, -0x1.e1b75ap-1f, -0x1.a07138p-5f, -0x1.95337p-6f,
    -0x1.37199ap-4f, -0x1.6cbddep-1f, -0x1.f8279p-1f, -0x1.8e022cp-1f,
    0x1.e44274p-3f, -0x1.2924bap-2f, -0x1.69ef2p-1f, -0x1.afc254p-1f,
    0x1.716a2ep-1f, 0x1.6c59aap-4f, 0x1.5e19d4p-1f, 0x1.0e8b16p-2f,
    -0x1.be5b5ap+0f, 0x1.539aeep-4f, 0x1.b8aeecp-2f, 0x1.41d08ap-2f,
    0x1.9569f2p-2f, -0x1.806112p-5f, -0x1.f6bee2p-1f, -0x1.ee55d4p+0f,
    0x1.9a9f7ap-1f, 0x1.038c02p+0f, 0x1.8973eep-2f, 0x1.14fb1ap-2f,
    0x1.4ef03cp-2f, 0x1.6b49dep-1f, 0x1.bb8388p+0f, -0x1.8ffc42p-1f,
};
/* batch_last: W [6, 2] */
static const float BL_W[12] = {
    -0x1.bf945p-1f, -0x1.05afa2p+1f, 0x1.ae4252p+0f, 0x1.17a0eep-3f, -0x1.3de15cp+0f, -0x1.96379ep-2f,
    0x1.049152p-1f, -0x1.8d338ep+0f, -0x1.5f976ep+0f, 0x1.1a5f0ep-1f, -0x1.5d399p-1f, 0x1.217bb4p+0f,
};

static be_model *load(const char *path) {
    be_model *m = NULL;
    nrps_status rc = be_model_load(path, &m);
    CHECK_MSG(rc == NRPS_OK, "%s: %s", path, nrps_last_error());
    return rc == NRPS_OK ? m : NULL;
}

/* ort-cpu on m with o (NULL: defaults, max batch 8). */
static be_backend *ort_cpu(const be_model *m, const be_options *o) {
    be_options d = be_options_default();
    d.max_batch = 8;
    be_backend *b = NULL;
    nrps_status rc = be_create("ort-cpu", m, o ? o : &d, &b);
    CHECK_MSG(rc == NRPS_OK, "ort-cpu on %s: %s", be_model_path(m), nrps_last_error());
    return rc == NRPS_OK ? b : NULL;
}

static void check_tensor(const be_tensor *t, const char *name, be_dtype dt, const char *desc, int batch_axis,
                         long width) {
    char buf[256];
    be_tensor_describe(t, buf, sizeof buf);
    CHECK_MSG(!strcmp(t->name, name), "name '%s', expected '%s'", t->name, name);
    CHECK_MSG(t->dtype == dt, "%s: %s, expected %s", name, be_dtype_name(t->dtype), be_dtype_name(dt));
    CHECK_MSG(!strcmp(buf, desc), "%s: '%s', expected '%s'", name, buf, desc);
    CHECK_MSG(t->batch_axis == batch_axis, "%s: batch axis %d, expected %d", name, t->batch_axis, batch_axis);
    CHECK_MSG(t->width == width, "%s: width %ld, expected %ld", name, t->width, width);
}

/* Creation of backend `name` on the fixture `file` with o fails with status want and a message containing msg. */
static void check_refused(const char *name, const char *file, const be_options *o, nrps_status want, const char *msg) {
    be_model *m = load(file);
    if (!m) return;
    be_backend *b = (be_backend *)1;
    nrps_status rc = be_create(name, m, o, &b);
    CHECK_MSG(rc == want, "%s on %s: status %s, expected %s (%s)", name, file, nrps_status_str(rc),
              nrps_status_str(want), nrps_last_error());
    CHECK(b == NULL);
    CHECK_MSG(strstr(nrps_last_error(), msg) != NULL, "'%s' does not mention '%s'", nrps_last_error(), msg);
    be_destroy(b == (be_backend *)1 ? NULL : b);
    be_model_free(m);
}

static const struct {
    const char *file;
    be_dtype t;
    int same; /* also a 'y_same' output: Cast(y) to the input type */
} DT[7] = {
    {ANY "dtype_float16.onnx", BE_F16, 1}, {ANY "dtype_bfloat16.onnx", BE_BF16, 0},
    {ANY "dtype_double.onnx", BE_F64, 1},  {ANY "dtype_int32.onnx", BE_I32, 0},
    {ANY "dtype_int8.onnx", BE_I8, 0},     {ANY "dtype_uint8.onnx", BE_U8, 0},
    {ANY "dtype_bool.onnx", BE_BOOL, 0},
};

/* Input element e (sample * 6 + feature) of the dtype models, spread over each type's range. */
static double dt_input(be_dtype t, int e) {
    switch (t) {
    case BE_F16: case BE_BF16: return ((e * 5) % 13 - 6) * 0.375;
    case BE_F64: return ((e * 5) % 13 - 6) * 0.1 + 1.0 / 3;
    case BE_I32: return (e - 9) * 100003.0;
    case BE_I8: return (e * 37) % 256 - 128;
    case BE_U8: return (e * 37) % 256;
    default: return e % 3 == 0;
    }
}

static void test_ort_dtype_models(void) {
    for (int k = 0; k < 7; k++) {
        be_model *m = load(DT[k].file);
        if (!m) continue;
        be_backend *b = ort_cpu(m, NULL);
        be_model_free(m); /* the backend keeps what it needs */
        if (!b) continue;
        const be_info *bi = be_get_info(b);
        char desc[64];
        CHECK(bi->n_inputs == 1 && bi->n_outputs == 1 + DT[k].same && bi->fixed_batch == 0 && be_max_batch(b) == 8);
        snprintf(desc, sizeof desc, "%s [batch, 6]", be_dtype_name(DT[k].t));
        check_tensor(&bi->input[0], "x", DT[k].t, desc, 0, 6);
        CHECK(bi->input[0].rank == 2 && bi->input[0].dim[0] == -1 && bi->input[0].dim[1] == 6);
        CHECK(!strcmp(bi->input[0].dim_name[0], "batch") && bi->input[0].dim_name[1][0] == 0);
        check_tensor(&bi->output[0], "y", BE_F32, "float32 [batch, 3]", 0, 3);
        snprintf(desc, sizeof desc, "%s [batch, 3]", be_dtype_name(DT[k].t));
        if (DT[k].same) check_tensor(&bi->output[1], "y_same", DT[k].t, desc, 0, 3);
        CHECK(!strcmp(bi->provider, "CPUExecutionProvider") && !strcmp(bi->device, "CPU"));
        float *fin, *fout[BE_MAX_IO];
        be_io_buffers(b, &fin, fout);
        CHECK(fin == NULL && fout[0] != NULL); /* only float32 buffers are offered to be_run */
        void *own[BE_MAX_IO];
        be_io_tensors(b, own);
        CHECK(own[0] != NULL && own[1] == NULL);
        for (int batch = 1; batch <= 8; batch += 2) {
            size_t sz = be_dtype_size(DT[k].t);
            for (int e = 0; e < batch * 6; e++) be_dtype_set(DT[k].t, own[0], (size_t)e, dt_input(DT[k].t, e));
            REQUIRE(be_run_io(b, NULL, batch, NULL) == NRPS_OK); /* from the backend's own input buffer */
            const void *data[BE_MAX_IO];
            long elems[BE_MAX_IO];
            REQUIRE(be_last_outputs(b, data, elems) == bi->n_outputs);
            CHECK(elems[0] == 3L * batch && (!DT[k].same || elems[1] == 3L * batch));
            const float *y = data[0];
            double worst = 0;
            for (int s = 0; s < batch; s++)
                for (int j = 0; j < 3; j++) {
                    double ref = DT_B[k][j], mag = fabs(ref);
                    for (int i = 0; i < 6; i++) {
                        double x = (float)be_dtype_get(DT[k].t, own[0], (size_t)(s * 6 + i)); /* Cast to float */
                        ref += x * DT_W[k][i * 3 + j], mag += fabs(x * DT_W[k][i * 3 + j]);
                    }
                    double err = fabs(y[s * 3 + j] - ref) / (1 + mag);
                    worst = err > worst ? err : worst;
                    if (DT[k].same) { /* the model's own Cast of y back to the input type */
                        double same = be_dtype_get(DT[k].t, data[1], (size_t)(s * 3 + j));
                        unsigned char want[8];
                        be_dtype_set(DT[k].t, want, 0, y[s * 3 + j]);
                        CHECK_MSG(!memcmp(want, (const unsigned char *)data[1] + (s * 3 + j) * sz, sz),
                                  "%s y_same %.9g vs y %.9g", DT[k].file, same, y[s * 3 + j]);
                    }
                }
            CHECK_MSG(worst < 1e-6, "%s batch %d: relative error %.3g vs x W + B", DT[k].file, batch, worst);
            /* the same inputs from caller memory, outputs into caller memory: the same bits */
            unsigned char in[8 * 6 * 8], out0[8 * 3 * 4], out1[8 * 3 * 8];
            memcpy(in, own[0], (size_t)batch * 6 * sz);
            memset(own[0], 0, (size_t)batch * 6 * sz);
            float y0[8 * 3];
            memcpy(y0, y, sizeof(float) * 3 * (size_t)batch);
            const void *ins[1] = {in};
            void *outs[2] = {out0, out1};
            REQUIRE(be_run_io(b, ins, batch, outs) == NRPS_OK);
            CHECK(!memcmp(out0, y0, sizeof(float) * 3 * (size_t)batch));
            REQUIRE(be_last_outputs(b, data, elems) == bi->n_outputs);
            CHECK(!memcmp(data[0], out0, sizeof(float) * 3 * (size_t)batch));
            if (DT[k].same) CHECK(!memcmp(data[1], out1, sz * 3 * (size_t)batch));
        }
        CHECK(be_run_io(b, NULL, 0, NULL) == NRPS_ERR_ARG);
        CHECK(be_run_io(b, NULL, 9, NULL) == NRPS_ERR_ARG);
        float fx[6] = {0}, fy[3], *fys[1] = {fy};
        CHECK(be_run(b, fx, 1, fys) == NRPS_ERR_ARG); /* be_run takes float32 tensors only */
        CHECK(strstr(nrps_last_error(), "be_run_io") != NULL);
        be_destroy(b);
    }
}

/* All-zero inputs give y = B exactly (README: "For the dtype models y equals the bias in every row"). */
static void test_ort_dtype_zero_is_bias(void) {
    for (int k = 0; k < 7; k++) {
        be_model *m = load(DT[k].file);
        be_backend *b = m ? ort_cpu(m, NULL) : NULL;
        be_model_free(m);
        if (!b) continue;
        unsigned char zeros[2 * 6 * 8] = {0};
        const void *ins[1] = {zeros};
        float y[6];
        void *outs[2] = {y, NULL}; /* out[1] (y_same, where there is one) not copied */
        REQUIRE(be_run_io(b, ins, 2, outs) == NRPS_OK);
        for (int s = 0; s < 2; s++)
            for (int j = 0; j < 3; j++) CHECK(y[s * 3 + j] == DT_B[k][j]);
        be_destroy(b);
    }
}

/* A float16 input filled with values float16 cannot hold: the model sees them rounded once to nearest even
 * (1 + 2^-11 + 2^-40 -> 1 + 2^-10, the tie 1 + 2^-11 -> 1). */
static void test_ort_float16_inputs_rounded(void) {
    be_model *m = load(DT[0].file);
    be_backend *b = m ? ort_cpu(m, NULL) : NULL;
    be_model_free(m);
    if (!b) return;
    uint16_t x[6];
    for (int i = 0; i < 6; i++) be_dtype_set(BE_F16, x, (size_t)i, 1 + 0x1p-11 + (i == 0 ? 0x1p-40 : 0));
    CHECK(x[0] == 0x3c01 && x[1] == 0x3c00); /* above the tie / on it */
    const void *ins[1] = {x};
    REQUIRE(be_run_io(b, ins, 1, NULL) == NRPS_OK);
    const void *data[BE_MAX_IO];
    long elems[BE_MAX_IO];
    REQUIRE(be_last_outputs(b, data, elems) == 2);
    for (int j = 0; j < 3; j++) {
        double ref = DT_B[0][j];
        for (int i = 0; i < 6; i++) ref += (i == 0 ? 1 + 0x1p-10 : 1.0) * DT_W[0][i * 3 + j];
        CHECK_NEAR(((const float *)data[0])[j], ref, 1e-5);
    }
    be_destroy(b);
}

static void test_ort_two_inputs(void) {
    be_model *m = load(ANY "two_inputs.onnx");
    be_backend *b = m ? ort_cpu(m, NULL) : NULL;
    be_model_free(m);
    if (!b) return;
    const be_info *bi = be_get_info(b);
    REQUIRE(bi->n_inputs == 2 && bi->n_outputs == 2);
    check_tensor(&bi->input[0], "board", BE_F32, "float32 [batch, 81]", 0, 81);
    check_tensor(&bi->input[1], "extra", BE_F32, "float32 [batch, 5]", 0, 5);
    check_tensor(&bi->output[0], "logits", BE_F32, "float32 [batch, 9]", 0, 9);
    check_tensor(&bi->output[1], "score", BE_F32, "float32 [batch, 1]", 0, 1);
    void *own[BE_MAX_IO];
    be_io_tensors(b, own);
    CHECK(own[0] && own[1] && own[0] != own[1] && !own[2]);
    float *board = own[0], *extra = own[1];
    for (int i = 0; i < 3 * 81; i++) board[i] = (float)((i * 7) % 11 - 5) / 5;
    for (int i = 0; i < 3 * 5; i++) extra[i] = 0;
    REQUIRE(be_run_io(b, NULL, 3, NULL) == NRPS_OK);
    const void *data[BE_MAX_IO];
    long elems[BE_MAX_IO];
    REQUIRE(be_last_outputs(b, data, elems) == 2);
    CHECK(elems[0] == 27 && elems[1] == 3);
    float logits[27], score[3];
    memcpy(logits, data[0], sizeof logits), memcpy(score, data[1], sizeof score);
    for (int s = 0; s < 3; s++) CHECK(fabsf(score[s]) <= 1); /* tanh */
    /* batch 1 on sample 1 alone gives sample 1's row */
    float b1[81], l1[9], s1[1];
    memcpy(b1, board + 81, sizeof b1);
    const void *ins[2] = {b1, extra};
    void *outs[2] = {l1, s1};
    REQUIRE(be_run_io(b, ins, 1, outs) == NRPS_OK);
    for (int j = 0; j < 9; j++) CHECK_NEAR(l1[j], logits[9 + j], 1e-5);
    CHECK_NEAR(s1[0], score[1], 1e-5);
    REQUIRE(be_last_outputs(b, data, elems) == 2);
    CHECK(elems[0] == 9 && elems[1] == 1);
    /* the second input reaches the graph */
    for (int i = 0; i < 3 * 5; i++) extra[i] = 1;
    memcpy(board, b1, sizeof b1); /* own buffers: sample 0 = the old sample 1 */
    REQUIRE(be_run_io(b, NULL, 1, NULL) == NRPS_OK);
    REQUIRE(be_last_outputs(b, data, elems) == 2);
    double diff = 0;
    for (int j = 0; j < 9; j++) diff += fabs(((const float *)data[0])[j] - l1[j]);
    CHECK(diff > 1e-3);
    /* ... from caller memory too: the same bits as from the backend's buffers */
    float l_own[9], ones[5] = {1, 1, 1, 1, 1}, l_caller[9], s_caller[1];
    memcpy(l_own, data[0], sizeof l_own);
    for (int i = 0; i < 3 * 5; i++) extra[i] = 0;
    const void *ins1[2] = {b1, ones};
    void *outs1[2] = {l_caller, s_caller};
    REQUIRE(be_run_io(b, ins1, 1, outs1) == NRPS_OK);
    CHECK(!memcmp(l_caller, l_own, sizeof l_own));
    float x[81] = {0}, y[9], *ys[1] = {y};
    CHECK(be_run(b, x, 1, ys) == NRPS_ERR_ARG); /* two inputs: be_run_io only */
    be_destroy(b);
}

static void test_ort_fixed_batch(void) {
    be_model *m = load(ANY "fixed_batch4.onnx");
    be_options o = be_options_default();
    o.max_batch = 64;
    be_backend *b = m ? ort_cpu(m, &o) : NULL;
    be_model_free(m);
    if (!b) return;
    const be_info *bi = be_get_info(b);
    CHECK(bi->fixed_batch == 4 && be_max_batch(b) == 4);
    check_tensor(&bi->input[0], "board", BE_F32, "float32 [4, 81]", 0, 81);
    check_tensor(&bi->output[0], "policy", BE_F32, "float32 [4, 9]", 0, 9);
    CHECK(bi->input[0].dim[0] == 4);
    nrps_status rc = be_run_io(b, NULL, 3, NULL);
    CHECK(rc == NRPS_ERR_ARG);
    CHECK_MSG(strstr(nrps_last_error(), "fixed") != NULL, "%s", nrps_last_error());
    CHECK(be_run_io(b, NULL, 5, NULL) == NRPS_ERR_ARG);
    CHECK(be_run_io(b, NULL, 1, NULL) == NRPS_ERR_ARG);
    REQUIRE(be_run_io(b, NULL, 4, NULL) == NRPS_OK);
    const void *data[BE_MAX_IO];
    long elems[BE_MAX_IO];
    REQUIRE(be_last_outputs(b, data, elems) == 1);
    CHECK(elems[0] == 36);
    for (int s = 0; s < 4; s++) {
        double sum = 0;
        for (int j = 0; j < 9; j++) sum += ((const float *)data[0])[s * 9 + j];
        CHECK_NEAR(sum, 1, 1e-5); /* Softmax */
    }
    be_destroy(b);

    /* a PyTorch export with every default: batch 1, auto-generated names */
    m = load(ANY "torch_static.onnx");
    b = m ? ort_cpu(m, &o) : NULL;
    be_model_free(m);
    if (!b) return;
    bi = be_get_info(b);
    CHECK(bi->fixed_batch == 1 && be_max_batch(b) == 1);
    check_tensor(&bi->input[0], "onnx::Gemm_0", BE_F32, "float32 [1, 81]", 0, 81);
    check_tensor(&bi->output[0], "8", BE_F32, "float32 [1, 9]", 0, 9);
    CHECK(be_run_io(b, NULL, 2, NULL) == NRPS_ERR_ARG);
    float x[81] = {0}, y[9], *ys[1] = {y};
    CHECK(be_run(b, x, 1, ys) == NRPS_OK); /* one float32 input: be_run works too */
    double sum = 0;
    for (int j = 0; j < 9; j++) sum += y[j];
    CHECK_NEAR(sum, 1, 1e-5);
    be_destroy(b);
}

static void test_ort_symbolic_dim(void) {
    be_options o = be_options_default();
    check_refused("ort-cpu", ANY "symbolic_seq.onnx", &o, NRPS_ERR_ARG, "--dim seq");
    be_dim other = {"batch", 2};
    o.dims = &other, o.n_dims = 1; /* binding another name does not help */
    check_refused("ort-cpu", ANY "symbolic_seq.onnx", &o, NRPS_ERR_ARG, "--dim seq");
    be_dim seq = {"seq", 5};
    o.dims = &seq, o.n_dims = 1, o.max_batch = 4;
    be_model *m = load(ANY "symbolic_seq.onnx");
    be_backend *b = m ? ort_cpu(m, &o) : NULL;
    be_model_free(m);
    if (!b) return;
    const be_info *bi = be_get_info(b);
    check_tensor(&bi->input[0], "x", BE_F32, "float32 [batch, 5, 8]", 0, 40);
    CHECK(!strcmp(bi->input[0].dim_name[1], "seq") && bi->input[0].dim[1] == 5); /* bound, name kept */
    check_tensor(&bi->output[0], "y", BE_F32, "float32 [batch, 4]", 0, 4);
    float x[2 * 40], y[2 * 4];
    for (int i = 0; i < 80; i++) x[i] = (float)((i * 13) % 17 - 8) / 4;
    const void *ins[1] = {x};
    void *outs[1] = {y};
    REQUIRE(be_run_io(b, ins, 2, outs) == NRPS_OK);
    for (int s = 0; s < 2; s++)
        for (int j = 0; j < 4; j++) {
            double ref = 0;
            for (int c = 0; c < 8; c++) {
                double mean = 0;
                for (int t = 0; t < 5; t++) mean += x[s * 40 + t * 8 + c] / 5.0;
                ref += mean * SEQ_W[c * 4 + j];
            }
            CHECK_NEAR(y[s * 4 + j], ref, 1e-5);
        }
    float ref_y[8];
    memcpy(ref_y, y, sizeof ref_y);
    be_destroy(b);

    /* --dim batch=2 as well: binding the batch dimension fixes the batch size at 2 */
    be_dim both[2] = {{"batch", 2}, {"seq", 5}};
    o.dims = both, o.n_dims = 2;
    m = load(ANY "symbolic_seq.onnx");
    b = m ? ort_cpu(m, &o) : NULL;
    be_model_free(m);
    if (!b) return;
    bi = be_get_info(b);
    CHECK(bi->fixed_batch == 2 && be_max_batch(b) == 2);
    check_tensor(&bi->input[0], "x", BE_F32, "float32 [2, 5, 8]", 0, 40);
    check_tensor(&bi->output[0], "y", BE_F32, "float32 [2, 4]", 0, 4);
    REQUIRE(be_run_io(b, ins, 2, outs) == NRPS_OK); /* the two samples above */
    for (int i = 0; i < 8; i++) CHECK_NEAR(y[i], ref_y[i], 1e-6);
    CHECK(be_run_io(b, ins, 1, NULL) == NRPS_ERR_ARG);
    be_destroy(b);

    /* seq as the batch: then 'batch' is an ordinary symbolic dim that needs a size */
    be_options s = be_options_default();
    s.batch_dim = "seq";
    check_refused("ort-cpu", ANY "symbolic_seq.onnx", &s, NRPS_ERR_ARG, "--dim batch");
    be_dim two = {"batch", 2};
    s.dims = &two, s.n_dims = 1, s.max_batch = 4;
    m = load(ANY "symbolic_seq.onnx");
    b = m ? ort_cpu(m, &s) : NULL;
    be_model_free(m);
    if (!b) return;
    bi = be_get_info(b);
    check_tensor(&bi->input[0], "x", BE_F32, "float32 [2, seq, 8]", 1, 16);
    check_tensor(&bi->output[0], "y", BE_F32, "float32 [2, 4]", -1, 8); /* the mean over seq: no batch axis */
    float x3[2 * 3 * 8];
    for (int i = 0; i < 48; i++) x3[i] = (float)((i * 5) % 7 - 3);
    const void *in3[1] = {x3};
    REQUIRE(be_run_io(b, in3, 3, NULL) == NRPS_OK);
    const void *data[BE_MAX_IO];
    long elems[BE_MAX_IO];
    REQUIRE(be_last_outputs(b, data, elems) == 1);
    CHECK(elems[0] == 8);
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 4; j++) {
            double ref = 0;
            for (int c = 0; c < 8; c++) {
                double mean = 0;
                for (int t = 0; t < 3; t++) mean += x3[r * 24 + t * 8 + c] / 3.0;
                ref += mean * SEQ_W[c * 4 + j];
            }
            CHECK_NEAR(((const float *)data[0])[r * 4 + j], ref, 1e-5);
        }
    be_destroy(b);
}

static void test_ort_batch_last(void) {
    be_options o = be_options_default();
    check_refused("ort-cpu", ANY "batch_last.onnx", &o, NRPS_ERR_ARG, "--batch-dim N");
    o.batch_dim = "nosuch";
    check_refused("ort-cpu", ANY "batch_last.onnx", &o, NRPS_ERR_ARG, "nosuch");
    o.batch_dim = "N";
    o.max_batch = 4;
    be_model *m = load(ANY "batch_last.onnx");
    be_backend *b = m ? ort_cpu(m, &o) : NULL;
    be_model_free(m);
    if (!b) return;
    const be_info *bi = be_get_info(b);
    CHECK(bi->fixed_batch == 0 && be_max_batch(b) == 4);
    check_tensor(&bi->input[0], "x", BE_F32, "float32 [6, N]", 1, 6);
    check_tensor(&bi->output[0], "y", BE_F32, "float32 [N, 2]", 0, 2);
    float x[6 * 3]; /* [6][3]: the batch is the fast axis */
    for (int i = 0; i < 18; i++) x[i] = (float)(i % 5) - 1.5f;
    const void *ins[1] = {x};
    REQUIRE(be_run_io(b, ins, 3, NULL) == NRPS_OK);
    const void *data[BE_MAX_IO];
    long elems[BE_MAX_IO];
    REQUIRE(be_last_outputs(b, data, elems) == 1);
    CHECK(elems[0] == 6);
    for (int s = 0; s < 3; s++)
        for (int j = 0; j < 2; j++) {
            double ref = 0;
            for (int i = 0; i < 6; i++) ref += x[i * 3 + s] * BL_W[i * 2 + j];
            CHECK_NEAR(((const float *)data[0])[s * 2 + j], ref, 1e-5);
        }
    be_destroy(b);
}

static void test_ort_other_models(void) {
    be_model *m = load(ANY "conv.onnx");
    be_backend *b = m ? ort_cpu(m, NULL) : NULL;
    be_model_free(m);
    if (b) {
        const be_info *bi = be_get_info(b);
        check_tensor(&bi->input[0], "image", BE_F32, "float32 [batch, 3, 8, 8]", 0, 192);
        check_tensor(&bi->output[0], "logits", BE_F32, "float32 [batch, 10]", 0, 10);
        CHECK(be_run_io(b, NULL, 2, NULL) == NRPS_OK);
        be_destroy(b);
    }
    m = load(ANY "embed_int64.onnx");
    b = m ? ort_cpu(m, NULL) : NULL;
    be_model_free(m);
    if (b) {
        const be_info *bi = be_get_info(b);
        check_tensor(&bi->input[0], "tokens", BE_I64, "int64 [batch, 16]", 0, 16);
        check_tensor(&bi->output[0], "output", BE_F32, "float32 [batch, 4]", 0, 4);
        int64_t tok[2 * 16];
        for (int i = 0; i < 32; i++) be_dtype_set(BE_I64, tok, (size_t)i, i % 10);
        const void *ins[1] = {tok};
        CHECK(be_run_io(b, ins, 2, NULL) == NRPS_OK);
        tok[5] = 10; /* out of the table: ONNX Runtime refuses the run */
        CHECK(be_run_io(b, ins, 2, NULL) == NRPS_ERR_BACKEND);
        CHECK_MSG(strstr(nrps_last_error(), "Run") != NULL, "%s", nrps_last_error());
        be_destroy(b);
    }
    m = load(ANY "two_heads_conv.onnx");
    b = m ? ort_cpu(m, NULL) : NULL;
    be_model_free(m);
    if (b) {
        const be_info *bi = be_get_info(b);
        REQUIRE(bi->n_outputs == 2);
        check_tensor(&bi->output[0], "policy", BE_F32, "float32 [batch, 9]", 0, 9);
        check_tensor(&bi->output[1], "value", BE_F32, "float32 [batch, 1]", 0, 1);
        be_destroy(b);
    }
    /* our native backends run only the dense network family */
    check_refused("native-cpu", ANY "conv.onnx", NULL, NRPS_ERR_UNSUPPORTED, "native-cpu");
    check_refused("native-ref", ANY "conv.onnx", NULL, NRPS_ERR_UNSUPPORTED, "native-ref");
    check_refused("native-cpu", ANY "dtype_float16.onnx", NULL, NRPS_ERR_UNSUPPORTED, "native-cpu");
}

/* ---- be_share: one session, two handles, two threads ---- */

enum { SH_ITERS = 200, SH_BATCH = 4 };

typedef struct {
    be_backend *b;
    int thread;
    const float *ref_logits, *ref_score; /* [SH_ITERS][SH_BATCH * 9], [SH_ITERS][SH_BATCH] */
    pthread_barrier_t *start;
    int failed_runs, mismatches;
} share_job;

/* The inputs of iteration it of thread th: different for every (thread, iteration). */
static void share_inputs(int th, int it, float *board, float *extra) {
    for (int i = 0; i < SH_BATCH * 81; i++)
        board[i] = (float)(((unsigned)(i + 31 * it + 1000 * th) * 2654435761u) % 2001) / 1000 - 1;
    for (int i = 0; i < SH_BATCH * 5; i++) extra[i] = (float)((i + it + th) % 7) / 3 - 1;
}

static void *share_worker(void *p) {
    share_job *j = p;
    float board[SH_BATCH * 81], extra[SH_BATCH * 5], logits[SH_BATCH * 9], score[SH_BATCH];
    const void *ins[2] = {board, extra};
    void *outs[2] = {logits, score};
    pthread_barrier_wait(j->start);
    for (int it = 0; it < SH_ITERS; it++) {
        share_inputs(j->thread, it, board, extra);
        if (be_run_io(j->b, ins, SH_BATCH, outs) != NRPS_OK) {
            j->failed_runs++;
            continue;
        }
        j->mismatches += memcmp(logits, j->ref_logits + it * SH_BATCH * 9, sizeof logits) != 0 ||
                         memcmp(score, j->ref_score + it * SH_BATCH, sizeof score) != 0;
    }
    return NULL;
}

/* One run of b on iteration it of thread th, compared with the reference. */
static int share_matches(be_backend *b, int th, int it, const float *ref_logits, const float *ref_score) {
    float board[SH_BATCH * 81], extra[SH_BATCH * 5], logits[SH_BATCH * 9], score[SH_BATCH];
    const void *ins[2] = {board, extra};
    void *outs[2] = {logits, score};
    share_inputs(th, it, board, extra);
    return be_run_io(b, ins, SH_BATCH, outs) == NRPS_OK &&
           !memcmp(logits, ref_logits + it * SH_BATCH * 9, sizeof logits) &&
           !memcmp(score, ref_score + it * SH_BATCH, sizeof score);
}

static void test_share_two_threads(void) {
    be_model *m = load(ANY "two_inputs.onnx");
    be_options o = be_options_default();
    o.max_batch = SH_BATCH, o.threads = 1;
    be_backend *a = m ? ort_cpu(m, &o) : NULL, *c = NULL;
    be_model_free(m);
    if (!a) return;
    REQUIRE(be_share(a, &c) == NRPS_OK && c != NULL);
    CHECK(!strcmp(be_name(c), "ort-cpu") && be_max_batch(c) == SH_BATCH);
    CHECK(!memcmp(be_get_info(c), be_get_info(a), sizeof(be_info)));
    void *ia[BE_MAX_IO], *ic[BE_MAX_IO];
    be_io_tensors(a, ia), be_io_tensors(c, ic);
    CHECK(ia[0] != ic[0] && ia[1] != ic[1] && ic[0] && ic[1]); /* its own buffers */
    /* single-threaded references, on the first handle */
    static float ref_logits[2][SH_ITERS * SH_BATCH * 9], ref_score[2][SH_ITERS * SH_BATCH];
    for (int th = 0; th < 2; th++)
        for (int it = 0; it < SH_ITERS; it++) {
            float board[SH_BATCH * 81], extra[SH_BATCH * 5];
            share_inputs(th, it, board, extra);
            const void *ins[2] = {board, extra};
            void *outs[2] = {ref_logits[th] + it * SH_BATCH * 9, ref_score[th] + it * SH_BATCH};
            REQUIRE(be_run_io(a, ins, SH_BATCH, outs) == NRPS_OK);
        }
    CHECK(memcmp(ref_logits[0], ref_logits[1], sizeof ref_logits[0]) != 0);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    share_job jobs[2] = {{a, 0, ref_logits[0], ref_score[0], &start, 0, 0},
                         {c, 1, ref_logits[1], ref_score[1], &start, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&t[i], NULL, share_worker, &jobs[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++)
        CHECK_MSG(jobs[i].failed_runs == 0 && jobs[i].mismatches == 0, "thread %d: %d failed runs, %d of %d differ",
                  i, jobs[i].failed_runs, jobs[i].mismatches, SH_ITERS);

    /* the session lives until its last handle: destroy the first, the shared one still runs */
    be_backend *d = NULL;
    REQUIRE(be_share(c, &d) == NRPS_OK); /* a share of a share: three handles */
    be_destroy(a);
    CHECK(share_matches(c, 0, 7, ref_logits[0], ref_score[0]));
    be_destroy(c);
    CHECK(share_matches(d, 1, 199, ref_logits[1], ref_score[1]));
    be_destroy(d);

    /* and the other order: the shared handle goes first */
    m = load(ANY "two_inputs.onnx");
    a = m ? ort_cpu(m, &o) : NULL;
    be_model_free(m);
    if (!a) return;
    REQUIRE(be_share(a, &c) == NRPS_OK);
    CHECK(share_matches(c, 0, 3, ref_logits[0], ref_score[0]));
    be_destroy(c);
    CHECK(share_matches(a, 1, 42, ref_logits[1], ref_score[1]));
    be_destroy(a);
}

static void test_share_native_unsupported(void) {
    be_model *m = load("models/rps_policy.onnx");
    if (!m) return;
    be_backend *b = NULL, *c = (be_backend *)1;
    REQUIRE(be_create("native-cpu", m, NULL, &b) == NRPS_OK);
    CHECK(be_share(b, &c) == NRPS_ERR_UNSUPPORTED && c == NULL);
    char path[256];
    CHECK(be_end_profiling(b, path, sizeof path) == NRPS_ERR_UNSUPPORTED);
    be_destroy(b);
    be_model_free(m);
}

/* ---- profiling and session settings ---- */

static int file_size(const char *path, long *size) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    *size = (long)st.st_size;
    return 1;
}

static void test_end_profiling(void) {
    char dir[] = "/tmp/nrps_test_tensor_XXXXXX", prefix[128], path[512] = "";
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(prefix, sizeof prefix, "%s/prof", dir);
    be_model *m = load(ANY "dtype_float16.onnx");
    be_options o = be_options_default();
    o.max_batch = 4;
    o.ort.profile_prefix = prefix;
    be_backend *b = m ? ort_cpu(m, &o) : NULL, *c = NULL;
    if (b) {
        for (int i = 0; i < 3; i++) CHECK(be_run_io(b, NULL, 1 + i, NULL) == NRPS_OK);
        REQUIRE(be_share(b, &c) == NRPS_OK);
        nrps_status rc = be_end_profiling(b, path, sizeof path);
        CHECK_MSG(rc == NRPS_OK, "%s", nrps_last_error());
        long size = 0;
        CHECK_MSG(!strncmp(path, prefix, strlen(prefix)) && file_size(path, &size) && size > 2, "profile '%s'", path);
        FILE *f = fopen(path, "r");
        if (f) {
            CHECK(fgetc(f) == '['); /* Chrome trace JSON */
            fclose(f);
        }
        char again[512];
        CHECK(be_end_profiling(b, again, sizeof again) == NRPS_ERR_UNSUPPORTED);
        CHECK(be_end_profiling(c, again, sizeof again) == NRPS_ERR_UNSUPPORTED); /* the session's, already ended */
        CHECK(be_run_io(c, NULL, 2, NULL) == NRPS_OK); /* still runs */
        be_destroy(c);
        be_destroy(b);
        if (path[0]) CHECK(remove(path) == 0);
    }
    /* not profiling */
    b = m ? ort_cpu(m, NULL) : NULL;
    if (b) {
        CHECK(be_run_io(b, NULL, 1, NULL) == NRPS_OK);
        CHECK(be_end_profiling(b, path, sizeof path) == NRPS_ERR_UNSUPPORTED);
        be_destroy(b);
    }
    be_model_free(m);
    CHECK_MSG(rmdir(dir) == 0, "%s not empty", dir);
}

/* graph_opt and optimized_model_out reach ONNX Runtime: it writes the graph at that level; the file is a model
 * that runs with the same results. */
static void test_session_settings(void) {
    char dir[] = "/tmp/nrps_test_tensor_XXXXXX", none[128], all[128];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(none, sizeof none, "%s/none.onnx", dir);
    snprintf(all, sizeof all, "%s/all.onnx", dir);
    be_model *m = load(ANY "two_heads_conv.onnx");
    REQUIRE(m != NULL);
    be_options o = be_options_default();
    o.max_batch = 2;
    o.ort.graph_opt = BE_GRAPH_OPT_NONE;
    o.ort.optimized_model_out = none;
    be_backend *b = ort_cpu(m, &o);
    long sn = 0, sa = 0;
    CHECK_MSG(file_size(none, &sn) && sn > 0, "%s not written", none);
    o.ort.graph_opt = BE_GRAPH_OPT_ALL;
    o.ort.optimized_model_out = all;
    be_backend *ball = ort_cpu(m, &o);
    CHECK_MSG(file_size(all, &sa) && sa > 0, "%s not written", all);
    be_model *mn = NULL;
    CHECK(be_model_load(none, &mn) == NRPS_OK);
    if (b && ball && mn && sn > 0 && sa > 0) {
        /* the unoptimised graph keeps every node of the original; ALL fuses some */
        size_t ln, lo;
        const void *bn = be_model_bytes(mn, &ln);
        be_model_bytes(m, &lo);
        char *fa = NULL;
        size_t la = 0;
        CHECK(nrps_read_file(all, 1 << 24, &fa, &la) == NRPS_OK);
        CHECK(la != ln || memcmp(fa, bn, la) != 0);
        free(fa);
        be_options d = be_options_default();
        d.max_batch = 2;
        be_backend *bo = ort_cpu(mn, &d);
        if (bo) {
            float x[2 * 81];
            for (int i = 0; i < 162; i++) x[i] = (float)(i % 3) - 1;
            const void *ins[1] = {x};
            float p1[18], v1[2], p2[18], v2[2], p3[18], v3[2];
            void *o1[2] = {p1, v1}, *o2[2] = {p2, v2}, *o3[2] = {p3, v3};
            CHECK(be_run_io(b, ins, 2, o1) == NRPS_OK && be_run_io(bo, ins, 2, o2) == NRPS_OK &&
                  be_run_io(ball, ins, 2, o3) == NRPS_OK);
            for (int i = 0; i < 18; i++) {
                CHECK_NEAR(p1[i], p2[i], 1e-6);
                CHECK_NEAR(p1[i], p3[i], 1e-5);
            }
            for (int i = 0; i < 2; i++) {
                CHECK_NEAR(v1[i], v2[i], 1e-6);
                CHECK_NEAR(v1[i], v3[i], 1e-5);
            }
            be_destroy(bo);
        }
    }
    be_model_free(mn);
    be_destroy(b);
    be_destroy(ball);
    remove(none), remove(all);
    CHECK_MSG(rmdir(dir) == 0, "%s not empty", dir);

    /* session config entries reach the session: ONNX Runtime parses this one as an integer when it creates the
     * session and refuses "abc". (AddSessionConfigEntry itself stores any key and value, and many keys are only
     * compared with "1": session.intra_op.allow_spinning=7, for one, is accepted silently, so it cannot show
     * whether the entry arrived.) */
    be_kv good = {"session.graph_optimizations_loop_level", "1"};
    be_kv bad = {"session.graph_optimizations_loop_level", "abc"};
    be_options c = be_options_default();
    c.ort.config = &good, c.ort.n_config = 1;
    b = ort_cpu(m, &c);
    be_destroy(b);
    c.ort.config = &bad;
    be_backend *x = (be_backend *)1;
    nrps_status rc = be_create("ort-cpu", m, &c, &x);
    CHECK_MSG(rc != NRPS_OK && x == NULL, "status %s", nrps_status_str(rc));
    CHECK_MSG(strstr(nrps_last_error(), "ort-cpu") && strstr(nrps_last_error(), "CreateSession"), "%s",
              nrps_last_error());
    /* the other settings are accepted */
    be_options s = be_options_default();
    s.ort.graph_opt = BE_GRAPH_OPT_BASIC, s.ort.no_spin = 1, s.ort.parallel = 1, s.ort.inter_threads = 2, s.threads = 2;
    b = ort_cpu(m, &s);
    if (b) {
        CHECK(be_get_info(b)->threads == 2);
        CHECK(be_run_io(b, NULL, 1, NULL) == NRPS_OK);
        be_destroy(b);
    }
    s.ort.graph_opt = BE_GRAPH_OPT_EXTENDED;
    b = ort_cpu(m, &s);
    be_destroy(b);
    be_model_free(m);
}

int main(void) {
    RUN(test_dtype_names_sizes);
    RUN(test_dtype_round_trip);
    RUN(test_dtype_native_layout);
    RUN(test_f16_all_patterns);
    RUN(test_f16_rounding_all_boundaries);
    RUN(test_f16_values);
    RUN(test_bf16_all_patterns);
    RUN(test_bf16_rounding_all_boundaries);
    RUN(test_bf16_values);
    RUN(test_f32_rounding);
    RUN(test_int_rounding_saturation);
    RUN(test_tensor_describe_elems);
    RUN(test_tensor_describe_truncation);
    RUN(test_ort_dtype_models);
    RUN(test_ort_dtype_zero_is_bias);
    RUN(test_ort_float16_inputs_rounded);
    RUN(test_ort_two_inputs);
    RUN(test_ort_fixed_batch);
    RUN(test_ort_symbolic_dim);
    RUN(test_ort_batch_last);
    RUN(test_ort_other_models);
    RUN(test_share_two_threads);
    RUN(test_share_native_unsupported);
    RUN(test_end_profiling);
    RUN(test_session_settings);
    return check_summary("tensor");
}
