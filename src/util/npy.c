/* npy.c - strict NumPy .npy reader (see npy.h). The file is: the magic "\x93NUMPY", a major and a minor version
 * byte, the header length (uint16 LE for 1.0, uint32 LE for 2.0 / 3.0), the header (a Python dict literal padded
 * with spaces and ended by '\n') and the raw data. */
#include "util/npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The dtypes we read, indexed by npy_dtype - 1. */
typedef struct {
    const char *code; /* descr without its byte-order character */
    size_t size;
    const char *name;
} dtype_info;

static const dtype_info k_types[] = {
    {"f4", 4, "float32"}, {"f2", 2, "float16"}, {"f8", 8, "float64"}, {"i8", 8, "int64"},
    {"i4", 4, "int32"},   {"i2", 2, "int16"},   {"i1", 1, "int8"},    {"u1", 1, "uint8"},
    {"u2", 2, "uint16"},  {"u4", 4, "uint32"},  {"u8", 8, "uint64"},  {"b1", 1, "bool"},
};
#define N_TYPES (sizeof k_types / sizeof k_types[0])
#define DESCR_LIST "<f4 <f2 <f8 <i8 <i4 <i2 |i1 |u1 <u2 <u4 <u8 |b1"

const char *npy_dtype_name(npy_dtype t) {
    return t >= NPY_F32 && t <= NPY_BOOL ? k_types[t - 1].name : "unknown";
}

/* Sets "label: <message>" and returns st. */
static nrps_status fail(nrps_status st, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static nrps_status fail(nrps_status st, const char *label, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nrps_set_error("%s: %s", label, msg);
    return st;
}

/* ---- preamble ---- */

/* Checks magic, version and header length; *hdr_off, *hdr_len: where the header lies in b[len]. */
static nrps_status read_preamble(const uint8_t *b, size_t len, const char *label, size_t *hdr_off, size_t *hdr_len) {
    if (len < 6 || memcmp(b, "\x93NUMPY", 6) != 0)
        return fail(NRPS_ERR_FORMAT, label, "not a .npy file: expected the magic bytes \\x93NUMPY at the start");
    if (len < 8) return fail(NRPS_ERR_FORMAT, label, "file is %zu bytes and ends inside the .npy version", len);
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return fail(NRPS_ERR_UNSUPPORTED, label, "unsupported .npy format version %u.%u (expected 1.0, 2.0 or 3.0)",
                    major, minor);
    size_t pre = major == 1 ? 10 : 12;
    if (len < pre)
        return fail(NRPS_ERR_FORMAT, label,
                    "file is %zu bytes, shorter than the %zu-byte preamble of a version %u.0 file",
                    len, pre, major);
    size_t hl = major == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                           : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (hl > len - pre)
        return fail(NRPS_ERR_FORMAT, label,
                    "header length %zu runs past the end of the file (%zu byte%s after the preamble)",
                    hl, len - pre, len - pre == 1 ? "" : "s");
    *hdr_off = pre;
    *hdr_len = hl;
    return NRPS_OK;
}

/* ---- header: a Python dict literal ---- */

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

typedef struct {
    const char *label;
    const char *start, *p, *end; /* the header text and the cursor in it */
    int seen;                    /* KEY_* bits of the keys read so far */
    npy_array *a;                /* dtype, elem_size, descr, rank and shape are filled in */
} hdr;

static void skip_ws(hdr *h) {
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}

/* A syntax error at the cursor: "expected <what>", with what was found there. */
static nrps_status syntax(hdr *h, const char *what) {
    char found[32];
    unsigned char c = h->p < h->end ? (unsigned char)*h->p : 0;
    if (h->p >= h->end) snprintf(found, sizeof found, "the end of the header");
    else if (c >= 0x20 && c < 0x7f) snprintf(found, sizeof found, "'%c'", c);
    else snprintf(found, sizeof found, "byte 0x%02x", c);
    return fail(NRPS_ERR_FORMAT, h->label, "header: expected %s at header byte %td, found %s", what,
                h->p - h->start, found);
}

static nrps_status expect(hdr *h, char c, const char *what) {
    skip_ws(h);
    if (h->p >= h->end || *h->p != c) return syntax(h, what);
    h->p++;
    return NRPS_OK;
}

/* A '...' or "..." literal without escapes or newlines; *s, *n: its contents (inside the header). */
static nrps_status read_str(hdr *h, const char *what, const char **s, size_t *n) {
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return syntax(h, what);
    char q = *h->p++;
    const char *b = h->p;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || *h->p == '\n') return syntax(h, "a string without escapes or line breaks");
        h->p++;
    }
    if (h->p >= h->end) return syntax(h, "the string's closing quote");
    *s = b;
    *n = (size_t)(h->p - b);
    h->p++;
    return NRPS_OK;
}

