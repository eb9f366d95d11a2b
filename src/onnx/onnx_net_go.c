/* onnx_net_go.c - imports the original Go project's .model files (single-line JSON, DESIGN.md section 2) as
 * 2-layer one-head networks of the family (onnx_net.h): policy {biasesHidden[H], biasesOutput[9], hiddenSize,
 * inputSize 81, outputSize 9, weightsHiddenOutput[9][H], weightsInputHidden[H][81]} -> Softmax; value
 * {biasOutput, biasesHidden[H], hiddenSize, inputSize 81, weightsHiddenOutput[1][H], weightsInputHidden[H][81]}
 * -> Sigmoid. Every key, type and size is checked; numbers are converted double -> float (round to nearest).
 * The same checks and messages as src/onnx/go_import.c (the mlp importer this one replaces). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/json.h"

#include "onnx/onnx_net.h"

#define GO_MAX_BYTES ((size_t)256 << 20)
#define GO_MAX_HIDDEN 65536

/* A finite number representable as float. */
static int num_get(const char *path, const cJSON *v, const char *key, float *out) {
    if (!cJSON_IsNumber(v)) {
        nrps_set_error("%s: key '%s': expected a number", path, key);
        return 0;
    }
    double d = v->valuedouble;
    if (!isfinite(d) || fabs(d) > FLT_MAX) {
        nrps_set_error("%s: key '%s': value %g is not a finite float32", path, key, d);
        return 0;
    }
    *out = (float)d;
    return 1;
}

static int int_get(const char *path, const cJSON *obj, const char *key, long lo, long hi, long *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        nrps_set_error("%s: missing key '%s'", path, key);
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi) {
        nrps_set_error("%s: key '%s': expected an integer in [%ld, %ld]", path, key, lo, hi);
        return 0;
    }
    *out = (long)v->valuedouble;
    return 1;
}

/* Array of n numbers -> out[0..n-1]. */
static int vec_get(const char *path, const cJSON *v, const char *key, int n, float *out) {
    if (!cJSON_IsArray(v)) {
        nrps_set_error("%s: key '%s': expected an array of %d number%s", path, key, n, n == 1 ? "" : "s");
        return 0;
    }
    int len = cJSON_GetArraySize(v);
    if (len != n) {
        nrps_set_error("%s: key '%s': has %d entr%s, expected %d", path, key, len, len == 1 ? "y" : "ies", n);
        return 0;
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsNumber(e)) {
            nrps_set_error("%s: key '%s': entry %d is not a number", path, key, i);
            return 0;
        }
        if (!num_get(path, e, key, &out[i])) {
            nrps_set_error("%s: key '%s': entry %d (%g) is not a finite float32 value", path, key, i, e->valuedouble);
            return 0;
        }
        i++;
    }
    return 1;
}

/* rows x cols matrix (array of arrays) -> out row-major. */
static int mat_get(const char *path, const cJSON *obj, const char *key, int rows, int cols, float *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        nrps_set_error("%s: missing key '%s'", path, key);
        return 0;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != rows) {
        nrps_set_error("%s: key '%s': expected an array of %d row%s, got %s%d", path, key, rows, rows == 1 ? "" : "s",
                       cJSON_IsArray(v) ? "" : "a non-array, size ", cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0);
        return 0;
    }
    int r = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, v) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != cols) {
            nrps_set_error("%s: key '%s': row %d has %d entr%s, expected %d", path, key, r,
                           cJSON_IsArray(row) ? cJSON_GetArraySize(row) : -1,
                           cJSON_IsArray(row) && cJSON_GetArraySize(row) == 1 ? "y" : "ies", cols);
            return 0;
        }
        char sub[96];
        snprintf(sub, sizeof sub, "%s[%d]", key, r);
        if (!vec_get(path, row, sub, cols, out + (size_t)r * cols)) return 0;
        r++;
    }
    return 1;
}

static int kind_hint_ok(const char *path, const char *kind_hint) {
    if (!kind_hint || !kind_hint[0] || !strcmp(kind_hint, "policy") || !strcmp(kind_hint, "value")) return 1;
    nrps_set_error("%s: kind must be 'policy' or 'value', got '%s'", path, kind_hint);
    return 0;
}

/* Parses data[len] (NUL at data[len]) into *root: a JSON object. */
static int json_parse(const char *path, const char *data, size_t len, cJSON **root) {
    const char *end = NULL;
    size_t nul = strnlen(data, len);
    if (nul != len) {
        nrps_set_error("%s: malformed JSON: NUL byte at offset %zu", path, nul);
        return 0;
    }
    if (data[len] != 0) {
        nrps_set_error("%s: internal: JSON buffer not NUL-terminated", path);
        return 0;
    }
    /* len + 1: cJSON's trailing-garbage check wants to see the terminating NUL. */
    *root = cJSON_ParseWithLengthOpts(data, len + 1, &end, 1);
    if (!*root) {
        nrps_set_error("%s: malformed JSON near byte %ld", path, end ? (long)(end - data) : -1L);
        return 0;
    }
    if (!cJSON_IsObject(*root)) {
        nrps_set_error("%s: expected a JSON object", path);
        return 0;
    }
    if (nrps_json_unique_keys(*root) != NRPS_OK) { /* other readers of the file would take the other value */
        char msg[200];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("%s: %s", path, msg);
        return 0;
    }
    return 1;
}

