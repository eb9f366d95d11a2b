/* fuzz_go_model.c - libFuzzer target for the original Go .model JSON importer (onnx_import_go_model_buffer):
 * any bytes must give a policy (81-H-9, softmax) or value (81-H-1, sigmoid) network with finite weights, or
 * a one-line error - never a crash, leak or out-of-bounds access. Both kind detection and the explicit kinds
 * are exercised. Seeds in tests/fuzz/corpus/fuzz_go_model/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/mlp.h"
#include "onnx/onnx_mlp.h"

static void check(const char *text, size_t len, const char *kind) {
    mlp m;
    char kind_out[16] = "";
    nrps_set_error("%s", ""); /* no stale message: a failure must set its own */
    if (onnx_import_go_model_buffer("fuzz.model", text, len, kind, &m, kind_out) != NRPS_OK) {
        const char *e = nrps_last_error();
        if (!strcmp(e, "no error detail") || strchr(e, '\n')) abort(); /* one line, set */
        if (m.params) abort(); /* nothing left allocated on failure */
        return;
    }
    int policy = strcmp(kind_out, "policy") == 0;
    if (!policy && strcmp(kind_out, "value") != 0) abort();
    if (kind && kind[0] && strcmp(kind, kind_out) != 0) abort();
    if (m.in != 81 || m.out != (policy ? 9 : 1) || m.hidden < 1 || m.hidden > 65536) abort();
    if (!mlp_params_finite(&m, NULL)) abort();
    mlp_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1); /* the importer wants the NUL that nrps_read_file adds */
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    check(text, size, NULL);
    check(text, size, "policy");
    check(text, size, "value");
    free(text);
    return 0;
}
