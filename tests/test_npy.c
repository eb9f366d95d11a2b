/* test_npy.c - the strict .npy reader (src/util/npy.h): every dtype from hand-built byte strings, real numpy files
 * (tests/fixtures/npy/, made with numpy 1.24 np.save / np.lib.format.write_array), pipes and the size cap, and
 * malformed files, each refused with its status and one error line that starts with the label. */
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "util/npy.h"

#define FIX "tests/fixtures/npy/"

static uint8_t g_buf[1 << 18];

/* A .npy file in g_buf: magic, version major.minor, header length (2 bytes for major 1, else 4), header, data. */
static size_t mk_ver(int major, int minor, const char *header, const void *data, size_t dlen) {
    size_t hl = strlen(header), o = 0;
    memcpy(g_buf, "\x93NUMPY", 6);
    g_buf[6] = (uint8_t)major;
    g_buf[7] = (uint8_t)minor;
    o = 8;
    for (int i = 0; i < (major == 1 ? 2 : 4); i++) g_buf[o++] = (uint8_t)(hl >> (8 * i));
    memcpy(g_buf + o, header, hl);
    o += hl;
    if (dlen) memcpy(g_buf + o, data, dlen);
    return o + dlen;
}

static size_t mk(const char *header, const void *data, size_t dlen) { return mk_ver(1, 0, header, data, dlen); }

/* A header as numpy writes it for descr and shape (a shape string like "(2, 3)"). */
static const char *hdr_for(const char *descr, const char *shape) {
    static char h[256];
    snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }          \n", descr, shape);
    return h;
}

/* Parses b[n] labelled "bad.npy" and checks: status want, *out zeroed, one error line "bad.npy: ..." holding
 * needle. */
static void bad_at(int line, const void *b, size_t n, nrps_status want, const char *needle) {
    npy_array a;
    memset(&a, 0x5a, sizeof a);
    nrps_set_error("%s", "");
    nrps_status st = npy_parse(b, n, "bad.npy", &a);
    const char *e = nrps_last_error();
    CHECK_MSG(st == want, "line %d: status %d, expected %d (%s)", line, (int)st, (int)want, e);
    CHECK_MSG(!strncmp(e, "bad.npy: ", 9) && !strchr(e, '\n'), "line %d: error '%s'", line, e);
    CHECK_MSG(strstr(e, needle) != NULL, "line %d: error '%s' lacks '%s'", line, e, needle);
    CHECK_MSG(a.data == NULL && a.rank == 0 && a.n_elems == 0 && a.descr[0] == 0, "line %d: out not zeroed", line);
}
#define BAD(b, n, want, needle) bad_at(__LINE__, b, n, want, needle)
#define BAD_HDR(header, data, dlen, want, needle) BAD(g_buf, mk(header, data, dlen), want, needle)

static const struct {
    const char *descr;
    npy_dtype t;
    size_t size;
    const char *name;
} k_all[] = {
    {"<f4", NPY_F32, 4, "float32"}, {"<f2", NPY_F16, 2, "float16"}, {"<f8", NPY_F64, 8, "float64"},
    {"<i8", NPY_I64, 8, "int64"},   {"<i4", NPY_I32, 4, "int32"},   {"<i2", NPY_I16, 2, "int16"},
    {"|i1", NPY_I8, 1, "int8"},     {"|u1", NPY_U8, 1, "uint8"},    {"<u2", NPY_U16, 2, "uint16"},
    {"<u4", NPY_U32, 4, "uint32"},  {"<u8", NPY_U64, 8, "uint64"},  {"|b1", NPY_BOOL, 1, "bool"},
};

