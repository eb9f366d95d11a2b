/* onnx_mlp.h - reading and writing the MLP family as ONNX with protobuf-c and Debian's onnx.proto,
 * and importing the original Go project's .model JSON files. */
#ifndef NRPS_ONNX_MLP_H
#define NRPS_ONNX_MLP_H

#include "nn/mlp.h"

/* What was found in / is written to the file besides the weights. */
typedef struct {
    char input_name[64], output_name[64];
    long long opset;          /* default-domain opset */
    char producer[64], producer_version[32];
    /* Metadata we write (and read back when present): "hidden_size", "training_games", "seed", "kind",
     * "input_encoding". */
    char kind[16];            /* "policy" or "value" (from metadata, else guessed from out size) */
    long long training_games; /* -1 when unknown */
    long long seed;           /* -1 when unknown */
    char input_encoding[32];  /* metadata "input_encoding" as written/read ("board", "hands"); "" = absent. The
                                 reader does not interpret it: see eval_net_model_encoding (src/search/eval_net.h) */
} onnx_mlp_info;

/* Reads an ONNX file holding a supported MLP (see the ONNX section of README.md for what is accepted:
 * Gemm (transB 0/1, alpha/beta 1) or MatMul+Add, Relu/Tanh/Sigmoid, Softmax/LogSoftmax/Sigmoid/Tanh or
 * none, Flatten/Identity no-ops, opsets 9-21, float32). On error sets a one-line message naming the file
 * and the unsupported operator/shape, and returns NRPS_ERR_IO/FORMAT/UNSUPPORTED. info may be NULL. */
nrps_status onnx_mlp_load(const char *path, mlp *out, onnx_mlp_info *info);

/* Writes m as Gemm(transB=1) -> Relu|Tanh|Sigmoid -> Gemm(transB=1) -> Softmax(axis=1)|LogSoftmax|Sigmoid|
 * Tanh|nothing with input info->input_name ("input") [batch_size, in] and output ("output")
 * [batch_size, out], initializers fc1.weight/fc1.bias/fc2.weight/fc2.bias as raw float32 little-endian,
 * IR 8, opset 17 (what Debian's onnx 1.12 checker accepts), producer neural_rps NRPS_VERSION, metadata
 * hidden_size, training_games, seed ("unknown" when -1), kind, and input_encoding when info->input_encoding is
 * set. Written atomically (temp + rename);
 * NaN/Inf parameters are refused (NRPS_ERR_ARG) and nothing is written. info may be NULL (defaults). */
nrps_status onnx_mlp_save(const char *path, const mlp *m, const onnx_mlp_info *info);

/* Writes a trivial graph (Identity: input [batch_size, n] -> output) used to measure ONNX Runtime's
 * per-call floor. */
nrps_status onnx_identity_save(const char *path, int n);

/* Imports an original Go .model JSON (policy or value, any hidden size): policy gets Softmax, value
 * Sigmoid. Malformed JSON or inconsistent sizes: error naming the file and the key. */
nrps_status onnx_import_go_model(const char *path, mlp *out, char kind_out[16]);

/* ---- additions (nn developer) ---- */
/* Everything `neural_rps info` shows beyond onnx_mlp_info. */
#define ONNX_MLP_MAX_META 16
typedef struct {
    long long ir_version;     /* -1 when absent */
    char graph_name[64];
    char ops[256];            /* the node chain as read, e.g. "Gemm Relu Gemm Softmax" */
    char input_batch[64];     /* the batch dimension: dim_param name, a number, or "?" */
    int n_meta;               /* metadata_props (first ONNX_MLP_MAX_META, truncated strings) */
    char meta_key[ONNX_MLP_MAX_META][64], meta_value[ONNX_MLP_MAX_META][128];
} onnx_mlp_extra;

/* onnx_mlp_load plus the details above (extra may be NULL). */
nrps_status onnx_mlp_load_ex(const char *path, mlp *out, onnx_mlp_info *info, onnx_mlp_extra *extra);

/* onnx_mlp_load_ex on bytes already in memory (data[len], not modified, owned by the caller); path is only the
 * name used in error messages. onnx_mlp_load/onnx_mlp_load_ex read the file and call this (reliability
 * addition: lets the fuzzer feed bytes without a temp file). */
nrps_status onnx_mlp_load_buffer(const char *path, const void *data, size_t len, mlp *out, onnx_mlp_info *info,
                                 onnx_mlp_extra *extra);

/* Defaults for onnx_mlp_save: names "input"/"output", opset 17, producer neural_rps NRPS_VERSION,
 * kind guessed from m->out (9 policy, 1 value), training_games/seed -1 (written as "unknown"). */
void onnx_mlp_info_default(onnx_mlp_info *info, const mlp *m);

/* Runs the ONNX file once through ONNX Runtime (CPU, 1 thread), independently of onnx_mlp_load:
 * x[batch][in] -> y[batch][out]; the output must be [batch, out]. A session per call: a checking tool,
 * not a hot path. Errors name the file and the ONNX Runtime message (NRPS_ERR_BACKEND). */
nrps_status onnx_ort_eval(const char *path, const float *x, int batch, int in, float *y, int out);

/* onnx_import_go_model with an explicit kind ("policy", "value"; NULL or "" = detect from the keys:
 * biasesOutput -> policy, biasOutput -> value). Unknown or duplicate keys, wrong types, sizes other than
 * inputSize 81 / outputSize 9 (policy) or 1 (value) / hiddenSize 1..65536 matching every array, and
 * non-finite numbers are errors naming the file and the key. */
nrps_status onnx_import_go_model_ex(const char *path, const char *kind, mlp *out, char kind_out[16]);

/* onnx_import_go_model_ex on JSON text already in memory: data[len] must be 0 (data has len + 1 bytes, as
 * nrps_read_file returns them), not modified, owned by the caller; path is only the name used in errors.
 * (Reliability addition: lets the fuzzer feed bytes without a temp file.) */
nrps_status onnx_import_go_model_buffer(const char *path, const char *data, size_t len, const char *kind, mlp *out,
                                        char kind_out[16]);

#endif
