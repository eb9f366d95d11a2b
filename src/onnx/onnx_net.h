/* onnx_net.h - the network family (src/nn/net.h) as ONNX, both ways, with protobuf-c and Debian's onnx.proto;
 * and the original Go project's .model JSON files.
 *
 * Reading follows the graph from its one input to its outputs and returns layers and heads: Gemm (transA 0,
 * transB 0/1, alpha/beta scaling) or MatMul + Add (either operand order) or MatMul alone (no bias); Relu,
 * LeakyRelu(alpha), Tanh, Sigmoid between layers; Softmax/LogSoftmax(axis 1 or -1), Sigmoid, Tanh or nothing
 * after a head's last layer; Flatten/Identity/Dropout/Reshape-to-[batch, n] no-ops; Constant nodes; opsets
 * 9-21; float32 initialisers as raw_data or float_data. One output: a one-head network. Two outputs: the graph
 * forks after a shared trunk into two heads; which is the policy and which the value comes from the metadata
 * (heads), else the output names (policy / value), else the widths (9 and 1). A graph outside the family is
 * refused with one line naming the file, the node and what is supported, e.g.
 *   "m.onnx: layer 3 (node '/fc3/Gemm'): input width 200 does not match layer 2's output 256".
 * Cycles and huge node counts are handled in linear time (no hang).
 *
 * Writing (any depth, one or two heads): Gemm(transB=1) per layer with its activation node, heads ending in
 * Softmax(axis=1) / Sigmoid / ..., input "input" [batch_size, in], outputs named after the heads, initialisers
 * <layer>.weight / <layer>.bias as raw float32 little-endian, IR 8, opset 17, producer neural_rps NRPS_VERSION and
 * metadata: architecture (nn_arch_describe), layers, heads, kind (one-head nets), training_games, seed,
 * input_encoding. Written atomically. NaN/Inf parameters are refused (NRPS_ERR_ARG) and nothing is written.
 * All functions are thread-safe (no shared state). */
#ifndef NRPS_ONNX_NET_H
#define NRPS_ONNX_NET_H

#include <stdint.h>

#include "nn/net.h"

#define ONNX_NET_MAX_META 16

/* What was found in (or is written to) the file besides the weights. Head names and kinds are in the network's
 * arch (nn_head.name / .kind); the kind of a one-head net comes from metadata "kind", else from the shape
 * (81 -> 9 policy, 81 -> 1 value), else NN_HEAD_OTHER: a 100 -> 10 model is never labelled "policy". */
typedef struct {
    char input_name[64];
    long long opset;          /* default-domain opset */
    long long ir_version;     /* -1 when absent */
    char producer[64], producer_version[32];
    char graph_name[64];
    char ops[256];            /* the node chain as read, e.g. "Gemm Relu Gemm Softmax" (truncated) */
    char input_batch[64];     /* the batch dimension: dim_param name, a number, or "?" */
    long long training_games; /* metadata; -1 when unknown */
    long long seed;           /* metadata; -1 when unknown */
    char input_encoding[32];  /* metadata "input_encoding" ("board", "hands"); "" = absent. Not interpreted here. */
    int n_meta;               /* metadata_props as read (first ONNX_NET_MAX_META, truncated strings) */
    char meta_key[ONNX_NET_MAX_META][64], meta_value[ONNX_NET_MAX_META][128];
} onnx_net_info;

/* Defaults for writing: input "input", opset 17, producer neural_rps NRPS_VERSION, training_games/seed -1
 * (written as "unknown"), no encoding, no extra metadata. */
void onnx_net_info_default(onnx_net_info *info);

/* Reads the ONNX file at path (at most 256 MiB) into *out (caller frees with nn_free); info may be NULL. On error
 * *out is zeroed, the message names the file and the problem, and the status is NRPS_ERR_IO / FORMAT /
 * UNSUPPORTED. */
nrps_status onnx_net_load(const char *path, nn_net *out, onnx_net_info *info);
/* The same on bytes in memory (data[len], not modified, owned by the caller); path names them in errors. */
nrps_status onnx_net_load_buffer(const char *path, const void *data, size_t len, nn_net *out, onnx_net_info *info);

/* Serialises n as ONNX (see the top of this file) into a malloc'd buffer (*data, caller frees; *len bytes).
 * info may be NULL (onnx_net_info_default). */
nrps_status onnx_net_save_buffer(const nn_net *n, const onnx_net_info *info, uint8_t **data, size_t *len);
/* onnx_net_save_buffer, then written to path atomically (nothing is written on error). */
nrps_status onnx_net_save(const char *path, const nn_net *n, const onnx_net_info *info);

/* A trivial graph (Identity: input [batch_size, n] -> output) that measures ONNX Runtime's per-call floor, as
 * bytes in memory (*data malloc'd, caller frees). n in 1..NN_MAX_WIDTH. */
nrps_status onnx_identity_buffer(int n, uint8_t **data, size_t *len);

/* Imports an original Go .model JSON file (policy or value, any hidden size) as a 2-layer one-head network:
 * policy 81 -> H -> 9 Softmax (head "output", kind POLICY), value 81 -> H -> 1 Sigmoid (kind VALUE). kind:
 * "policy", "value", or NULL/"" to detect it from the keys (biasesOutput -> policy, biasOutput -> value).
 * Unknown or duplicate keys, wrong types, sizes other than inputSize 81 / outputSize 9 or 1 / hiddenSize
 * 1..65536 matching every array, and non-finite numbers are errors naming the file and the key. */
nrps_status onnx_net_import_go(const char *path, const char *kind, nn_net *out);
/* The same on JSON text in memory: data[len] must be 0 (len + 1 bytes, as nrps_read_file returns them). */
nrps_status onnx_net_import_go_buffer(const char *path, const char *data, size_t len, const char *kind,
                                      nn_net *out);

#endif
