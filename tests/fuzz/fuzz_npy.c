/* fuzz_npy.c - libFuzzer target for the .npy reader (src/util/npy.h). Any byte string must give NRPS_OK with an
 * array whose fields agree (rank 0..8, n_elems = product of the shape, elem_size and descr matching the dtype,
 * bools 0 or 1), or an error with one line that starts with the label and a zeroed array - never a crash, leak,
 * hang or out-of-bounds access. An accepted array is written again as numpy writes it (version 1.0 header) and
 * must parse back identical. Built by `make fuzz`; seeds in tests/fuzz/corpus/fuzz_npy/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/npy.h"

#define LABEL "fuzz.npy"

static int zeroed(const npy_array *a) {
    static const npy_array z;
    return memcmp(a, &z, sizeof z) == 0;
}

static void check_fields(const npy_array *a) {
    static const size_t sizes[] = {0, 4, 2, 8, 8, 4, 2, 1, 1, 2, 4, 8, 1};
    if (a->dtype < NPY_F32 || a->dtype > NPY_BOOL || a->elem_size != sizes[a->dtype]) abort();
    if (a->rank < 0 || a->rank > 8 || !a->data || strlen(a->descr) != 3) abort();
    if (!strcmp(npy_dtype_name(a->dtype), "unknown")) abort();
    size_t n = 1;
    for (int i = 0; i < a->rank; i++) {
        if (a->shape[i] < 0) abort();
        n *= (size_t)a->shape[i];
    }
    if (n != a->n_elems) abort();
    for (size_t i = 0; a->dtype == NPY_BOOL && i < n; i++)
        if (((const uint8_t *)a->data)[i] > 1) abort();
}

/* a written back as a version 1.0 file like np.save's; returns a malloc'd buffer and *len. */
static uint8_t *write_back(const npy_array *a, size_t *len) {
    char h[512];
    int o = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", a->descr);
    for (int i = 0; i < a->rank; i++) o += snprintf(h + o, sizeof h - (size_t)o, "%lld, ", (long long)a->shape[i]);
    if (a->rank > 1) o -= 2; /* numpy: (3, 4) but (3,) */
    if (a->rank == 1) o -= 1;
    o += snprintf(h + o, sizeof h - (size_t)o, "), }\n");
    size_t bytes = a->n_elems * a->elem_size, hl = (size_t)o;
    uint8_t *b = malloc(10 + hl + bytes);
    if (!b) return NULL;
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)hl;
    b[9] = (uint8_t)(hl >> 8);
    memcpy(b + 10, h, hl);
    memcpy(b + 10 + hl, a->data, bytes);
    *len = 10 + hl + bytes;
    return b;
}

static void round_trip(const npy_array *a) {
    size_t len = 0;
    uint8_t *b = write_back(a, &len);
    if (!b) return;
    npy_array again;
    if (npy_parse(b, len, "again.npy", &again) != NRPS_OK) abort();
    if (again.dtype != a->dtype || again.rank != a->rank || again.n_elems != a->n_elems ||
        strcmp(again.descr, a->descr) ||
        memcmp(again.shape, a->shape, sizeof a->shape) || memcmp(again.data, a->data, a->n_elems * a->elem_size))
        abort();
    npy_free(&again);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npy_array a;
    nrps_set_error("%s", ""); /* no stale message: a failure must set its own */
    if (npy_parse(data, size, LABEL, &a) != NRPS_OK) {
        const char *e = nrps_last_error();
        if (strncmp(e, LABEL ": ", sizeof LABEL + 1) || strchr(e, '\n') || !zeroed(&a)) abort();
        return 0;
    }
    check_fields(&a);
    round_trip(&a);
    npy_free(&a);
    if (!zeroed(&a)) abort();
    return 0;
}
