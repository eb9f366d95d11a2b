/* onnx_net.h - the network family (src/nn/net.h) as ONNX, both ways, with protobuf-c and Debian's onnx.proto;
 * and the original Go project's .model JSON files.
 *
 * Reading follows the graph from its one input to its outputs and returns layers and heads: Gemm (transA 0,
 * transB 0/1, alpha/beta scaling) or MatMul + Add (either operand order) or MatMul alone (no bias); Relu,
 * LeakyRelu(alpha), Tanh, Sigmoid between layers; Softmax/LogSoftmax(axis 1 or -1), Sigmoid, Tanh or nothing
 * after a head's last layer; Flatten/Identity/Dropout/Reshape-to-[batch, n] no-ops; Constant nodes; opsets
 * 9-21; float32 initialisers as raw_data or float_data. One output: a one-head network. Two outputs: the graph
 * forks after a shared trunk (0 or more layers) into two heads of at least one layer each; which is the policy
 * and which the value comes from the metadata (heads), else the output names (one containing "policy", the other
 * "value", case-insensitive), else the widths (81 inputs, heads of 9 and 1), else both are NN_HEAD_OTHER. The
 * policy head comes first when the second graph output is the policy, otherwise graph output order is kept (so
 * nets written policy-first read back identical). Head names are the graph output names (truncated to
 * NN_NAME_LEN - 1). A graph outside the family is refused with one line naming the file, the node and what is
 * supported, e.g.
 *   "m.onnx: layer 3 (node '/fc3/Gemm'): input width 200 does not match layer 2's output 256".
 * Layers are numbered from 1 in the order read (trunk, then the heads). Cycles and huge node counts are handled
 * in linear time (no hang).
 *
 * Writing (any depth, one or two heads): Gemm(transB=1) per layer with its activation node (LeakyRelu with its
 * alpha), heads ending in Softmax(axis=1) / LogSoftmax(axis=1) / Sigmoid / Tanh / nothing, input info->input_name
 * ("input") [batch_size, in], outputs named after the heads [batch_size, width], initialisers layers.<l>.weight
 * [out][in] / layers.<l>.bias (l counts from 0 over every layer: trunk, then the heads) as raw float32
 * little-endian, IR 8, opset 17 (what Debian's onnx 1.12 checker accepts), producer info->producer and metadata:
 *   architecture    nn_arch_describe, e.g. "81-64 -> policy:32-9 | value:1"
 *   layers          each layer's width and activation, e.g. "trunk: 64 relu; policy: 32 leaky_relu(0.100000001),
 *                   9 softmax; value: 1 sigmoid" (one head: "128 relu, 9 softmax")
 *   heads           "name=kind" per head in order, ", "-separated, e.g. "policy=policy, value=value": the reader
 *                   takes the kinds from it when it is exactly that list for the graph's outputs (either order)
 *   kind            one-head nets only: policy, value or other
 *   training_games, seed   the number, or "unknown" when -1
 *   input_encoding  only when set
 * The 2-layer one-head nets with Relu/Tanh/Sigmoid hidden layers are the files the original reader (onnx_mlp.h)
 * reads too. Refused with NRPS_ERR_ARG, nothing written: NaN/Inf parameters, an architecture nn_arch_check
 * refuses, a head ending in Relu/LeakyRelu (the reader does not take it), a head or input name beginning with
 * "layers." (those are the writer's own value names) or a head named like the input.
 * All functions are thread-safe (no shared state). */
#ifndef NRPS_ONNX_NET_H
#define NRPS_ONNX_NET_H

#include <stdint.h>

#include "nn/net.h"

#define ONNX_NET_MAX_META 16

/* What was found in (or is written to) the file besides the weights. Head names and kinds are in the network's
 * arch (nn_head.name / .kind); the kind of a one-head net comes from metadata "heads", else "kind", else from the
 * shape (81 -> 9 policy, 81 -> 1 value), else NN_HEAD_OTHER: a 100 -> 10 model is never labelled "policy". */
typedef struct {
    char input_name[64];
    long long opset;          /* default-domain opset */
    long long ir_version;     /* -1 when absent */
    char producer[64], producer_version[32];
    char graph_name[64];
    char ops[256];            /* the nodes as read, e.g. "Gemm Relu Gemm Softmax", "Gemm Relu | Gemm Softmax |
                                 Gemm Sigmoid" for two heads (truncated) */
    char input_batch[64];     /* the batch dimension: dim_param name, a number, or "?" */
    long long training_games; /* metadata; -1 when unknown */
    long long seed;           /* metadata; -1 when unknown */
    char input_encoding[32];  /* metadata "input_encoding" ("board", "hands"); "" = absent. Not interpreted here. */
    int n_meta;               /* metadata_props as read (first ONNX_NET_MAX_META, truncated strings) */
    char meta_key[ONNX_NET_MAX_META][64], meta_value[ONNX_NET_MAX_META][128];
} onnx_net_info;

/* Defaults for writing: input "input", opset 17, IR 8, producer neural_rps NRPS_VERSION, training_games/seed -1
 * (written as "unknown"), no encoding. The writer uses input_name, producer, producer_version, training_games,
 * seed and input_encoding; the other fields are filled by the reader only (opset, ops, meta_* ... are ignored). */
void onnx_net_info_default(onnx_net_info *info);

/* Reads the ONNX file at path (at most 256 MiB) into *out (caller frees with nn_free); info may be NULL (filled
 * only on success). On error *out is zeroed, the message names the file and the problem, and the status is
 * NRPS_ERR_IO / FORMAT / UNSUPPORTED (or NOMEM). */
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
 * 1..65536 matching every array, and non-finite numbers are errors naming the file and the key.
 * On error *out is zeroed and the status is NRPS_ERR_IO / FORMAT / ARG (a kind other than policy/value). */
nrps_status onnx_net_import_go(const char *path, const char *kind, nn_net *out);
/* The same on JSON text in memory: data[len] must be 0 (len + 1 bytes, as nrps_read_file returns them), not
 * modified, owned by the caller; path names them in errors. */
nrps_status onnx_net_import_go_buffer(const char *path, const char *data, size_t len, const char *kind,
                                      nn_net *out);

/* A checking tool, not a hot path (a session per call; the benchmark backends live in src/backend): runs the ONNX
 * file once through ONNX Runtime (CPU, 1 thread), independently of our reader, and fetches the outputs named
 * names[k] (k < n_out): x[batch][in] -> y[k][batch][width[k]]. Each output must be float32 [batch, width[k]].
 * Errors name the file and the ONNX Runtime message (NRPS_ERR_BACKEND). Implemented in onnx_ort_eval_net.c. */
nrps_status onnx_ort_eval_outputs(const char *path, const float *x, int batch, int in, int n_out,
                                  const char *const *names, const int *width, float *const *y);

#endif
