/* ort_profile.c - see ort_profile.h. */
#include "bench/ort_profile.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Profiles of long runs grow big (about 500 bytes per node per Run); refuse anything past this. */
#define ORT_PROFILE_MAX_BYTES ((size_t)1 << 29)
#define KERNEL_SUFFIX "_kernel_time"

typedef struct {
    const char *op;   /* into the parsed tree */
    const char *node; /* event name of the longest call, suffix included */
    long calls;
    double total_us, best_us;
} op_acc;

static void copy_cut(char *dst, size_t cap, const char *src, size_t len) {
    if (len >= cap) len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = 0;
}

static int cmp_acc(const void *a, const void *b) {
    const op_acc *x = a, *y = b;
    if (x->total_us != y->total_us) return x->total_us < y->total_us ? 1 : -1;
    return strcmp(x->op, y->op);
}

static int is_kernel_event(const cJSON *ev, const char **name) {
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(ev, "cat");
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(ev, "name");
    if (!cJSON_IsString(cat) || strcmp(cat->valuestring, "Node") != 0) return 0;
    if (!cJSON_IsString(nm)) return 0;
    size_t len = strlen(nm->valuestring), sl = strlen(KERNEL_SUFFIX);
    if (len < sl || strcmp(nm->valuestring + len - sl, KERNEL_SUFFIX) != 0) return 0;
    *name = nm->valuestring;
    return 1;
}

/* Adds every kernel event of the array root to acc[0..*nacc-1] (grown as needed). */
static nrps_status collect(const char *path, const cJSON *root, op_acc **acc, int *nacc) {
    int cap = 0, idx = -1;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, root) {
        idx++;
        const char *name = NULL;
        if (!cJSON_IsObject(ev)) {
            nrps_set_error("%s: event %d is not a JSON object", path, idx);
            return NRPS_ERR_FORMAT;
        }
        if (!is_kernel_event(ev, &name)) continue;
        const cJSON *dur = cJSON_GetObjectItemCaseSensitive(ev, "dur");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(ev, "args");
        const cJSON *opn = cJSON_IsObject(args) ? cJSON_GetObjectItemCaseSensitive(args, "op_name") : NULL;
        if (!cJSON_IsNumber(dur) || !isfinite(dur->valuedouble) || dur->valuedouble < 0) {
            nrps_set_error("%s: event %d ('%.80s'): no non-negative number \"dur\"", path, idx, name);
            return NRPS_ERR_FORMAT;
        }
        if (!cJSON_IsString(opn) || !opn->valuestring[0]) {
            nrps_set_error("%s: event %d ('%.80s'): no string \"args\":{\"op_name\"}", path, idx, name);
            return NRPS_ERR_FORMAT;
        }
        int k = 0;
        while (k < *nacc && strcmp((*acc)[k].op, opn->valuestring) != 0) k++;
        if (k == *nacc) {
            if (*nacc == cap) {
                int nc = cap ? cap * 2 : 16;
                op_acc *na = realloc(*acc, (size_t)nc * sizeof *na);
                if (!na) {
                    nrps_set_error("%s: out of memory", path);
                    return NRPS_ERR_NOMEM;
                }
                *acc = na;
                cap = nc;
            }
            (*acc)[k] = (op_acc){.op = opn->valuestring, .node = name, .best_us = -1};
            (*nacc)++;
        }
        op_acc *a = &(*acc)[k];
        a->calls++;
        a->total_us += dur->valuedouble;
        if (dur->valuedouble > a->best_us) { /* ties: the first such call */
            a->best_us = dur->valuedouble;
            a->node = name;
        }
    }
    return NRPS_OK;
}

nrps_status ort_profile_top_ops(const char *path, int max, ort_profile_op *ops, int *n, double *total_us) {
    if (n) *n = 0;
    if (total_us) *total_us = 0;
    if (!path || !n || max < 0 || (max > 0 && !ops)) {
        nrps_set_error("%s: ort_profile_top_ops: bad arguments", path ? path : "(null)");
        return NRPS_ERR_ARG;
    }
    char *data = NULL;
    size_t len = 0;
    nrps_status st = nrps_read_file(path, ORT_PROFILE_MAX_BYTES, &data, &len);
    if (st != NRPS_OK) return st;
    size_t nul = strnlen(data, len);
    if (nul != len) {
        nrps_set_error("%s: not an ONNX Runtime profile: NUL byte at offset %zu", path, nul);
        free(data);
        return NRPS_ERR_FORMAT;
    }
    const char *end = NULL;
    /* len + 1: cJSON's trailing-garbage check wants to see the terminating NUL. */
    cJSON *root = cJSON_ParseWithLengthOpts(data, len + 1, &end, 1);
    if (!root) {
        nrps_set_error("%s: not an ONNX Runtime profile: malformed JSON near byte %ld", path,
                       end ? (long)(end - data) : -1L);
        free(data);
        return NRPS_ERR_FORMAT;
    }
    free(data);
    op_acc *acc = NULL;
    int nacc = 0;
    if (!cJSON_IsArray(root)) {
        nrps_set_error("%s: not an ONNX Runtime profile: expected a JSON array of trace events", path);
        st = NRPS_ERR_FORMAT;
    } else {
        st = collect(path, root, &acc, &nacc);
    }
    if (st == NRPS_OK) {
        double sum = 0;
        for (int k = 0; k < nacc; k++) sum += acc[k].total_us;
        if (nacc > 1) qsort(acc, (size_t)nacc, sizeof *acc, cmp_acc);
        int m = nacc < max ? nacc : max;
        for (int k = 0; k < m; k++) {
            ort_profile_op *o = &ops[k];
            memset(o, 0, sizeof *o);
            copy_cut(o->op, sizeof o->op, acc[k].op, strlen(acc[k].op));
            copy_cut(o->node, sizeof o->node, acc[k].node, strlen(acc[k].node) - strlen(KERNEL_SUFFIX));
            o->calls = acc[k].calls;
            o->total_us = acc[k].total_us;
            o->share = sum > 0 ? acc[k].total_us / sum : 0;
        }
        *n = m;
        if (total_us) *total_us = sum;
    }
    free(acc);
    cJSON_Delete(root);
    return st;
}
