/* ort_profile.h - reads the profile ONNX Runtime itself writes (session option EnableProfiling(options, prefix),
 * file closed and named by SessionEndProfiling) and lists the op types that took the most kernel time.
 *
 * The file is a Chrome trace: a JSON array of events such as
 *   {"cat" : "Node", "pid" :5703, "tid" :5703, "dur" :253, "ts" :9979, "ph" : "X", "name" :"fused fc1_kernel_time",
 *    "args" : {"op_name" : "FusedGemm", "provider" : "CPUExecutionProvider", "node_index" : "4", ...}}
 * Only "cat":"Node" events whose name ends with "_kernel_time" count (one per node per Run; "dur" in microseconds);
 * "cat":"Session" events (model_loading_uri, session_initialization, model_run, SequentialExecutor::Execute) and
 * any other Node events (older releases' *_fence_before / *_fence_after) are skipped. */
#ifndef NRPS_ORT_PROFILE_H
#define NRPS_ORT_PROFILE_H

#include "util/util.h"

typedef struct {
    char op[64];       /* op type, e.g. "Gemm" (from args.op_name; longer names are cut, but counted apart) */
    char node[128];    /* the node that took longest within this op type (its name without the "_kernel_time" suffix) */
    long calls;        /* kernel-time events of this op type */
    double total_us;   /* summed "dur" of those events */
    double share;      /* total_us / sum over all op types' kernel time, 0..1 (0 when that sum is 0) */
} ort_profile_op;

/* Reads ONNX Runtime's profile JSON at path (an array of trace events; "cat":"Node" events whose name ends with
 * "_kernel_time" carry "dur" in microseconds and "args":{"op_name":...}); fills up to max ops sorted by total_us
 * descending (ties: op name ascending), returns the count in *n and the total kernel time in *total_us (over every
 * op type, also those beyond max; total_us may be NULL). A file that is not such JSON (not JSON, not an array, an
 * event that is not an object, a kernel event without a non-negative numeric "dur" or a string args.op_name): one
 * error line naming the file (nrps_set_error), status != NRPS_OK, *n = 0. An empty profile (no kernel events) is
 * n = 0, NRPS_OK. max >= 0; ops may be NULL when max == 0. */
nrps_status ort_profile_top_ops(const char *path, int max, ort_profile_op *ops, int *n, double *total_us);

#endif