static void test_every_dtype(void) {
    for (size_t k = 0; k < sizeof k_all / sizeof k_all[0]; k++) {
        uint8_t data[3 * 8];
        for (size_t i = 0; i < sizeof data; i++) data[i] = k_all[k].t == NPY_BOOL ? (uint8_t)(i & 1) : (uint8_t)(i * 7 + 1);
        npy_array a;
        size_t n = mk(hdr_for(k_all[k].descr, "(3,)"), data, 3 * k_all[k].size);
        REQUIRE(npy_parse(g_buf, n, "t.npy", &a) == NRPS_OK);
        CHECK(a.dtype == k_all[k].t && a.elem_size == k_all[k].size && a.rank == 1 && a.shape[0] == 3);
        CHECK(a.n_elems == 3 && !strcmp(a.descr, k_all[k].descr) && !memcmp(a.data, data, 3 * k_all[k].size));
        CHECK(!strcmp(npy_dtype_name(a.dtype), k_all[k].name));
        npy_free(&a);
        CHECK(a.data == NULL && a.rank == 0);
    }
    CHECK(!strcmp(npy_dtype_name((npy_dtype)0), "unknown") && !strcmp(npy_dtype_name((npy_dtype)99), "unknown"));
}

/* 1-byte types take any byte-order character; the descr is kept as written. */
static void test_one_byte_orders(void) {
    const char *descrs[] = {"<u1", "=u1", ">i1", "<b1", "=b1", "|b1", "<i1"};
    for (size_t k = 0; k < sizeof descrs / sizeof descrs[0]; k++) {
        npy_array a;
        uint8_t d[2] = {1, 0};
        REQUIRE(npy_parse(g_buf, mk(hdr_for(descrs[k], "(2,)"), d, 2), "t.npy", &a) == NRPS_OK);
        CHECK(a.elem_size == 1 && !strcmp(a.descr, descrs[k]));
        npy_free(&a);
    }
}

/* Keys in any order, "" quotes, no trailing comma or padding, tabs; versions 2.0 and 3.0; rank 0 and 8. */
static void test_header_variants(void) {
    npy_array a;
    float f[2] = {1.5f, -2.0f};
    REQUIRE(npy_parse(g_buf, mk("{\"shape\":(1,2),\"fortran_order\":False,\"descr\":\"<f4\"}", f, 8), "t", &a) == NRPS_OK);
    CHECK(a.rank == 2 && a.shape[0] == 1 && a.shape[1] == 2 && ((float *)a.data)[1] == -2.0f);
    npy_free(&a);
    REQUIRE(npy_parse(g_buf, mk("\t{ 'fortran_order' : False ,\t'shape' : ( 2 , ) , 'descr' : '<f4' , }\n\n", f, 8),
                      "t", &a) == NRPS_OK);
    CHECK(a.rank == 1 && a.shape[0] == 2);
    npy_free(&a);
    for (int major = 2; major <= 3; major++) {
        REQUIRE(npy_parse(g_buf, mk_ver(major, 0, hdr_for("<f4", "(2,)"), f, 8), "t", &a) == NRPS_OK);
        CHECK(a.n_elems == 2 && ((float *)a.data)[0] == 1.5f);
        npy_free(&a);
    }
    double d = 0.125;
    REQUIRE(npy_parse(g_buf, mk(hdr_for("<f8", "()"), &d, 8), "t", &a) == NRPS_OK);
    CHECK(a.rank == 0 && a.n_elems == 1 && *(double *)a.data == 0.125);
    npy_free(&a);
    uint8_t b8[256] = {0};
    REQUIRE(npy_parse(g_buf, mk(hdr_for("|u1", "(2, 2, 2, 2, 2, 2, 2, 2)"), b8, 256), "t", &a) == NRPS_OK);
    CHECK(a.rank == 8 && a.n_elems == 256 && a.shape[7] == 2);
    npy_free(&a);
    REQUIRE(npy_parse(g_buf, mk(hdr_for("|u1", "(0, 9223372036854775807)"), NULL, 0), "t", &a) == NRPS_OK);
    CHECK(a.n_elems == 0 && a.data != NULL && a.shape[1] == INT64_MAX);
    npy_free(&a);
    npy_free(&a); /* twice: a zeroed struct */
}

