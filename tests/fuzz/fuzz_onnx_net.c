/* fuzz_onnx_net.c - libFuzzer target for the family's ONNX reader (onnx_net_load_buffer) and its Go .model
 * importer (onnx_net_import_go_buffer). Any byte string must give NRPS_OK with a network that passes
 * nn_arch_check, or an error with a one-line message naming the file and a zeroed network - never a crash,
 * leak, hang or out-of-bounds access. An accepted ONNX network is run once through the reference forward and
 * written back with the writer, which must read back identical (architecture, head kinds and order,
 * parameters). The same bytes go to the Go importer with each kind hint. Built by `make fuzz`; seeds in
 * tests/fuzz/corpus/fuzz_onnx_net/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net.h"
#include "onnx/onnx_net.h"

/* A failure must set one line of its own that names the file, and leave nothing allocated. */
static void failure_check(const char *path, const nn_net *n) {
    const char *e = nrps_last_error();
    size_t pl = strlen(path);
    if (strncmp(e, path, pl) || e[pl] != ':' || strchr(e, '\n') || n->params || n->arch.n_layers) abort();
}

static void forward_check(const nn_net *n) {
    float *x = calloc((size_t)2 * (size_t)n->arch.in, sizeof *x), *y[NN_MAX_HEADS] = {NULL, NULL};
    int ok = x != NULL;
    for (int h = 0; h < n->arch.n_heads; h++)
        ok = ok && (y[h] = malloc((size_t)2 * (size_t)nn_head_width(&n->arch, h) * sizeof(float))) != NULL;
    if (ok) {
        for (int i = 0; i < n->arch.in; i++) x[n->arch.in + i] = (float)(i % 3) - 1.0f;
        if (nn_forward(n, x, 2, y, NULL) != NRPS_OK) abort();
    }
    for (int h = 0; h < NN_MAX_HEADS; h++) free(y[h]);
    free(x);
}

/* What we accept we can write, and it reads back identical (unless a name clashes with the writer's own). */
static void rewrite_check(const nn_net *n, const onnx_net_info *info) {
    uint8_t *d = NULL;
    size_t len = 0;
    nrps_status st = onnx_net_save_buffer(n, info, &d, &len);
    if (st != NRPS_OK) {
        if (st != NRPS_ERR_ARG || !strstr(nrps_last_error(), "'layers.'")) abort();
        return;
    }
    nn_net back;
    if (onnx_net_load_buffer("rewrite.onnx", d, len, &back, NULL) != NRPS_OK) abort();
    if (!nn_arch_equal(&n->arch, &back.arch) || n->n_params != back.n_params ||
        memcmp(n->params, back.params, n->n_params * sizeof(float)))
        abort();
    nn_free(&back);
    free(d);
}

static void onnx_check(const uint8_t *data, size_t size) {
    nn_net n;
    onnx_net_info info;
    nrps_set_error("%s", ""); /* no stale message: a failure must set its own */
    if (onnx_net_load_buffer("fuzz.onnx", data, size, &n, &info) != NRPS_OK) {
        failure_check("fuzz.onnx", &n);
        return;
    }
    if (nn_arch_check(&n.arch, "fuzz") != NRPS_OK || n.n_params != nn_arch_param_count(&n.arch) ||
        !nn_params_finite(&n, NULL))
        abort();
    forward_check(&n);
    rewrite_check(&n, &info);
    nn_free(&n);
}

static void go_check(const char *text, size_t len, const char *kind) {
    nn_net n;
    nrps_set_error("%s", "");
    if (onnx_net_import_go_buffer("fuzz.model", text, len, kind, &n) != NRPS_OK) {
        failure_check("fuzz.model", &n);
        return;
    }
    nn_head_kind k = n.arch.head[0].kind;
    int policy = k == NN_HEAD_POLICY;
    if ((!policy && k != NN_HEAD_VALUE) || (kind && strcmp(kind, policy ? "policy" : "value"))) abort();
    if (n.arch.in != 81 || n.arch.n_layers != 2 || n.arch.n_heads != 1 ||
        nn_head_width(&n.arch, 0) != (policy ? 9 : 1) || n.arch.layer[0].out < 1 || n.arch.layer[0].out > 65536 ||
        !nn_params_finite(&n, NULL))
        abort();
    nn_free(&n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    onnx_check(data, size);
    char *text = malloc(size + 1); /* the importer wants the NUL that nrps_read_file adds */
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    go_check(text, size, NULL);
    go_check(text, size, "policy");
    go_check(text, size, "value");
    free(text);
    return 0;
}
