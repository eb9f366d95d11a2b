/* npy.h - a small strict reader for NumPy .npy files (format versions 1.0, 2.0 and 3.0): simple little-endian
 * numeric and bool arrays in C order, nothing else (no structured, string, object, complex or big-endian
 * dtypes, no Fortran order). Plain data, no globals besides the thread-local error message: thread-safe. */
#ifndef NRPS_NPY_H
#define NRPS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define NPY_MAX_RANK 8

typedef enum { NPY_F32 = 1, NPY_F16, NPY_F64, NPY_I64, NPY_I32, NPY_I16, NPY_I8, NPY_U8, NPY_U16, NPY_U32, NPY_U64, NPY_BOOL } npy_dtype;

typedef struct {
    npy_dtype dtype;
    size_t elem_size;      /* bytes per element */
    int rank;              /* 0..8 */
    int64_t shape[8];      /* shape[0..rank-1]; the rest are 0 */
    size_t n_elems;        /* product of shape (1 for rank 0) */
    void *data;            /* n_elems * elem_size bytes, little-endian host order, C order (owned; never NULL
                            * after a successful parse, even for 0 elements) */
    char descr[16];        /* the header's descr as written, e.g. "<f4" */
} npy_array;

/* Parses a whole .npy file held in memory (buf[len], not kept). Strict: the magic "\x93NUMPY", version 1.0, 2.0
 * or 3.0, a header length within the buffer, a Python-dict header with exactly the keys 'descr', 'fortran_order'
 * and 'shape' (any order; string keys in '' or "", a trailing comma and whitespace allowed, as numpy writes),
 * fortran_order False, descr one of <f4 <f2 <f8 <i8 <i4 <i2 |i1 |u1 <u2 <u4 <u8 |b1 (1-byte types with any byte
 * order character; multi-byte types only '<'), shape a tuple of at most 8 non-negative decimal ints (a 1-tuple
 * needs its comma), a data length of exactly n_elems * elem_size bytes, bool bytes 0 or 1.
 * On success: NRPS_OK and *out filled (free with npy_free). On error: NRPS_ERR_FORMAT (malformed),
 * NRPS_ERR_UNSUPPORTED (well-formed but a dtype, order or rank we do not read) or NRPS_ERR_NOMEM, *out zeroed,
 * and nrps_set_error with one line "label: what was expected" (label: the file name; NULL reads "(buffer)"). */
nrps_status npy_parse(const void *buf, size_t len, const char *label, npy_array *out);

/* Reads path (a regular file, a pipe or a device; at most max_bytes bytes, more is refused) and parses it with
 * path as the label. Errors as npy_parse, plus NRPS_ERR_IO for a file that cannot be opened or read. */
nrps_status npy_load(const char *path, size_t max_bytes, npy_array *out);

/* Writes a .npy file (format 1.0, as numpy's np.save: header padded with spaces to a multiple of 64 bytes and ended
 * by '\n', descr as k_types lists it with '<' or '|', fortran_order False) holding shape[0..rank-1] (rank 0..8,
 * every dim >= 0) elements of t at data (host order, C order; written little-endian). Goes through the project's
 * output mechanism (nrps_atomic_open / commit, util.h): the file appears whole or not at all. NRPS_OK, or
 * NRPS_ERR_ARG (bad rank, dim or dtype) / NRPS_ERR_IO with one line naming path. */
nrps_status npy_write(const char *path, npy_dtype t, int rank, const int64_t *shape, const void *data);

/* Frees a->data and zeroes *a; accepts a zeroed or already freed struct. */
void npy_free(npy_array *a);

/* "float32", "float16", "float64", "int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64",
 * "bool"; "unknown" for any other value. */
const char *npy_dtype_name(npy_dtype t);

#endif