/* Real numpy files. */
static void test_fixtures(void) {
    npy_array a;
    if (access(FIX "f4_3x81.npy", R_OK) != 0) SKIP("tests/fixtures/npy not found (run from the repository root)");
    REQUIRE(npy_load(FIX "f4_3x81.npy", 1 << 20, &a) == NRPS_OK);
    CHECK(a.dtype == NPY_F32 && a.rank == 2 && a.shape[0] == 3 && a.shape[1] == 81 && a.n_elems == 243);
    CHECK(((float *)a.data)[81 + 5] == 33.0f && ((float *)a.data)[0] == -10.0f && !strcmp(a.descr, "<f4"));
    npy_free(&a);
    REQUIRE(npy_load(FIX "f2_2x4.npy", 1 << 20, &a) == NRPS_OK);
    const uint16_t *h = a.data; /* 0, 1, -2, 0.5 / 65504, -0.25, 3.5, 0.001 */
    CHECK(a.dtype == NPY_F16 && a.elem_size == 2 && a.shape[0] == 2 && a.shape[1] == 4);
    CHECK(h[0] == 0 && h[1] == 0x3c00 && h[2] == 0xc000 && h[3] == 0x3800 && h[4] == 0x7bff && h[5] == 0xb400);
    npy_free(&a);
    REQUIRE(npy_load(FIX "i8_5.npy", 1 << 20, &a) == NRPS_OK);
    const int64_t *q = a.data;
    CHECK(a.dtype == NPY_I64 && a.n_elems == 5 && q[0] == -(INT64_C(1) << 62) && q[1] == -1 &&
          q[4] == (INT64_C(1) << 62) + 7);
    npy_free(&a);
    REQUIRE(npy_load(FIX "b1_2x2.npy", 1 << 20, &a) == NRPS_OK);
    const uint8_t *b = a.data;
    CHECK(a.dtype == NPY_BOOL && !strcmp(a.descr, "|b1") && b[0] == 1 && b[1] == 0 && b[2] == 0 && b[3] == 1);
    npy_free(&a);
    REQUIRE(npy_load(FIX "u1_4x3.npy", 1 << 20, &a) == NRPS_OK);
    b = a.data;
    CHECK(a.dtype == NPY_U8 && a.shape[0] == 4 && a.shape[1] == 3 && b[1] == 20 && b[11] == 220);
    npy_free(&a);
    REQUIRE(npy_load(FIX "f8_scalar.npy", 1 << 20, &a) == NRPS_OK);
    CHECK(a.dtype == NPY_F64 && a.rank == 0 && a.n_elems == 1 && *(double *)a.data == 3.141592653589793);
    npy_free(&a);
    REQUIRE(npy_load(FIX "f4_v2_2x3.npy", 1 << 20, &a) == NRPS_OK);
    CHECK(a.rank == 2 && a.shape[1] == 3 && ((float *)a.data)[5] == 5.25f);
    npy_free(&a);
    REQUIRE(npy_load(FIX "i2_v3_4.npy", 1 << 20, &a) == NRPS_OK);
    CHECK(a.dtype == NPY_I16 && ((int16_t *)a.data)[0] == -32768 && ((int16_t *)a.data)[3] == 32767);
    npy_free(&a);
    REQUIRE(npy_load(FIX "f4_0x81.npy", 1 << 20, &a) == NRPS_OK);
    CHECK(a.rank == 2 && a.shape[0] == 0 && a.shape[1] == 81 && a.n_elems == 0 && a.data != NULL);
    npy_free(&a);
}