/* Policy or value: the hint, else the keys. */
static int kind_detect(const char *path, const cJSON *root, const char *kind_hint, int *is_policy) {
    int has_policy = cJSON_HasObjectItem(root, "biasesOutput"), has_value = cJSON_HasObjectItem(root, "biasOutput");
    if (kind_hint && kind_hint[0]) {
        *is_policy = !strcmp(kind_hint, "policy");
        return 1;
    }
    if (has_policy != has_value) {
        *is_policy = has_policy;
        return 1;
    }
    nrps_set_error("%s: cannot tell policy from value (%s): pass --kind policy|value", path,
                   has_policy ? "both 'biasesOutput' and 'biasOutput' present"
                              : "neither 'biasesOutput' nor 'biasOutput' present");
    return 0;
}

/* Every key is one of the kind's (duplicates were refused when the file was parsed: nrps_json_unique_keys). */
static int keys_check(const char *path, const cJSON *root, int is_policy) {
    static const char *policy_keys[] = {"biasesHidden", "biasesOutput", "hiddenSize", "inputSize", "outputSize",
                                        "weightsHiddenOutput", "weightsInputHidden", NULL};
    static const char *value_keys[] = {"biasOutput", "biasesHidden", "hiddenSize", "inputSize", "outputSize",
                                       "weightsHiddenOutput", "weightsInputHidden", NULL};
    const char **keys = is_policy ? policy_keys : value_keys;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        int known = 0;
        for (int i = 0; keys[i] && !known; i++) known = it->string && !strcmp(it->string, keys[i]);
        if (!known) {
            nrps_set_error("%s: unexpected key '%s' in a %s model", path, it->string ? it->string : "",
                           is_policy ? "policy" : "value");
            return 0;
        }
    }
    return 1;
}

/* The weights into the 2-layer network n (sizes already checked). */
static int weights_get(const char *path, const cJSON *root, int is_policy, int hidden, nn_net *n) {
    const cJSON *bh = cJSON_GetObjectItemCaseSensitive(root, "biasesHidden");
    if (!bh) {
        nrps_set_error("%s: missing key 'biasesHidden'", path);
        return 0;
    }
    int outn = is_policy ? 9 : 1;
    if (!vec_get(path, bh, "biasesHidden", hidden, n->b[0]) ||
        !mat_get(path, root, "weightsInputHidden", hidden, 81, n->w[0]) ||
        !mat_get(path, root, "weightsHiddenOutput", outn, hidden, n->w[1]))
        return 0;
    const char *bkey = is_policy ? "biasesOutput" : "biasOutput";
    const cJSON *bo = cJSON_GetObjectItemCaseSensitive(root, bkey);
    if (!bo) {
        nrps_set_error("%s: missing key '%s'", path, bkey);
        return 0;
    }
    return is_policy ? vec_get(path, bo, bkey, 9, n->b[1]) : num_get(path, bo, bkey, &n->b[1][0]);
}

nrps_status onnx_net_import_go_buffer(const char *path, const char *data, size_t len, const char *kind_hint,
                                            nn_net *out) {
    nrps_status st = NRPS_ERR_FORMAT;
    cJSON *root = NULL;
    int is_policy = 0;
    long hidden, in, outn;
    memset(out, 0, sizeof *out);
    if (!kind_hint_ok(path, kind_hint)) return NRPS_ERR_ARG;
    if (!json_parse(path, data, len, &root) || !kind_detect(path, root, kind_hint, &is_policy) ||
        !keys_check(path, root, is_policy))
        goto cleanup;
    outn = is_policy ? 9 : 1;
    if (!int_get(path, root, "hiddenSize", 1, GO_MAX_HIDDEN, &hidden) || !int_get(path, root, "inputSize", 81, 81, &in))
        goto cleanup;
    if ((is_policy || cJSON_HasObjectItem(root, "outputSize")) && !int_get(path, root, "outputSize", outn, outn, &outn))
        goto cleanup;
    int h = (int)hidden;
    nn_arch a = nn_arch_mlp((int)in, &h, 1, NN_ACT_RELU, 0, (int)outn, is_policy ? NN_ACT_SOFTMAX : NN_ACT_SIGMOID,
                            is_policy ? NN_HEAD_POLICY : NN_HEAD_VALUE);
    st = nn_init(out, &a);
    if (st != NRPS_OK) {
        nrps_set_error("%s: out of memory for hidden size %d", path, h);
        goto cleanup;
    }
    st = weights_get(path, root, is_policy, h, out) ? NRPS_OK : NRPS_ERR_FORMAT;
cleanup:
    cJSON_Delete(root);
    if (st != NRPS_OK) nn_free(out);
    return st;
}

nrps_status onnx_net_import_go(const char *path, const char *kind_hint, nn_net *out) {
    char *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    if (!kind_hint_ok(path, kind_hint)) return NRPS_ERR_ARG;
    nrps_status st = nrps_read_file(path, GO_MAX_BYTES, &data, &len);
    if (st == NRPS_OK) st = onnx_net_import_go_buffer(path, data, len, kind_hint, out);
    free(data);
    return st;
}
