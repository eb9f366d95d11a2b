/* test_ort_profile.c - the ONNX Runtime profile reader (bench/ort_profile.h) on a real profile written by ONNX
 * Runtime 1.29 (tests/fixtures/ort_profile_sample.json: models/rps_policy.onnx, intra-op threads 1, the first 8 of
 * 20 Runs on a zero [1,81] input; expected values summed independently with Python's json module), on one this
 * test makes with the ONNX Runtime it is linked against, on hand-written edge cases (empty, ties, long names,
 * skipped events, max) and on malformed files, whose errors must name the file on one line. */
#include <onnxruntime_c_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/ort_profile.h"
#include "check.h"

#define SAMPLE "tests/fixtures/ort_profile_sample.json"

/* Writes text to a fresh temp file; path[] receives its name. */
static int write_temp(char *path, size_t cap, const char *text) {
    snprintf(path, cap, "/tmp/nrps_test_ort_profile_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    return ok;
}

/* A well-formed kernel event. */
#define KEV(name, op, dur) \
    "{\"cat\" : \"Node\",\"pid\" :1,\"tid\" :1,\"dur\" :" #dur ",\"ts\" :5,\"ph\" : \"X\",\"name\" :\"" name \
    "_kernel_time\",\"args\" : {\"op_name\" : \"" op "\",\"provider\" : \"CPUExecutionProvider\"}}"
#define SESSION_EV "{\"cat\" : \"Session\",\"pid\" :1,\"tid\" :1,\"dur\" :40,\"ts\" :1,\"ph\" : \"X\",\"name\" :\"model_run\",\"args\" : {}}"

static void test_sample(void) {
    ort_profile_op ops[8];
    int n = -1;
    double total = -1;
    nrps_status st = ort_profile_top_ops(SAMPLE, 8, ops, &n, &total);
    CHECK_MSG(st == NRPS_OK, "%s", nrps_last_error());
    REQUIRE(st == NRPS_OK);
    REQUIRE(n == 3);
    CHECK_NEAR(total, 435, 0);
    CHECK(strcmp(ops[0].op, "FusedGemm") == 0); /* Gemm + Relu fused by ORT's graph optimizer */
    CHECK(strcmp(ops[0].node, "fused fc1") == 0);
    CHECK(ops[0].calls == 8);
    CHECK_NEAR(ops[0].total_us, 288, 0);
    CHECK_NEAR(ops[0].share, 288.0 / 435.0, 1e-12);
    CHECK(strcmp(ops[1].op, "Softmax") == 0);
    CHECK(strcmp(ops[1].node, "out_act") == 0);
    CHECK(ops[1].calls == 8);
    CHECK_NEAR(ops[1].total_us, 120, 0);
    CHECK(strcmp(ops[2].op, "Gemm") == 0);
    CHECK(strcmp(ops[2].node, "fc2") == 0);
    CHECK(ops[2].calls == 8);
    CHECK_NEAR(ops[2].total_us, 27, 0);
    double share = 0, sum = 0;
    for (int k = 0; k < n; k++) {
        CHECK(ops[k].share >= 0 && ops[k].share <= 1);
        if (k) CHECK(ops[k - 1].total_us >= ops[k].total_us);
        share += ops[k].share;
        sum += ops[k].total_us;
    }
    CHECK(share <= 1 + 1e-12);
    CHECK_NEAR(share, 1, 1e-12); /* every op type listed */
    CHECK_NEAR(sum, total, 1e-9);
}

static void test_max_cuts_list_not_total(void) {
    ort_profile_op ops[1];
    int n = -1;
    double total = -1;
    REQUIRE(ort_profile_top_ops(SAMPLE, 1, ops, &n, &total) == NRPS_OK);
    CHECK(n == 1);
    CHECK(strcmp(ops[0].op, "FusedGemm") == 0);
    CHECK_NEAR(total, 435, 0);
    CHECK(ort_profile_top_ops(SAMPLE, 0, NULL, &n, NULL) == NRPS_OK);
    CHECK(n == 0);
    CHECK(ort_profile_top_ops(SAMPLE, -1, ops, &n, &total) == NRPS_ERR_ARG);
}

static void test_empty_profiles(void) {
    static const char *texts[] = {"[]", "[\n]\n", "[" SESSION_EV "]",
                                  /* Node events other than kernel time (older releases' fences) don't count */
                                  "[{\"cat\" : \"Node\",\"dur\" :3,\"name\" :\"fc1_fence_before\",\"args\" : {\"op_name\" : \"Gemm\"}}]",
                                  /* nor does a kernel-time name in another category */
                                  "[{\"cat\" : \"Session\",\"dur\" :3,\"name\" :\"x_kernel_time\",\"args\" : {}}]"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char path[64];
        REQUIRE(write_temp(path, sizeof path, texts[i]));
        ort_profile_op ops[4];
        int n = -1;
        double total = -1;
        nrps_status st = ort_profile_top_ops(path, 4, ops, &n, &total);
        CHECK_MSG(st == NRPS_OK, "case %zu: %s", i, nrps_last_error());
        CHECK_MSG(n == 0, "case %zu: n = %d", i, n);
        CHECK_NEAR(total, 0, 0);
        unlink(path);
    }
}

static void test_ties_long_names_zero_time(void) {
    char path[64];
    /* 70-character op names, equal but for the last character: counted apart, both cut to 63 */
#define LONG_OP "Op_abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrstuvwxyz_0123456789"
    REQUIRE(write_temp(path, sizeof path,
                       "[" SESSION_EV "," KEV("b1", "Relu", 5) "," KEV("a1", "Add", 5) "," KEV("b2", "Relu", 5) ","
                       KEV("n1", LONG_OP "X", 2) "," KEV("n2", LONG_OP "Y", 1) "," KEV("z", "Zero", 0) ","
                       KEV("a2", "Add", 5) "," KEV("b3", "Relu", 7) "]"));
    ort_profile_op ops[8];
    int n = -1;
    double total = -1;
    nrps_status st = ort_profile_top_ops(path, 8, ops, &n, &total);
    CHECK_MSG(st == NRPS_OK, "%s", nrps_last_error());
    REQUIRE(st == NRPS_OK && n == 5);
    CHECK_NEAR(total, 30, 0);
    CHECK(strcmp(ops[0].op, "Relu") == 0 && ops[0].calls == 3 && strcmp(ops[0].node, "b3") == 0);
    CHECK(strcmp(ops[1].op, "Add") == 0 && ops[1].calls == 2 && strcmp(ops[1].node, "a1") == 0); /* tie: first */
    CHECK(strlen(ops[2].op) == 63 && strncmp(ops[2].op, LONG_OP, 63) == 0 && ops[2].total_us == 2);
    CHECK(strlen(ops[3].op) == 63 && ops[3].total_us == 1);
    CHECK(strcmp(ops[4].op, "Zero") == 0 && ops[4].calls == 1 && ops[4].share == 0);
    CHECK_NEAR(ops[0].share, 17.0 / 30.0, 1e-12);
    unlink(path);

    /* equal totals: op name ascending */
    REQUIRE(write_temp(path, sizeof path, "[" KEV("x", "Mul", 4) "," KEV("y", "Abs", 4) "]"));
    REQUIRE(ort_profile_top_ops(path, 8, ops, &n, &total) == NRPS_OK && n == 2);
    CHECK(strcmp(ops[0].op, "Abs") == 0 && strcmp(ops[1].op, "Mul") == 0);
    CHECK_NEAR(ops[0].share, 0.5, 0);
    unlink(path);

    /* only zero-time kernels: shares 0, not NaN */
    REQUIRE(write_temp(path, sizeof path, "[" KEV("x", "Mul", 0) "]"));
    REQUIRE(ort_profile_top_ops(path, 8, ops, &n, &total) == NRPS_OK && n == 1);
    CHECK(ops[0].share == 0 && total == 0 && ops[0].calls == 1);
    unlink(path);
}

static void test_malformed(void) {
    static const struct {
        const char *why, *text, *words;
    } cases[] = {
        {"not JSON", "model_run 40us\n", "malformed JSON"},
        {"empty file", "", "malformed JSON"},
        {"cut short (a crash before SessionEndProfiling)", "[" KEV("a", "Gemm", 3) ",\n", "malformed JSON"},
        {"trailing garbage", "[] []", "malformed JSON"},
        {"not an array", "{\"traceEvents\": []}", "expected a JSON array"},
        {"a number", "42", "expected a JSON array"},
        {"event not an object", "[" KEV("a", "Gemm", 3) ", 7]", "event 1 is not a JSON object"},
        {"kernel event without dur",
         "[" SESSION_EV ",{\"cat\" : \"Node\",\"ts\" :5,\"name\" :\"fc1_kernel_time\",\"args\" : {\"op_name\" : \"Gemm\"}}]",
         "event 1 ('fc1_kernel_time'): no non-negative number \"dur\""},
        {"dur a string", "[{\"cat\" : \"Node\",\"dur\" :\"3\",\"name\" :\"fc1_kernel_time\",\"args\" : {\"op_name\" : \"Gemm\"}}]",
         "\"dur\""},
        {"dur negative", "[{\"cat\" : \"Node\",\"dur\" :-3,\"name\" :\"fc1_kernel_time\",\"args\" : {\"op_name\" : \"Gemm\"}}]",
         "\"dur\""},
        {"no args", "[{\"cat\" : \"Node\",\"dur\" :3,\"name\" :\"fc1_kernel_time\"}]", "op_name"},
        {"no op_name", "[{\"cat\" : \"Node\",\"dur\" :3,\"name\" :\"fc1_kernel_time\",\"args\" : {}}]", "op_name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[64];
        REQUIRE(write_temp(path, sizeof path, cases[i].text));
        ort_profile_op ops[4];
        int n = -1;
        double total = -1;
        nrps_status st = ort_profile_top_ops(path, 4, ops, &n, &total);
        const char *e = nrps_last_error();
        CHECK_MSG(st != NRPS_OK, "%s: accepted", cases[i].why);
        CHECK_MSG(n == 0 && total == 0, "%s: n = %d, total = %g", cases[i].why, n, total);
        CHECK_MSG(strncmp(e, path, strlen(path)) == 0 && e[strlen(path)] == ':', "%s: error '%s' does not start with %s",
                  cases[i].why, e, path);
        CHECK_MSG(strstr(e, cases[i].words) != NULL, "%s: error '%s' lacks '%s'", cases[i].why, e, cases[i].words);
        CHECK_MSG(strchr(e, '\n') == NULL, "%s: error has a newline", cases[i].why);
        unlink(path);
    }
    int n = -1;
    ort_profile_op ops[1];
    CHECK(ort_profile_top_ops("tests/fixtures/no_such_profile.json", 1, ops, &n, NULL) == NRPS_ERR_IO);
    CHECK(strstr(nrps_last_error(), "tests/fixtures/no_such_profile.json") != NULL);
    CHECK(ort_profile_top_ops("tests/fixtures", 1, ops, &n, NULL) != NRPS_OK);
    CHECK(strstr(nrps_last_error(), "tests/fixtures") != NULL);
}

/* The format of the ONNX Runtime this is linked against: profile 20 Runs of the default policy net. */
static void test_live_profile(void) {
    const char *model = "models/rps_policy.onnx";
    if (access(model, R_OK) != 0) SKIP("models/rps_policy.onnx not found");
    const OrtApi *api = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    REQUIRE(api != NULL);
    char dir[] = "/tmp/nrps_test_ort_profile_dir_XXXXXX", prefix[128];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(prefix, sizeof prefix, "%s/prof", dir);
    OrtEnv *env = NULL;
    OrtSessionOptions *so = NULL;
    OrtSession *sess = NULL;
    OrtMemoryInfo *mi = NULL;
    OrtValue *in = NULL;
    OrtAllocator *al = NULL;
    char *in_name = NULL, *out_name = NULL, *file = NULL;
    OrtStatus *s = api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "test_ort_profile", &env);
    if (!s) s = api->CreateSessionOptions(&so);
    if (!s) s = api->SetIntraOpNumThreads(so, 1);
    if (!s) s = api->EnableProfiling(so, prefix);
    if (!s) s = api->CreateSession(env, model, so, &sess);
    if (!s) s = api->GetAllocatorWithDefaultOptions(&al);
    if (!s) s = api->SessionGetInputName(sess, 0, al, &in_name);
    if (!s) s = api->SessionGetOutputName(sess, 0, al, &out_name);
    float x[81] = {0};
    const int64_t shape[2] = {1, 81};
    if (!s) s = api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mi);
    if (!s) s = api->CreateTensorWithDataAsOrtValue(mi, x, sizeof x, shape, 2, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &in);
    for (int r = 0; r < 20 && !s; r++) {
        const char *ins[1] = {in_name}, *outs[1] = {out_name};
        OrtValue *out = NULL;
        s = api->Run(sess, NULL, ins, (const OrtValue *const *)&in, 1, outs, 1, &out);
        if (out) api->ReleaseValue(out);
    }
    if (!s) s = api->SessionEndProfiling(sess, al, &file);
    CHECK_MSG(s == NULL, "ONNX Runtime: %s", s ? api->GetErrorMessage(s) : "");
    if (s) api->ReleaseStatus(s);
    if (!s && file) {
        ort_profile_op ops[16];
        int n = -1;
        double total = -1;
        nrps_status st = ort_profile_top_ops(file, 16, ops, &n, &total);
        CHECK_MSG(st == NRPS_OK, "%s", nrps_last_error());
        CHECK(n >= 1);
        CHECK(total > 0);
        double share = 0;
        for (int k = 0; k < n && st == NRPS_OK; k++) {
            CHECK_MSG(ops[k].calls > 0 && ops[k].calls % 20 == 0, "%s: %ld calls", ops[k].op, ops[k].calls);
            CHECK(ops[k].op[0] && ops[k].node[0]);
            if (k) CHECK(ops[k - 1].total_us >= ops[k].total_us);
            share += ops[k].share;
        }
        CHECK(share <= 1 + 1e-12);
        printf("  live profile: top op %s (node %s) %.0f of %.0f us kernel time, %d op types\n",
               n > 0 ? ops[0].op : "-", n > 0 ? ops[0].node : "-", n > 0 ? ops[0].total_us : 0,
               total, n);
        unlink(file);
    }
    if (file && al) al->Free(al, file);
    if (in_name && al) al->Free(al, in_name);
    if (out_name && al) al->Free(al, out_name);
    if (in) api->ReleaseValue(in);
    if (mi) api->ReleaseMemoryInfo(mi);
    if (sess) api->ReleaseSession(sess);
    if (so) api->ReleaseSessionOptions(so);
    if (env) api->ReleaseEnv(env);
    rmdir(dir);
}

int main(void) {
    RUN(test_sample);
    RUN(test_max_cuts_list_not_total);
    RUN(test_empty_profiles);
    RUN(test_ties_long_names_zero_time);
    RUN(test_malformed);
    RUN(test_live_profile);
    return check_summary("ort_profile");
}