/* numpy's own Fortran-order and big-endian files are refused by name. */
static void test_fixtures_refused(void) {
    npy_array a;
    if (access(FIX "bad_fortran_3x2.npy", R_OK) != 0) SKIP("tests/fixtures/npy not found");
    CHECK(npy_load(FIX "bad_fortran_3x2.npy", 1 << 20, &a) == NRPS_ERR_UNSUPPORTED && a.data == NULL);
    CHECK(strstr(nrps_last_error(), FIX "bad_fortran_3x2.npy: Fortran order is not supported; save with "
                                        "np.ascontiguousarray") == nrps_last_error());
    CHECK(npy_load(FIX "bad_bigendian_f4_3.npy", 1 << 20, &a) == NRPS_ERR_UNSUPPORTED);
    CHECK(strstr(nrps_last_error(), "big-endian descr '>f4'") && strstr(nrps_last_error(), "astype('<f4')"));
}

/* Writes b[n] to path; 0 on success. */
static int write_file(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Writes what to a FIFO from a child process while npy_load reads it. */
static nrps_status load_via_fifo(const void *what, size_t n, size_t max_bytes, npy_array *a) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_npy_fifo.%d", (int)getpid());
    unlink(path);
    if (mkfifo(path, 0600) != 0) return NRPS_ERR_IO;
    pid_t pid = fork();
    if (pid == 0) {
        _exit(write_file(path, what, n) == 0 ? 0 : 1);
    }
    nrps_status st = npy_load(path, max_bytes, a);
    int ws;
    waitpid(pid, &ws, 0);
    unlink(path);
    return st;
}

/* A FIFO (more than one pipe buffer of data), a regular file of exactly max_bytes, one byte more, a directory. */
static void test_load_pipe_and_cap(void) {
    static uint8_t d[100000];
    for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)i;
    size_t n = mk(hdr_for("|u1", "(100000,)"), d, sizeof d);
    npy_array a;
    REQUIRE(load_via_fifo(g_buf, n, n, &a) == NRPS_OK);
    CHECK(a.n_elems == sizeof d && !memcmp(a.data, d, sizeof d));
    npy_free(&a);
    CHECK(load_via_fifo(g_buf, n, n - 1, &a) == NRPS_ERR_FORMAT && a.data == NULL);
    CHECK(strstr(nrps_last_error(), ": file is more than the ") != NULL && !strchr(nrps_last_error(), '\n'));
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_npy_file.%d.npy", (int)getpid());
    REQUIRE(write_file(path, g_buf, n) == 0);
    CHECK(npy_load(path, n, &a) == NRPS_OK && a.n_elems == sizeof d);
    npy_free(&a);
    CHECK(npy_load(path, n - 1, &a) == NRPS_ERR_FORMAT && a.data == NULL);
    CHECK(strncmp(nrps_last_error(), path, strlen(path)) == 0 && strstr(nrps_last_error(), "more than the"));
    unlink(path);
    CHECK(npy_load(path, n, &a) == NRPS_ERR_IO && strstr(nrps_last_error(), "cannot open"));
    CHECK(npy_load("/tmp", n, &a) == NRPS_ERR_IO && strstr(nrps_last_error(), "/tmp: is a directory"));
}

static void test_bad_preamble(void) {
    const char *h = hdr_for("<f4", "(1,)");
    float f = 1;
    size_t n = mk(h, &f, 4);
    BAD(g_buf, 0, NRPS_ERR_FORMAT, "not a .npy file");
    BAD(NULL, 0, NRPS_ERR_FORMAT, "not a .npy file");
    BAD("\x93NUMPZ\x01\x00", 8, NRPS_ERR_FORMAT, "expected the magic bytes \\x93NUMPY");
    BAD("PK\x03\x04 zip", 8, NRPS_ERR_FORMAT, "not a .npy file");
    BAD(g_buf, 7, NRPS_ERR_FORMAT, "ends inside the .npy version");
    BAD(g_buf, 9, NRPS_ERR_FORMAT, "shorter than the 10-byte preamble");
    BAD(g_buf, mk_ver(4, 0, h, &f, 4), NRPS_ERR_UNSUPPORTED, "unsupported .npy format version 4.0 (expected 1.0, 2.0 or 3.0)");
    BAD(g_buf, mk_ver(1, 1, h, &f, 4), NRPS_ERR_UNSUPPORTED, "version 1.1");
    BAD(g_buf, mk_ver(0, 0, h, &f, 4), NRPS_ERR_UNSUPPORTED, "version 0.0");
    BAD(g_buf, 11, NRPS_ERR_UNSUPPORTED, "version 0.0"); /* still 0.0 in g_buf */
    n = mk(h, &f, 4);
    g_buf[8] = 0xff, g_buf[9] = 0x7f; /* header length 32767 */
    BAD(g_buf, n, NRPS_ERR_FORMAT, "header length 32767 runs past the end of the file");
    n = mk_ver(2, 0, h, &f, 4);
    g_buf[11] = 0x80; /* 2 GiB */
    BAD(g_buf, n, NRPS_ERR_FORMAT, "runs past the end of the file");
    n = mk_ver(2, 0, h, &f, 4);
    BAD(g_buf, 11, NRPS_ERR_FORMAT, "shorter than the 12-byte preamble of a version 2.0 file");
}