static int is_ident_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The descr value: one of DESCR_LIST; 1-byte types take any byte-order character. */
static nrps_status parse_descr(hdr *h) {
    skip_ws(h);
    if (h->p < h->end && *h->p == '[')
        return fail(NRPS_ERR_UNSUPPORTED, h->label,
                    "descr is a structured dtype (a list); expected a plain type like '<f4'");
    const char *s;
    size_t n;
    nrps_status st = read_str(h, "the descr string, e.g. '<f4'", &s, &n);
    if (st != NRPS_OK) return st;
    const dtype_info *t = NULL;
    for (size_t i = 0; n == 3 && i < N_TYPES; i++)
        if (memcmp(s + 1, k_types[i].code, 2) == 0 && s[0] && strchr("<>=|", s[0])) t = &k_types[i];
    if (!t)
        return fail(NRPS_ERR_UNSUPPORTED, h->label, "unsupported descr '%.*s' (expected one of " DESCR_LIST ")",
                    n > 24 ? 24 : (int)n, s);
    if (t->size > 1 && s[0] == '>')
        return fail(NRPS_ERR_UNSUPPORTED, h->label,
                    "big-endian descr '%.3s' is not supported; save little-endian data (arr.astype('<%s'))", s,
                    t->code);
    if (t->size > 1 && s[0] != '<')
        return fail(NRPS_ERR_UNSUPPORTED, h->label, "descr '%.3s' has no explicit byte order; expected '<%s'", s,
                    t->code);
    h->a->dtype = (npy_dtype)(t - k_types + 1);
    h->a->elem_size = t->size;
    memcpy(h->a->descr, s, 3);
    h->a->descr[3] = 0;
    return NRPS_OK;
}

/* The fortran_order value: False (True is refused). */
static nrps_status parse_fortran(hdr *h) {
    skip_ws(h);
    size_t left = (size_t)(h->end - h->p);
    int is_true = left >= 4 && memcmp(h->p, "True", 4) == 0 && (left == 4 || !is_ident_char(h->p[4]));
    int is_false = left >= 5 && memcmp(h->p, "False", 5) == 0 && (left == 5 || !is_ident_char(h->p[5]));
    if (is_true)
        return fail(NRPS_ERR_UNSUPPORTED, h->label, "Fortran order is not supported; save with np.ascontiguousarray");
    if (!is_false) return syntax(h, "False for fortran_order");
    h->p += 5;
    return NRPS_OK;
}

