/* fuzz_onnx.c - libFuzzer target for the ONNX MLP reader (onnx_mlp_load_buffer): any byte string must give
 * NRPS_OK with a consistent network or an error with a one-line message - never a crash, leak, hang or
 * out-of-bounds access. An accepted network is run once through the reference forward pass and written back
 * with the C writer, which must read back identical. Built by `make fuzz` (clang -fsanitize=fuzzer,address,
 * undefined); seeds in tests/fuzz/corpus/fuzz_onnx/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/mlp.h"
#include "onnx/onnx_mlp.h"

static char g_tmp[64];

static void tmp_remove(void) {
    if (g_tmp[0]) unlink(g_tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mlp m, back;
    onnx_mlp_info info;
    onnx_mlp_extra extra;
    nrps_set_error("%s", ""); /* no stale message: a failure must set its own */
    if (onnx_mlp_load_buffer("fuzz.onnx", data, size, &m, &info, &extra) != NRPS_OK) {
        const char *e = nrps_last_error();
        if (!strcmp(e, "no error detail") || strchr(e, '\n')) abort(); /* one line, set */
        return 0;
    }
    if (m.in < 1 || m.hidden < 1 || m.out < 1 || !m.params) abort();
    if (!mlp_params_finite(&m, NULL)) abort(); /* the reader refuses NaN/Inf */
    /* one forward pass on a small batch */
    float *x = calloc((size_t)2 * m.in, sizeof *x), *y = malloc((size_t)2 * m.out * sizeof *y);
    float *scratch = malloc((size_t)2 * m.hidden * sizeof *scratch);
    if (x && y && scratch) {
        for (int i = 0; i < m.in; i++) x[m.in + i] = (float)(i % 3) - 1.0f;
        if (mlp_forward(&m, x, 2, y, scratch) != NRPS_OK) abort();
    }
    free(x);
    free(y);
    free(scratch);
    /* write it back with our writer: what we accept, we can write and read back unchanged */
    if (!g_tmp[0]) {
        snprintf(g_tmp, sizeof g_tmp, "/tmp/nrps_fuzz_onnx_%ld.onnx", (long)getpid());
        atexit(tmp_remove);
    }
    if (m.hidden_act != MLP_ACT_SOFTMAX && m.hidden_act != MLP_ACT_LOGSOFTMAX && m.hidden_act != MLP_ACT_NONE &&
        onnx_mlp_save(g_tmp, &m, NULL) == NRPS_OK) {
        nrps_status st = onnx_mlp_load(g_tmp, &back, NULL);
        unlink(g_tmp); /* at once: abort() below skips atexit */
        if (st != NRPS_OK) abort();
        if (back.in != m.in || back.hidden != m.hidden || back.out != m.out || back.hidden_act != m.hidden_act ||
            back.out_act != m.out_act ||
            memcmp(back.params, m.params, mlp_param_count(m.in, m.hidden, m.out) * sizeof(float)) != 0)
            abort();
        mlp_free(&back);
    }
    mlp_free(&m);
    return 0;
}