static void test_bad_keys(void) {
    BAD_HDR("{'descr': '<f4', 'fortran_order': False}", NULL, 0, NRPS_ERR_FORMAT, "header lacks the key 'shape'");
    BAD_HDR("{'descr': '<f4', 'shape': (1,)}", NULL, 0, NRPS_ERR_FORMAT, "header lacks the key 'fortran_order'");
    BAD_HDR("{'shape': (), 'fortran_order': False}", NULL, 0, NRPS_ERR_FORMAT, "header lacks the key 'descr'");
    BAD_HDR("{}", NULL, 0, NRPS_ERR_FORMAT, "header lacks the key");
    BAD_HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}", NULL, 0, NRPS_ERR_FORMAT,
            "unexpected key 'extra' (expected only 'descr', 'fortran_order' and 'shape')");
    BAD_HDR("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", NULL, 0, NRPS_ERR_FORMAT,
            "key 'descr' appears twice");
    BAD_HDR("{'Shape': ()}", NULL, 0, NRPS_ERR_FORMAT, "unexpected key 'Shape'");
    BAD_HDR("{descr: '<f4'}", NULL, 0, NRPS_ERR_FORMAT, "expected a quoted key or '}' at header byte 1, found 'd'");
}

static void test_bad_syntax(void) {
    float f = 0;
    BAD_HDR("", NULL, 0, NRPS_ERR_FORMAT, "expected '{' opening the header dict at header byte 0, found the end");
    BAD_HDR("['descr']", NULL, 0, NRPS_ERR_FORMAT, "expected '{'");
    BAD_HDR("{'descr' '<f4'}", NULL, 0, NRPS_ERR_FORMAT, "expected ':' after the key");
    BAD_HDR("{'descr': '<f4' 'fortran_order': False}", NULL, 0, NRPS_ERR_FORMAT, "expected ',' or '}' after a header entry");
    BAD_HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", &f, 4, NRPS_ERR_FORMAT,
            "expected ',' or '}' after a header entry at header byte 54, found the end of the header");
    BAD_HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", &f, 4, NRPS_ERR_FORMAT,
            "expected only spaces and a line break after the header's '}'");
    size_t n = mk("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}  ", &f, 4);
    g_buf[n - 5] = 0; /* a NUL in the padding */
    BAD(g_buf, n, NRPS_ERR_FORMAT, "after the header's '}' at header byte 56, found byte 0x00");
    BAD_HDR("{'descr': '<f4, 'fortran_order': False}", NULL, 0, NRPS_ERR_UNSUPPORTED, "unsupported descr '<f4, '");
    BAD_HDR("{'descr': '<f4", NULL, 0, NRPS_ERR_FORMAT, "expected the string's closing quote");
    BAD_HDR("{'descr': '\\x3cf4'}", NULL, 0, NRPS_ERR_FORMAT, "a string without escapes");
    BAD_HDR("{'descr\n': 1}", NULL, 0, NRPS_ERR_FORMAT, "a string without escapes or line breaks");
    BAD_HDR("{'descr': '<f4', 'fortran_order': false, 'shape': ()}", NULL, 0, NRPS_ERR_FORMAT,
            "expected False for fortran_order");
    BAD_HDR("{'descr': '<f4', 'fortran_order': Falsey, 'shape': ()}", NULL, 0, NRPS_ERR_FORMAT, "False for fortran_order");
    BAD_HDR("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", NULL, 0, NRPS_ERR_FORMAT, "False for fortran_order");
    BAD_HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\x80", &f, 4, NRPS_ERR_FORMAT, "found byte 0x80");
}