/* One shape dimension: a decimal int without sign or leading zeros, at most INT64_MAX. */
static nrps_status parse_dim(hdr *h, int64_t *out) {
    skip_ws(h);
    if (h->p < h->end && *h->p == '-')
        return fail(NRPS_ERR_FORMAT, h->label,
                    "header: shape dimension at header byte %td is negative; expected an int >= 0",
                    h->p - h->start);
    const char *b = h->p;
    uint64_t v = 0;
    for (; h->p < h->end && *h->p >= '0' && *h->p <= '9'; h->p++) {
        unsigned d = (unsigned)(*h->p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return fail(NRPS_ERR_FORMAT, h->label, "header: shape dimension at header byte %td is larger than %lld",
                        b - h->start, (long long)INT64_MAX);
        v = v * 10 + d;
    }
    if (h->p == b) return syntax(h, "a shape dimension (an int >= 0) or ')'");
    if ((h->p < h->end && (is_ident_char(*h->p) || *h->p == '.')) || (*b == '0' && h->p - b > 1))
        return fail(NRPS_ERR_FORMAT, h->label, "header: shape dimension at header byte %td is not a plain decimal int",
                    b - h->start);
    *out = (int64_t)v;
    return NRPS_OK;
}

/* The shape value: (), (n,) or (n, m, ...) with an optional trailing comma, at most NPY_MAX_RANK ints. */
static nrps_status parse_shape(hdr *h) {
    nrps_status st = expect(h, '(', "'(' opening the shape tuple");
    int rank = 0, comma = 0;
    for (skip_ws(h); st == NRPS_OK && !(h->p < h->end && *h->p == ')');) {
        if (rank == NPY_MAX_RANK)
            return fail(NRPS_ERR_UNSUPPORTED, h->label, "shape has more than %d dimensions", NPY_MAX_RANK);
        st = parse_dim(h, &h->a->shape[rank]);
        if (st != NRPS_OK) return st;
        rank++;
        skip_ws(h);
        comma = h->p < h->end && *h->p == ',';
        if (comma) {
            h->p++;
            skip_ws(h);
        } else if (!(h->p < h->end && *h->p == ')')) return syntax(h, "',' or ')' in the shape tuple");
    }
    if (st != NRPS_OK) return st;
    h->p++;
    if (rank == 1 && !comma)
        return fail(NRPS_ERR_FORMAT, h->label, "header: shape (%lld) is not a tuple; a 1-D shape is written (%lld,)",
                    (long long)h->a->shape[0], (long long)h->a->shape[0]);
    h->a->rank = rank;
    return NRPS_OK;
}

/* key: value, for one of the three keys, each at most once. */
static nrps_status parse_entry(hdr *h) {
    const char *k;
    size_t n;
    nrps_status st = read_str(h, "a quoted key or '}'", &k, &n);
    if (st != NRPS_OK) return st;
    int key = n == 5 && !memcmp(k, "descr", 5) ? KEY_DESCR
            : n == 13 && !memcmp(k, "fortran_order", 13) ? KEY_FORTRAN
            : n == 5 && !memcmp(k, "shape", 5) ? KEY_SHAPE : 0;
    if (!key)
        return fail(NRPS_ERR_FORMAT, h->label,
                    "header: unexpected key '%.*s' (expected only 'descr', 'fortran_order' and 'shape')",
                    n > 32 ? 32 : (int)n, k);
    if (h->seen & key) return fail(NRPS_ERR_FORMAT, h->label, "header: key '%.*s' appears twice", (int)n, k);
    h->seen |= key;
    if ((st = expect(h, ':', "':' after the key")) != NRPS_OK) return st;
    return key == KEY_DESCR ? parse_descr(h) : key == KEY_FORTRAN ? parse_fortran(h) : parse_shape(h);
}

/* The whole header: { entries [,] } then only whitespace; all three keys present. */
static nrps_status parse_header(const char *label, const char *text, size_t len, npy_array *a) {
    hdr h = {label, text, text, text + len, 0, a};
    nrps_status st = expect(&h, '{', "'{' opening the header dict");
    for (skip_ws(&h); st == NRPS_OK && !(h.p < h.end && *h.p == '}'); skip_ws(&h)) {
        if ((st = parse_entry(&h)) != NRPS_OK) return st;
        skip_ws(&h);
        if (h.p < h.end && *h.p == ',') h.p++;
        else if (!(h.p < h.end && *h.p == '}')) return syntax(&h, "',' or '}' after a header entry");
    }
    if (st != NRPS_OK) return st;
    h.p++;
    skip_ws(&h);
    if (h.p != h.end) return syntax(&h, "only spaces and a line break after the header's '}'");
    static const char *const names[] = {"descr", "fortran_order", "shape"};
    for (int i = 0; i < 3; i++)
        if (!(h.seen & (1 << i)))
            return fail(NRPS_ERR_FORMAT, label,
                        "header lacks the key '%s' (expected 'descr', 'fortran_order' and 'shape')",
                        names[i]);
    return NRPS_OK;
}

/* ---- data ---- */

/* "(3, 81)", "(5,)" or "()". */
static void shape_str(const npy_array *a, char *buf, size_t cap) {
    size_t o = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < a->rank && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, a->rank == 1 ? ",)" : ")");
}

/* a->n_elems from the shape; *bytes = n_elems * elem_size. Like numpy, refuses a shape where the product of the
 * nonzero dimensions times elem_size overflows (size_t), even when another dimension is 0. */
