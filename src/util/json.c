/* json.c - see json.h. */
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_keys(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that appears twice in one object anywhere in v (cJSON keeps both; Python and jq keep the last, we
 * would read the first), or NULL. *oom set when the check could not be made. Depth is bounded by cJSON's nesting
 * limit. */
static const char *duplicate_key(const cJSON *v, int *oom) {
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) return NULL;
    int n = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        const char *d = duplicate_key(c, oom);
        if (d || *oom) return d;
        n++;
    }
    if (!cJSON_IsObject(v) || n < 2) return NULL;
    const char **keys = malloc((size_t)n * sizeof *keys);
    if (!keys) return *oom = 1, NULL;
    int k = 0;
    for (const cJSON *c = v->child; c; c = c->next) keys[k++] = c->string ? c->string : "";
    qsort(keys, (size_t)n, sizeof *keys, cmp_keys);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (!strcmp(keys[i - 1], keys[i])) dup = keys[i];
    free(keys);
    return dup;
}

nrps_status nrps_json_unique_keys(const cJSON *v) {
    int oom = 0;
    const char *dup = duplicate_key(v, &oom);
    if (oom) {
        nrps_set_error("out of memory");
        return NRPS_ERR_NOMEM;
    }
    if (!dup) return NRPS_OK;
    char shown[80]; /* the key in one line: control characters, quotes and backslashes as \xNN */
    size_t k = 0;
    const unsigned char *q = (const unsigned char *)dup;
    for (; *q && k + 5 < sizeof shown; q++) {
        if (*q < 0x20 || *q == 0x7f || *q == '"' || *q == '\\') k += (size_t)snprintf(shown + k, 5, "\\x%02x", *q);
        else shown[k++] = (char)*q;
    }
    shown[k] = 0;
    nrps_set_error("duplicate key \"%s%s\" (a key may appear only once per object)", shown, *q ? "..." : "");
    return NRPS_ERR_FORMAT;
}