static void test_bad_fortran_and_descr(void) {
    BAD_HDR("{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}", "abcd", 4, NRPS_ERR_UNSUPPORTED,
            "bad.npy: Fortran order is not supported; save with np.ascontiguousarray");
    float f = 0;
    BAD_HDR(hdr_for(">f4", "(1,)"), &f, 4, NRPS_ERR_UNSUPPORTED,
            "big-endian descr '>f4' is not supported; save little-endian data (arr.astype('<f4'))");
    BAD_HDR(hdr_for(">i8", "(1,)"), &f, 4, NRPS_ERR_UNSUPPORTED, "big-endian descr '>i8'");
    BAD_HDR(hdr_for("=f4", "(1,)"), &f, 4, NRPS_ERR_UNSUPPORTED, "descr '=f4' has no explicit byte order; expected '<f4'");
    BAD_HDR(hdr_for("|u2", "(1,)"), &f, 4, NRPS_ERR_UNSUPPORTED, "expected '<u2'");
    const char *unknown[] = {"<c8", "|S4", "|O", "<U3", "f4", "<f4 ", "<f16", "", "<i1x", "<b2", "xf4"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "unsupported descr '%s' (expected one of <f4 <f2", unknown[i]);
        BAD_HDR(hdr_for(unknown[i], "(1,)"), &f, 4, NRPS_ERR_UNSUPPORTED, want);
    }
    BAD_HDR("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", &f, 4, NRPS_ERR_UNSUPPORTED,
            "structured dtype");
    BAD_HDR("{'descr': 5, 'fortran_order': False, 'shape': (1,)}", &f, 4, NRPS_ERR_FORMAT, "expected the descr string");
}