static nrps_status count_elems(const char *label, npy_array *a, size_t *bytes) {
    size_t n = 1, max = SIZE_MAX / a->elem_size;
    int zero = 0, over = 0;
    for (int i = 0; i < a->rank; i++) {
        uint64_t d = (uint64_t)a->shape[i];
        if (d == 0) zero = 1;
        else if (d > max / n) over = 1;
        else n *= (size_t)d;
    }
    if (over) {
        char s[256];
        shape_str(a, s, sizeof s);
        return fail(NRPS_ERR_FORMAT, label, "shape %s of %s is too large: its byte size overflows", s,
                    npy_dtype_name(a->dtype));
    }
    a->n_elems = zero ? 0 : n;
    *bytes = a->n_elems * a->elem_size;
    return NRPS_OK;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
/* The file is little-endian: reverse each element's bytes on a big-endian host. */
static void to_host(npy_array *a) {
    uint8_t *p = a->data;
    for (size_t i = 0; a->elem_size > 1 && i < a->n_elems; i++, p += a->elem_size)
        for (size_t j = 0; j < a->elem_size / 2; j++) {
            uint8_t t = p[j];
            p[j] = p[a->elem_size - 1 - j];
            p[a->elem_size - 1 - j] = t;
        }
}
#else
static void to_host(npy_array *a) { (void)a; }
#endif

/* Checks that d[have] is exactly the array's data (bools 0 or 1) and copies it into a->data. */
static nrps_status take_data(const char *label, const uint8_t *d, size_t have, npy_array *a) {
    size_t need = 0;
    nrps_status st = count_elems(label, a, &need);
    if (st != NRPS_OK) return st;
    char s[256];
    shape_str(a, s, sizeof s);
    if (have < need)
        return fail(NRPS_ERR_FORMAT, label, "data is truncated: %zu byte%s, expected %zu for shape %s of %s", have,
                    have == 1 ? "" : "s", need, s, npy_dtype_name(a->dtype));
    if (have > need)
        return fail(NRPS_ERR_FORMAT, label, "%zu trailing byte%s after the %zu data byte%s of shape %s of %s",
                    have - need, have - need == 1 ? "" : "s", need, need == 1 ? "" : "s", s, npy_dtype_name(a->dtype));
    for (size_t i = 0; a->dtype == NPY_BOOL && i < need; i++)
        if (d[i] > 1) return fail(NRPS_ERR_FORMAT, label, "bool element %zu is %u, expected 0 or 1", i, (unsigned)d[i]);
    a->data = malloc(need ? need : 1);
    if (!a->data) return fail(NRPS_ERR_NOMEM, label, "out of memory for %zu data bytes", need);
    if (need) memcpy(a->data, d, need);
    to_host(a);
    return NRPS_OK;
}

nrps_status npy_parse(const void *buf, size_t len, const char *label, npy_array *out) {
    memset(out, 0, sizeof *out);
    if (!label) label = "(buffer)";
    const uint8_t *b = buf ? buf : (const uint8_t *)"";
    if (!buf) len = 0;
    size_t off = 0, hl = 0;
    npy_array a;
    memset(&a, 0, sizeof a);
    nrps_status st = read_preamble(b, len, label, &off, &hl);
    if (st == NRPS_OK) st = parse_header(label, (const char *)b + off, hl, &a);
    if (st == NRPS_OK) st = take_data(label, b + off + hl, len - off - hl, &a);
    if (st != NRPS_OK) {
        free(a.data);
        return st;
    }
    *out = a;
    return NRPS_OK;
}

/* ---- files ---- */

/* Reads all of path (any readable file type but a directory) into a malloc'd buffer; more than max_bytes is
 * refused without reading past max_bytes + 1. */
static nrps_status read_capped(const char *path, size_t max_bytes, uint8_t **data, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail(NRPS_ERR_IO, path, "cannot open: %s", strerror(errno));
    struct stat sb;
    nrps_status st = NRPS_OK;
    if (fstat(fileno(f), &sb) != 0) st = fail(NRPS_ERR_IO, path, "cannot stat: %s", strerror(errno));
    int reg = st == NRPS_OK && S_ISREG(sb.st_mode);
    if (st == NRPS_OK && S_ISDIR(sb.st_mode)) st = fail(NRPS_ERR_IO, path, "is a directory, expected a file");
    else if (reg && (uintmax_t)sb.st_size > max_bytes)
        st = fail(NRPS_ERR_FORMAT, path, "file is %lld bytes, more than the %zu allowed", (long long)sb.st_size,
                  max_bytes);
    size_t limit = max_bytes < SIZE_MAX ? max_bytes + 1 : SIZE_MAX, n = 0;
    size_t cap = reg ? (size_t)sb.st_size + 1 : 65536;
    if (cap > limit) cap = limit;
    uint8_t *b = st == NRPS_OK ? malloc(cap) : NULL;
    if (st == NRPS_OK && !b) st = fail(NRPS_ERR_NOMEM, path, "out of memory");
    while (st == NRPS_OK) {
        if (n == cap) {
            if (cap == limit) break;
            size_t nc = cap > limit / 2 ? limit : cap * 2;
            uint8_t *nb = realloc(b, nc);
            if (!nb) st = fail(NRPS_ERR_NOMEM, path, "out of memory");
            else b = nb, cap = nc;
            continue;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    if (st == NRPS_OK && ferror(f)) st = fail(NRPS_ERR_IO, path, "read error");
    if (st == NRPS_OK && n > max_bytes)
        st = fail(NRPS_ERR_FORMAT, path, "file is more than the %zu bytes allowed", max_bytes);
    fclose(f);
    if (st != NRPS_OK) {
        free(b);
        return st;
    }
    *data = b;
    *len = n;
    return NRPS_OK;
}

nrps_status npy_load(const char *path, size_t max_bytes, npy_array *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t len = 0;
    nrps_status st = read_capped(path, max_bytes, &buf, &len);
    if (st != NRPS_OK) return st;
    st = npy_parse(buf, len, path, out);
    free(buf);
    return st;
}

/* ---- writing ---- */

/* The header dict, padded so that the preamble (10 bytes) + header is a multiple of 64; its length, or 0 when it
 * does not fit in cap. */
static size_t write_header(char *h, size_t cap, npy_dtype t, int rank, const int64_t *shape) {
    const dtype_info *d = &k_types[t - 1];
    size_t n = (size_t)snprintf(h, cap, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                                d->size == 1 ? '|' : '<', d->code);
    for (int i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(h + n, cap - n, "%lld%s", (long long)shape[i], rank == 1 ? "," : i + 1 < rank ? ", " : "");
    if (n < cap) n += (size_t)snprintf(h + n, cap - n, "), }");
    size_t total = (10 + n + 1 + 63) / 64 * 64 - 10; /* the header's length with its padding and '\n' */
    if (n >= cap || total >= cap || total > 65535) return 0;
    memset(h + n, ' ', total - 1 - n);
    h[total - 1] = '\n';
    return total;
}

/* Writes n elements of size bytes from data, little-endian. */
static int write_data(FILE *f, const uint8_t *data, size_t n, size_t size) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++)
        for (size_t j = size; j-- > 0;)
            if (fputc(data[i * size + j], f) == EOF) return 0;
    return 1;
#else
    return n == 0 || fwrite(data, size, n, f) == n;
#endif
}

nrps_status npy_write(const char *path, npy_dtype t, int rank, const int64_t *shape, const void *data) {
    if (t < NPY_F32 || t > NPY_BOOL || rank < 0 || rank > NPY_MAX_RANK || (rank && !shape))
        return fail(NRPS_ERR_ARG, path, "cannot write a .npy of dtype %d and rank %d", (int)t, rank);
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) return fail(NRPS_ERR_ARG, path, "dimension %d is %lld", i, (long long)shape[i]);
        n *= (size_t)shape[i];
    }
    char h[512];
    size_t hl = write_header(h, sizeof h, t, rank, shape);
    if (!hl) return fail(NRPS_ERR_ARG, path, "the .npy header does not fit");
    nrps_atomic_file af;
    nrps_status st = nrps_atomic_open(&af, path, "wb");
    if (st != NRPS_OK) return st;
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hl & 0xff), (uint8_t)(hl >> 8)};
    if (fwrite(pre, 1, sizeof pre, af.f) == sizeof pre && fwrite(h, 1, hl, af.f) == hl)
        (void)write_data(af.f, data, n, k_types[t - 1].size);
    return nrps_atomic_commit(&af); /* a failed write above: "PATH: write failed: <reason>", nothing left behind */
}

void npy_free(npy_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}
