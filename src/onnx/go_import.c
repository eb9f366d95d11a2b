/* go_import.c - imports the original Go project's .model files (single-line JSON, DESIGN.md section 2)
 * into our MLP: policy {biasesHidden[H], biasesOutput[9], hiddenSize, inputSize 81, outputSize 9,
 * weightsHiddenOutput[9][H], weightsInputHidden[H][81]} -> Softmax; value {biasOutput, biasesHidden[H],
 * hiddenSize, inputSize 81, weightsHiddenOutput[1][H], weightsInputHidden[H][81]} -> Sigmoid.
 * Every key, type and size is checked; numbers are converted double -> float (round to nearest). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "onnx/onnx_mlp.h"

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
        nrps_set_error("%s: key '%s': expected an array of %d numbers", path, key, n);
        return 0;
    }
    int len = cJSON_GetArraySize(v);
    if (len != n) {
        nrps_set_error("%s: key '%s': has %d entries, expected %d", path, key, len, n);
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
        nrps_set_error("%s: key '%s': expected an array of %d rows, got %s%d", path, key, rows,
                       cJSON_IsArray(v) ? "" : "a non-array, size ", cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0);
        return 0;
    }
    int r = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, v) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != cols) {
            nrps_set_error("%s: key '%s': row %d has %d entries, expected %d", path, key, r,
                           cJSON_IsArray(row) ? cJSON_GetArraySize(row) : -1, cols);
            return 0;
        }
        char sub[96];
        snprintf(sub, sizeof sub, "%s[%d]", key, r);
        if (!vec_get(path, row, sub, cols, out + (size_t)r * cols)) return 0;
        r++;
    }
    return 1;
}

nrps_status onnx_import_go_model_ex(const char *path, const char *kind_hint, mlp *out, char kind_out[16]) {
    char *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    if (kind_hint && kind_hint[0] && strcmp(kind_hint, "policy") != 0 && strcmp(kind_hint, "value") != 0) {
        nrps_set_error("%s: kind must be 'policy' or 'value', got '%s'", path, kind_hint);
        return NRPS_ERR_ARG;
    }
    nrps_status st = nrps_read_file(path, GO_MAX_BYTES, &data, &len);
    if (st == NRPS_OK) st = onnx_import_go_model_buffer(path, data, len, kind_hint, out, kind_out);
    free(data);
    return st;
}

nrps_status onnx_import_go_model_buffer(const char *path, const char *data, size_t len, const char *kind_hint,
                                        mlp *out, char kind_out[16]) {
    nrps_status st = NRPS_ERR_FORMAT;
    cJSON *root = NULL;
    memset(out, 0, sizeof *out);
    if (kind_hint && kind_hint[0] && strcmp(kind_hint, "policy") != 0 && strcmp(kind_hint, "value") != 0) {
        nrps_set_error("%s: kind must be 'policy' or 'value', got '%s'", path, kind_hint);
        return NRPS_ERR_ARG;
    }
    const char *end = NULL;
    size_t nul = strnlen(data, len);
    if (nul != len) {
        nrps_set_error("%s: malformed JSON: NUL byte at offset %zu", path, nul);
        goto cleanup;
    }
    if (data[len] != 0) {
        nrps_set_error("%s: internal: JSON buffer not NUL-terminated", path);
        st = NRPS_ERR_ARG;
        goto cleanup;
    }
    /* len + 1: cJSON's trailing-garbage check wants to see the terminating NUL. */
    root = cJSON_ParseWithLengthOpts(data, len + 1, &end, 1);
    if (!root) {
        long off = end ? (long)(end - data) : -1;
        nrps_set_error("%s: malformed JSON near byte %ld", path, off);
        goto cleanup;
    }
    if (!cJSON_IsObject(root)) {
        nrps_set_error("%s: expected a JSON object", path);
        goto cleanup;
    }
    int has_policy = cJSON_HasObjectItem(root, "biasesOutput"), has_value = cJSON_HasObjectItem(root, "biasOutput");
    int is_policy;
    if (kind_hint && kind_hint[0])
        is_policy = strcmp(kind_hint, "policy") == 0;
    else if (has_policy != has_value)
        is_policy = has_policy;
    else {
        nrps_set_error("%s: cannot tell policy from value (%s): pass --kind policy|value", path,
                       has_policy ? "both 'biasesOutput' and 'biasOutput' present"
                                  : "neither 'biasesOutput' nor 'biasOutput' present");
        goto cleanup;
    }
    static const char *policy_keys[] = {"biasesHidden", "biasesOutput", "hiddenSize", "inputSize", "outputSize",
                                        "weightsHiddenOutput", "weightsInputHidden", NULL};
    static const char *value_keys[] = {"biasOutput", "biasesHidden", "hiddenSize", "inputSize", "outputSize",
                                       "weightsHiddenOutput", "weightsInputHidden", NULL};
    const char **keys = is_policy ? policy_keys : value_keys;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        int known = 0;
        for (int i = 0; keys[i] && !known; i++) known = it->string && strcmp(it->string, keys[i]) == 0;
        for (const cJSON *o = it->next; known && o; o = o->next)
            if (o->string && strcmp(o->string, it->string) == 0) {
                nrps_set_error("%s: duplicate key '%s'", path, it->string);
                goto cleanup;
            }
        if (!known) {
            nrps_set_error("%s: unexpected key '%s' in a %s model", path, it->string ? it->string : "",
                           is_policy ? "policy" : "value");
            goto cleanup;
        }
    }
    long hidden, in, outn = is_policy ? 9 : 1;
    if (!int_get(path, root, "hiddenSize", 1, GO_MAX_HIDDEN, &hidden)) goto cleanup;
    if (!int_get(path, root, "inputSize", 81, 81, &in)) goto cleanup;
    if (is_policy || cJSON_HasObjectItem(root, "outputSize"))
        if (!int_get(path, root, "outputSize", outn, outn, &outn)) goto cleanup;
    st = mlp_init(out, (int)in, (int)hidden, (int)outn, MLP_ACT_RELU, is_policy ? MLP_ACT_SOFTMAX : MLP_ACT_SIGMOID);
    if (st != NRPS_OK) goto cleanup;
    st = NRPS_ERR_FORMAT;
    const cJSON *bh = cJSON_GetObjectItemCaseSensitive(root, "biasesHidden");
    if (!bh) {
        nrps_set_error("%s: missing key 'biasesHidden'", path);
        goto cleanup;
    }
    if (!vec_get(path, bh, "biasesHidden", (int)hidden, out->b1)) goto cleanup;
    if (!mat_get(path, root, "weightsInputHidden", (int)hidden, (int)in, out->w1)) goto cleanup;
    if (!mat_get(path, root, "weightsHiddenOutput", (int)outn, (int)hidden, out->w2)) goto cleanup;
    if (is_policy) {
        const cJSON *bo = cJSON_GetObjectItemCaseSensitive(root, "biasesOutput");
        if (!bo) {
            nrps_set_error("%s: missing key 'biasesOutput'", path);
            goto cleanup;
        }
        if (!vec_get(path, bo, "biasesOutput", 9, out->b2)) goto cleanup;
    } else {
        const cJSON *bo = cJSON_GetObjectItemCaseSensitive(root, "biasOutput");
        if (!bo) {
            nrps_set_error("%s: missing key 'biasOutput'", path);
            goto cleanup;
        }
        if (!num_get(path, bo, "biasOutput", &out->b2[0])) goto cleanup;
    }
    if (kind_out) snprintf(kind_out, 16, "%s", is_policy ? "policy" : "value");
    st = NRPS_OK;
cleanup:
    cJSON_Delete(root);
    if (st != NRPS_OK) mlp_free(out);
    return st;
}

nrps_status onnx_import_go_model(const char *path, mlp *out, char kind_out[16]) {
    return onnx_import_go_model_ex(path, NULL, out, kind_out);
}