static void test_bad_shape(void) {
    float f[4] = {0};
    BAD_HDR(hdr_for("<f4", "(-1,)"), f, 4, NRPS_ERR_FORMAT, "is negative; expected an int >= 0");
    BAD_HDR(hdr_for("<f4", "(2, -3)"), f, 4, NRPS_ERR_FORMAT, "negative");
    BAD_HDR(hdr_for("<f4", "(3.0,)"), f, 4, NRPS_ERR_FORMAT, "is not a plain decimal int");
    BAD_HDR(hdr_for("<f4", "(1e3,)"), f, 4, NRPS_ERR_FORMAT, "not a plain decimal int");
    BAD_HDR(hdr_for("<f4", "(0x3,)"), f, 4, NRPS_ERR_FORMAT, "not a plain decimal int");
    BAD_HDR(hdr_for("<f4", "(3L,)"), f, 4, NRPS_ERR_FORMAT, "not a plain decimal int");
    BAD_HDR(hdr_for("<f4", "(01,)"), f, 4, NRPS_ERR_FORMAT, "not a plain decimal int");
    BAD_HDR(hdr_for("<f4", "('3',)"), f, 4, NRPS_ERR_FORMAT, "expected a shape dimension (an int >= 0) or ')'");
    BAD_HDR(hdr_for("<f4", "(+3,)"), f, 4, NRPS_ERR_FORMAT, "expected a shape dimension");
    BAD_HDR(hdr_for("<f4", "(1,,)"), f, 4, NRPS_ERR_FORMAT, "expected a shape dimension");
    BAD_HDR(hdr_for("<f4", "(,)"), f, 4, NRPS_ERR_FORMAT, "expected a shape dimension");
    BAD_HDR(hdr_for("<f4", "(1 2)"), f, 4, NRPS_ERR_FORMAT, "expected ',' or ')' in the shape tuple");
    BAD_HDR(hdr_for("<f4", "(1"), f, 4, NRPS_ERR_FORMAT, "expected a shape dimension (an int >= 0) or ')' at header byte 54, found '}'");
    BAD_HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1", f, 4, NRPS_ERR_FORMAT,
            "expected ',' or ')' in the shape tuple at header byte 52, found the end of the header");
    BAD_HDR(hdr_for("<f4", "[1]"), f, 4, NRPS_ERR_FORMAT, "expected '(' opening the shape tuple");
    BAD_HDR(hdr_for("<f4", "1"), f, 4, NRPS_ERR_FORMAT, "expected '(' opening the shape tuple");
    BAD_HDR(hdr_for("<f4", "(1)"), f, 4, NRPS_ERR_FORMAT, "shape (1) is not a tuple; a 1-D shape is written (1,)");
    BAD_HDR(hdr_for("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), f, 4, NRPS_ERR_UNSUPPORTED, "shape has more than 8 dimensions");
    BAD_HDR(hdr_for("<f4", "(9223372036854775808,)"), f, 4, NRPS_ERR_FORMAT, "is larger than 9223372036854775807");
    BAD_HDR(hdr_for("<f4", "(99999999999999999999999,)"), f, 4, NRPS_ERR_FORMAT, "is larger than");
}

static void test_bad_sizes(void) {
    float f[8] = {0};
    BAD_HDR(hdr_for("<f4", "(4294967296, 4294967296, 2)"), f, 4, NRPS_ERR_FORMAT,
            "shape (4294967296, 4294967296, 2) of float32 is too large: its byte size overflows");
    BAD_HDR(hdr_for("<f8", "(2305843009213693952,)"), f, 4, NRPS_ERR_FORMAT, "shape (2305843009213693952,) of float64 is too large");
    BAD_HDR(hdr_for("|u1", "(9223372036854775807, 9223372036854775807, 0)"), f, 4, NRPS_ERR_FORMAT, "overflows");
    BAD_HDR(hdr_for("<f4", "(2, 3)"), f, 20, NRPS_ERR_FORMAT, "data is truncated: 20 bytes, expected 24 for shape (2, 3) of float32");
    BAD_HDR(hdr_for("<f4", "()"), f, 0, NRPS_ERR_FORMAT, "data is truncated: 0 bytes, expected 4 for shape () of float32");
    BAD_HDR(hdr_for("<f2", "(3,)"), f, 8, NRPS_ERR_FORMAT, "2 trailing bytes after the 6 data bytes of shape (3,) of float16");
    BAD_HDR(hdr_for("<f4", "(0, 81)"), f, 1, NRPS_ERR_FORMAT, "1 trailing byte after the 0 data bytes of shape (0, 81)");
    BAD_HDR(hdr_for("|b1", "(2, 2)"), "\1\0\2\1", 4, NRPS_ERR_FORMAT, "bool element 2 is 2, expected 0 or 1");
    BAD_HDR(hdr_for("|b1", "(1,)"), "\xff", 1, NRPS_ERR_FORMAT, "bool element 0 is 255");
}

/* The real fixtures cut short or padded are refused too. */
static void test_fixture_damage(void) {
    FILE *fp = fopen(FIX "f4_3x81.npy", "rb");
    if (!fp) SKIP("tests/fixtures/npy not found");
    size_t n = fread(g_buf, 1, sizeof g_buf, fp);
    fclose(fp);
    REQUIRE(n == 128 + 243 * 4);
    BAD(g_buf, n - 1, NRPS_ERR_FORMAT, "data is truncated: 971 bytes, expected 972 for shape (3, 81) of float32");
    BAD(g_buf, 100, NRPS_ERR_FORMAT, "header length 118 runs past the end of the file (90 bytes after the preamble)");
    g_buf[n] = 0;
    BAD(g_buf, n + 1, NRPS_ERR_FORMAT, "1 trailing byte after the 972 data bytes");
    for (size_t cut = 0; cut < n; cut++) { /* every prefix fails cleanly */
        npy_array a;
        CHECK(npy_parse(g_buf, cut, "cut", &a) != NRPS_OK && a.data == NULL && !strchr(nrps_last_error(), '\n'));
    }
}

/* npy_write then npy_load: the same dtype, shape and bytes for every dtype and ranks 0, 1 and 3; the header padded as
 * numpy pads it; a bad rank or a missing folder refused with one line naming the file and nothing written. */
static void test_write_round_trip(void) {
    char dir[] = "/tmp/nrps_npy_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/w.npy", dir);
    uint8_t src[2 * 3 * 4 * 8];
    for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 37 + 11) & 0x7f;
    for (size_t k = 0; k < sizeof k_all / sizeof k_all[0]; k++) {
        if (k_all[k].t == NPY_BOOL) for (size_t i = 0; i < sizeof src; i++) src[i] &= 1;
        int64_t shapes[3][3] = {{0}, {5}, {2, 3, 4}};
        int ranks[3] = {0, 1, 3};
        for (int s = 0; s < 3; s++) {
            CHECK_MSG(npy_write(path, k_all[k].t, ranks[s], shapes[s], src) == NRPS_OK, "%s rank %d: %s", k_all[k].name,
                      ranks[s], nrps_last_error());
            npy_array a;
            CHECK_MSG(npy_load(path, 1 << 20, &a) == NRPS_OK, "%s rank %d reads back: %s", k_all[k].name, ranks[s],
                      nrps_last_error());
            size_t n = 1;
            for (int d = 0; d < ranks[s]; d++) n *= (size_t)shapes[s][d];
            CHECK(a.dtype == k_all[k].t && a.rank == ranks[s] && a.n_elems == n);
            for (int d = 0; d < ranks[s]; d++) CHECK(a.shape[d] == shapes[s][d]);
            CHECK_MSG(a.data && !memcmp(a.data, src, n * k_all[k].size), "%s rank %d: same bytes", k_all[k].name, ranks[s]);
            npy_free(&a);
            struct stat sb;
            CHECK(stat(path, &sb) == 0 && (sb.st_size - (off_t)(n * k_all[k].size)) % 64 == 0);
        }
    }
    char missing[96];
    snprintf(missing, sizeof missing, "%s/no/such/x.npy", dir);
    int64_t one = 1;
    CHECK(npy_write(missing, NPY_F32, 1, &one, src) == NRPS_ERR_IO);
    CHECK(strstr(nrps_last_error(), missing) != NULL && !strchr(nrps_last_error(), '\n'));
    CHECK(npy_write(path, NPY_F32, 9, &one, src) == NRPS_ERR_ARG && strstr(nrps_last_error(), path));
    int64_t neg = -1;
    CHECK(npy_write(path, NPY_F32, 1, &neg, src) == NRPS_ERR_ARG);
    unlink(path);
    CHECK(rmdir(dir) == 0); /* nothing else (no temp file) was left there */
}

int main(void) {
    RUN(test_write_round_trip);
    RUN(test_every_dtype);
    RUN(test_one_byte_orders);
    RUN(test_header_variants);
    RUN(test_fixtures);
    RUN(test_fixtures_refused);
    RUN(test_load_pipe_and_cap);
    RUN(test_bad_preamble);
    RUN(test_bad_keys);
    RUN(test_bad_syntax);
    RUN(test_bad_fortran_and_descr);
    RUN(test_bad_shape);
    RUN(test_bad_sizes);
    RUN(test_fixture_damage);
    return check_summary("npy");
}
