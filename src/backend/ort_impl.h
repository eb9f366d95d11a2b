/* ort_impl.h - private to the ONNX Runtime backend (ort.c: environment, providers, session options, creation;
 * ort_io.c: the graph's tensors, buffers and Run). */
#ifndef NRPS_ORT_IMPL_H
#define NRPS_ORT_IMPL_H

#include <onnxruntime_c_api.h>

#include "backend/backend_impl.h"

extern const OrtApi *g_ort; /* set once by ort.c before any session exists */

/* Turns st into a one-line error "what: message" and releases it. Returns 1 if st != NULL. */
int ort_fail(OrtStatus *st, const char *what);

/* A session and what every handle on it shares; destroyed with the last handle (ort_shared_release). */
typedef struct {
    OrtSession *sess;
    char path[512]; /* the model, for messages */
    int refs;      /* handles on it */
    int profiling; /* 1 until SessionEndProfiling */
    int n_in, n_out;
    char *in_name[BE_MAX_IO], *out_name[BE_MAX_IO]; /* from the default allocator */
    ONNXTensorElementDataType in_type[BE_MAX_IO], out_type[BE_MAX_IO];
} ort_shared;

/* Takes one reference; releases one (the last frees the session and names). */
void ort_shared_retain(ort_shared *s);
void ort_shared_release(ort_shared *s);

/* Reads the session's inputs and outputs into sh (names, types) and info (be_tensor descriptions: batch axis
 * from opt->batch_dim or dim 0, other symbolic dims bound from opt->dims, fixed batch). net (may be NULL) puts the
 * outputs in head order and gives them their kinds. Errors name the file (path) and the tensor; an unbound
 * symbolic input dimension is NRPS_ERR_ARG naming the --dim to give. */
nrps_status ort_describe(ort_shared *sh, const be_options *opt, const nn_net *net, const char *path, be_info *info);

/* Fills b's run/io slots with a handle on sh (retained) with its own buffers for max_batch samples. */
nrps_status ort_handle_create(ort_shared *sh, be_backend *b, int max_batch);

#endif
