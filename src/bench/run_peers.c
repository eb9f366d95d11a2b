/* run_peers.c - the PyTorch peers (`--peers torch`): scripts/torch_peer.py times torch-eager and torch-script on
 * the benchmark's own inputs and batch sizes, and its rows join the results like any backend's.
 *
 * Hand-over, in a private folder (mkdtemp under $TMPDIR, removed afterwards, on every path): per model one
 * float32 .npy of its input pool ([max batch, width]: batch b is the first b rows) and, for the dense family with
 * validation on, one .npy per head of the plain-C reference forward on that pool (row-independent, so batch b's
 * reference is its first b rows); manifest.json lists them with the timing settings and the tolerance (the
 * manifest format is at the top of the script). The script runs once (python from $PYTHON, else
 * /usr/bin/python3; the script from $NRPS_TORCH_PEER, else ../scripts/torch_peer.py beside the executable) through
 * posix_spawnp, no shell, with standard output and error into files of that folder. Its one JSON object is read
 * strictly: a row that is not what docs/benchmark-json.md says is one error naming the script. Torch (or the
 * script) missing is a skip with a reason; a script that fails or prints something else is an error. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/run_impl.h"
#include "util/npy.h"

enum { PEER_OUT_MAX = 64 << 20 /* bytes of JSON read back at most */ };

typedef struct {
    char dir[512];       /* the private folder ("" before mkdtemp) */
    char script[1024];
    const char *python;
} peer_ctx;

/* ---- where things are ---- */

/* The script: $NRPS_TORCH_PEER, else <folder of the executable>/../scripts/torch_peer.py. 0 when neither exists
 * (*why says so). */
static int find_script(char *out, size_t len, char *why, size_t why_len) {
    const char *env = getenv("NRPS_TORCH_PEER");
    if (env && env[0]) {
        snprintf(out, len, "%s", env);
    } else {
        char exe[900];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0 || n >= (ssize_t)sizeof exe - 1)
            return snprintf(why, why_len, "cannot find the executable's folder (/proc/self/exe)"), 0;
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(out, len, "%s/../scripts/torch_peer.py", exe);
    }
    if (access(out, R_OK) == 0) return 1;
    snprintf(why, why_len, "%.300s: %s (set NRPS_TORCH_PEER to the script)", out, strerror(errno));
    return 0;
}

/* Removes the private folder and what is in it (only plain names we wrote: no recursion needed). */
static void remove_dir(peer_ctx *pc) {
    if (!pc->dir[0]) return;
    DIR *d = opendir(pc->dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", pc->dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(pc->dir);
    pc->dir[0] = 0;
}

static nrps_status make_dir(peer_ctx *pc) {
    const char *tmp = getenv("TMPDIR");
    snprintf(pc->dir, sizeof pc->dir, "%s/nrps_peers_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(pc->dir)) return NRPS_OK;
    nrps_set_error("torch peers: cannot create a temp folder %s: %s", pc->dir, strerror(errno));
    pc->dir[0] = 0;
    return NRPS_ERR_IO;
}

static void note_peer_skip(run_ctx *c, int m, const char *backend, const char *why) {
    bench_model_info *mi = &c->r->env.models[m];
    if (mi->n_skipped == BENCH_MAX_BACKENDS) return;
    bench_skip *s = &mi->skipped[mi->n_skipped++];
    snprintf(s->backend, sizeof s->backend, "%s", backend);
    snprintf(s->reason, sizeof s->reason, "%s", why);
}

/* ---- the hand-over files ---- */

/* A model the script gets: one float32 [batch, width] input (a fixed batch is fine: it is timed at that size). */
static int rows_input(const model_ctx *mc) {
    const be_info *bi = mc->first;
    return bi && bi->n_inputs == 1 && be_tensor_is_rows(&bi->input[0], bi->input[0].width);
}

/* Why model m's input is not what the peers take, into buf. */
static void input_why(const model_ctx *mc, char *buf, size_t len) {
    const be_tensor *t = &mc->first->input[0];
    char d[160];
    be_tensor_describe(t, d, sizeof d);
    if (mc->first->n_inputs != 1)
        snprintf(buf, len, "%d graph inputs (the peers take one float32 [batch, n] input)", mc->first->n_inputs);
    else snprintf(buf, len, "input '%s' is %s (the peers take one float32 [batch, n] input)", t->name, d);
}

static nrps_status write_matrix(const char *path, const float *x, int rows, long width) {
    int64_t shape[2] = {rows, width};
    return npy_write(path, NPY_F32, 2, shape, x);
}

/* The plain-C reference forward on model m's pool at its largest batch, one .npy per head (ref-<m>-<h>.npy) added
 * to refs. */
static nrps_status write_references(run_ctx *c, peer_ctx *pc, int m, cJSON *refs) {
    const nn_arch *a = &c->m[m].net->arch;
    int batch = bench_model_max_batch(c, m);
    float *y[BE_MAX_IO] = {0}, *scratch = malloc(sizeof(float) * nn_forward_scratch(a, batch));
    nrps_status st = scratch ? NRPS_OK : NRPS_ERR_NOMEM;
    for (int h = 0; st == NRPS_OK && h < a->n_heads; h++)
        if (!(y[h] = malloc(sizeof(float) * (size_t)batch * (size_t)nn_head_width(a, h)))) st = NRPS_ERR_NOMEM;
    if (st == NRPS_ERR_NOMEM) nrps_set_error("torch peers: out of memory for the reference outputs");
    if (st == NRPS_OK && (st = nn_forward(c->m[m].net, c->m[m].pool[0], batch, y, scratch)) != NRPS_OK)
        st = NRPS_ERR_BACKEND;
    for (int h = 0; st == NRPS_OK && h < a->n_heads; h++) {
        char path[640];
        snprintf(path, sizeof path, "%s/ref-%d-%d.npy", pc->dir, m, h);
        st = write_matrix(path, y[h], batch, nn_head_width(a, h));
        cJSON_AddItemToArray(refs, cJSON_CreateString(path));
    }
    for (int h = 0; h < BE_MAX_IO; h++) free(y[h]);
    free(scratch);
    return st;
}

/* Model m's manifest entry, its input pool and references written. */
static nrps_status manifest_model(run_ctx *c, peer_ctx *pc, int m, cJSON *models) {
    const bench_model_info *mi = &c->r->env.models[m];
    model_ctx *mc = &c->m[m];
    if (!rows_input(mc)) return NRPS_OK; /* noted by run_script */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(models, o);
    cJSON_AddStringToObject(o, "label", mi->label);
    cJSON_AddStringToObject(o, "path", mi->path);
    cJSON_AddStringToObject(o, "sha256", mi->sha256);
    cJSON *b = cJSON_AddArrayToObject(o, "batches");
    for (int i = 0; i < mc->n_batches; i++) cJSON_AddItemToArray(b, cJSON_CreateNumber(mc->batches[i]));
    cJSON_AddStringToObject(o, "input_name", mc->first->input[0].name);
    char path[640];
    snprintf(path, sizeof path, "%s/in-%d.npy", pc->dir, m);
    nrps_status st = write_matrix(path, mc->pool[0], bench_model_max_batch(c, m), mc->first->input[0].width);
    cJSON_AddStringToObject(o, "input", path);
    if (st != NRPS_OK || !c->p->validate || !mc->net) {
        cJSON_AddNullToObject(o, "references");
        return st;
    }
    return write_references(c, pc, m, cJSON_AddArrayToObject(o, "references"));
}

static nrps_status write_manifest(run_ctx *c, peer_ctx *pc, char *path, size_t len) {
    const bench_loop_opts *l = &c->p->loop;
    cJSON *root = cJSON_CreateObject(), *loop = cJSON_AddObjectToObject(root, "loop");
    cJSON_AddNumberToObject(root, "threads", c->p->opt.threads);
    cJSON_AddNumberToObject(root, "atol", BENCH_ATOL);
    cJSON_AddNumberToObject(root, "rtol", BENCH_RTOL);
    cJSON_AddNumberToObject(loop, "warmup", (double)l->warmup);
    cJSON_AddNumberToObject(loop, "iterations", (double)l->iterations);
    cJSON_AddNumberToObject(loop, "duration_s", l->duration_s);
    cJSON_AddNumberToObject(loop, "window", (double)l->window);
    cJSON_AddNumberToObject(loop, "warmup_min", (double)l->warmup_min);
    cJSON_AddNumberToObject(loop, "warmup_max_calls", (double)l->warmup_max_calls);
    cJSON_AddNumberToObject(loop, "settle_tol", l->settle_tol);
    cJSON_AddNumberToObject(loop, "warmup_max_s", l->warmup_max_s);
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    nrps_status st = NRPS_OK;
    for (int m = 0; m < c->n_models && st == NRPS_OK; m++) st = manifest_model(c, pc, m, models);
    char *text = st == NRPS_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (st != NRPS_OK) return st;
    if (!text) return nrps_set_error("torch peers: out of memory"), NRPS_ERR_NOMEM;
    snprintf(path, len, "%s/manifest.json", pc->dir);
    st = nrps_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

/* ---- running the script ---- */

/* Runs python script manifest with stdin /dev/null, stdout and stderr into out / err; the exit status (128+N for
 * signal N), or -1 when it could not be started (errno set). A stop signal that reaches us while it runs is passed
 * on to it (SIGTERM), so that Ctrl-C or a kill of our pid alone does not wait for the whole peer run. */
static int spawn_script(const peer_ctx *pc, const char *manifest, const char *out, const char *err) {
    extern char **environ;
    char *argv[] = {(char *)pc->python, (char *)pc->script, (char *)manifest, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_EXCL, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_EXCL, 0600);
    pid_t pid;
    int e = posix_spawnp(&pid, pc->python, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) return errno = e, -1;
    int status, passed_on = 0;
    for (pid_t w; (w = waitpid(pid, &status, WNOHANG)) != pid;) { /* the handlers restart waitpid: poll instead */
        if (w < 0 && errno != EINTR) return -1;
        if (nrps_interrupted && !passed_on++) kill(pid, SIGTERM);
        nanosleep(&(struct timespec){0, 50000000}, NULL); /* 50 ms: no noise in the peer's timing */
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The last non-empty line of what the script said on stderr (a traceback ends with the exception), in buf. */
static void last_line(const char *path, char *buf, size_t len) {
    char *text = NULL;
    size_t n = 0;
    buf[0] = 0;
    if (nrps_read_file(path, 1 << 20, &text, &n) != NRPS_OK) return;
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) text[--n] = 0;
    const char *nl = strrchr(text, '\n');
    snprintf(buf, len, "%s", nl ? nl + 1 : text);
    free(text);
}

/* ---- reading the rows back ---- */

/* Sets "torch peers: SCRIPT: row I: what" and returns NRPS_ERR_FORMAT. */
static nrps_status bad_row(const peer_ctx *pc, int i, const char *what, const char *key) {
    if (i < 0) nrps_set_error("torch peers: %s: %s%s", pc->script, what, key ? key : "");
    else nrps_set_error("torch peers: %s: row %d: %s%s", pc->script, i, what, key ? key : "");
    return NRPS_ERR_FORMAT;
}

/* o[key] as a finite number >= lo, or NaN when it is missing or is not one. */
static double num(const cJSON *o, const char *key, double lo) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= lo ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The model row o names (its label, path and SHA-256 as we passed them), or -1. */
static int row_model(const run_ctx *c, const cJSON *o) {
    const char *label = str(o, "model"), *sha = str(o, "model_sha256");
    for (int m = 0; label && sha && m < c->n_models; m++)
        if (!strcmp(c->r->env.models[m].label, label) && !strcmp(c->r->env.models[m].sha256, sha)) return m;
    return -1;
}

static int known_batch(const model_ctx *mc, double b) {
    for (int i = 0; i < mc->n_batches; i++)
        if (mc->batches[i] == b) return 1;
    return 0;
}

/* latency_us into st (every statistic positive and in order), plus the row's cv, mad_us, median_halves_diff. */
static const char *read_stats(const cJSON *o, long n, bench_stats *st) {
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "latency_us");
    if (!cJSON_IsObject(l)) return "latency_us";
    st->n = n;
    st->mean = num(l, "mean", 0), st->min = num(l, "min", 0), st->p10 = num(l, "p10", 0);
    st->p50 = num(l, "p50", 0), st->p90 = num(l, "p90", 0), st->p99 = num(l, "p99", 0);
    st->p999 = num(l, "p999", 0), st->max = num(l, "max", 0), st->stdev = num(l, "stdev", 0);
    st->cv = num(o, "cv", 0), st->mad = num(o, "mad_us", 0), st->halves_diff = num(o, "median_halves_diff", 0);
    double all = st->mean + st->min + st->p10 + st->p50 + st->p90 + st->p99 + st->p999 + st->max + st->stdev + st->cv +
                 st->mad + st->halves_diff;
    if (isnan(all)) return "latency_us, cv, mad_us or median_halves_diff: a missing or negative number";
    if (!(st->min > 0 && st->min <= st->p10 && st->p10 <= st->p50 && st->p50 <= st->p90 && st->p90 <= st->p99 &&
          st->p99 <= st->p999 && st->p999 <= st->max && st->min <= st->mean && st->mean <= st->max))
        return "latency_us: statistics out of order (min <= p10 <= ... <= max, all > 0)";
    st->unstable = stats_unstable_verdict(n, st->halves_diff);
    return NULL;
}

/* The timing fields into t. */
static const char *read_timing(const cJSON *o, bench_timing *t) {
    const char *wr = str(o, "warmup_result");
    double it = num(o, "iterations", 1), wc = num(o, "warmup_calls", 0);
    t->first_call_us = num(o, "first_call_us", 0), t->total_s = num(o, "total_s", 0);
    t->cpu_per_call_us = num(o, "cpu_time_per_call_us", 0);
    if (isnan(it + wc + t->first_call_us + t->total_s + t->cpu_per_call_us) || it != floor(it) || wc != floor(wc))
        return "iterations, warmup_calls, first_call_us, total_s or cpu_time_per_call_us: a missing or bad number";
    if (!wr || (strcmp(wr, "settled") && strcmp(wr, "capped") && strcmp(wr, "fixed")))
        return "warmup_result: expected settled, capped or fixed";
    t->n = (long)it, t->warmup_calls = (long)wc;
    t->warmup_settled = !strcmp(wr, "settled") ? 1 : !strcmp(wr, "fixed") ? -1 : 0;
    return read_stats(o, t->n, &t->st);
}

/* validation into w (null: not validated; only where we handed over a reference). */
static const char *read_validation(const cJSON *o, bench_row *w, int have_ref) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "validation");
    if (cJSON_IsNull(v)) return have_ref ? "validation: null although references were given" : NULL;
    if (!cJSON_IsObject(v) || !have_ref) return "validation: expected an object where references were given, else null";
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(v, "ok"),
                *ta = cJSON_GetObjectItemCaseSensitive(v, "top1_agree"),
                *tr = cJSON_GetObjectItemCaseSensitive(v, "top1_rows");
    bench_validation *b = &w->val;
    b->max_abs = num(v, "max_abs_err", 0), b->max_rel = num(v, "max_rel_err", 0);
    double bad = num(v, "bad_values", 0), nf = num(v, "nonfinite_values", 0);
    w->atol = num(v, "atol", 0), w->rtol = num(v, "rtol", 0);
    if (!cJSON_IsBool(ok) || isnan(b->max_abs + b->max_rel + bad + nf + w->atol + w->rtol) || nf > bad)
        return "validation: ok, max_abs_err, max_rel_err, bad_values, nonfinite_values, atol or rtol missing or bad";
    if (cJSON_IsNumber(ta) != cJSON_IsNumber(tr) || (!cJSON_IsNumber(ta) && !cJSON_IsNull(ta)) ||
        (cJSON_IsNumber(ta) && !(ta->valuedouble >= 0 && ta->valuedouble <= tr->valuedouble)))
        return "validation: top1_agree and top1_rows must both be counts (agree <= rows) or both null";
    if (w->atol != BENCH_ATOL || w->rtol != BENCH_RTOL) return "validation: atol/rtol differ from the benchmark's";
    b->top1_agree = cJSON_IsNumber(ta) ? (long)ta->valuedouble : 0;
    b->top1_rows = cJSON_IsNumber(tr) ? (long)tr->valuedouble : 0;
    b->nonfinite_got = (long)nf, b->bad_values = (long)bad, b->out_of_tol = (long)(bad - nf);
    b->elems = 0;
    for (int k = 0; k < w->info.n_outputs; k++) b->elems += w->batch * w->info.output[k].width;
    b->ref_elems = b->elems;
    b->ok = cJSON_IsTrue(ok);
    if (b->ok != (b->bad_values == 0 && b->top1_agree == b->top1_rows)) return "validation: ok contradicts the counts";
    w->validated = 1;
    return NULL;
}

/* What is wrong with row o as a measured row of model m (NULL when nothing), filling w. */
static const char *read_row(const run_ctx *c, int m, const cJSON *o, bench_row *w) {
    const model_ctx *mc = &c->m[m];
    const char *prov = str(o, "provider"), *dev = str(o, "device"), *cov = str(o, "timing_covers");
    double batch = num(o, "batch_size", 1), threads = num(o, "threads", 1), ms = num(o, "session_create_ms", 0);
    if (isnan(batch) || !known_batch(mc, batch)) return "batch_size: not one of the model's batch sizes";
    if (!prov || !dev || !cov || isnan(threads + ms)) return "provider, device, timing_covers, threads or "
                                                             "session_create_ms: missing or bad";
    w->batch = (int)batch;
    w->concurrency = 1;
    w->info = *mc->first; /* the graph's inputs and outputs as the benchmark saw them */
    snprintf(w->info.provider, sizeof w->info.provider, "%s", prov);
    snprintf(w->info.device, sizeof w->info.device, "%s", dev);
    snprintf(w->info.note, sizeof w->info.note, "%s", cov);
    w->info.threads = (int)threads, w->info.create_ms = ms;
    snprintf(w->model, sizeof w->model, "%s", c->r->env.models[m].label);
    snprintf(w->model_path, sizeof w->model_path, "%s", c->p->model_paths[m]);
    const char *why = read_timing(o, &w->tm);
    return why ? why : read_validation(o, w, c->p->validate && mc->net && rows_input(mc));
}

/* Puts row w after the last row of the same model and batch (one caller), so that the table groups them. */
static void insert_row(bench_result *r, const bench_row *w) {
    int at = r->n_rows;
    for (int i = 0; i < r->n_rows; i++)
        if (!strcmp(r->rows[i].model, w->model) && r->rows[i].batch == w->batch && r->rows[i].concurrency <= 1)
            at = i + 1;
    memmove(&r->rows[at + 1], &r->rows[at], sizeof *r->rows * (size_t)(r->n_rows - at));
    r->rows[at] = *w;
    r->n_rows++;
}

/* One row of the script's output: a skip (noted on the model) or a measurement (merged into the results). */
static nrps_status take_row(run_ctx *c, const peer_ctx *pc, int i, const cJSON *o) {
    const char *be = str(o, "backend"), *skipped = str(o, "skipped");
    if (!cJSON_IsObject(o)) return bad_row(pc, i, "not an object", NULL);
    if (!be || (strcmp(be, "torch-eager") && strcmp(be, "torch-script")))
        return bad_row(pc, i, "backend: expected torch-eager or torch-script", NULL);
    int m = row_model(c, o);
    if (m < 0) return bad_row(pc, i, "model and model_sha256 name no model of this run", NULL);
    if (skipped) return note_peer_skip(c, m, be, skipped), NRPS_OK;
    bench_row w;
    memset(&w, 0, sizeof w);
    snprintf(w.backend, sizeof w.backend, "%s", be);
    const char *why = read_row(c, m, o, &w);
    if (why) return bad_row(pc, i, why, NULL);
    for (int k = 0; k < c->r->n_rows; k++) {
        const bench_row *x = &c->r->rows[k];
        if (!strcmp(x->backend, be) && !strcmp(x->model, w.model) && x->batch == w.batch)
            return bad_row(pc, i, "a second row for the same backend, model and batch size", NULL);
    }
    if (c->r->n_rows >= c->max_rows) return bad_row(pc, i, "more rows than models x batch sizes x 2", NULL);
    insert_row(c->r, &w);
    c->r->validation_failed += w.validated && !w.val.ok;
    return NRPS_OK;
}

/* Parses the script's output strictly and merges it. */
static nrps_status take_output(run_ctx *c, const peer_ctx *pc, const char *text) {
    cJSON *root = cJSON_Parse(text);
    nrps_status st = NRPS_OK;
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "rows"),
                *avail = cJSON_GetObjectItemCaseSensitive(root, "available");
    const char *schema = str(root, "schema"), *reason = str(root, "reason");
    if (!cJSON_IsObject(root) || !schema || strcmp(schema, "neural_rps.torch_peer") || !cJSON_IsBool(avail) ||
        !cJSON_IsArray(rows))
        st = bad_row(pc, -1, "expected one JSON object with schema \"neural_rps.torch_peer\", available and rows on "
                             "standard output", NULL);
    else if (cJSON_IsFalse(avail))
        snprintf(c->r->env.peers_note, sizeof c->r->env.peers_note, "%s", reason ? reason : "torch is not available");
    for (int i = 0; st == NRPS_OK && cJSON_IsTrue(avail) && i < cJSON_GetArraySize(rows); i++)
        st = take_row(c, pc, i, cJSON_GetArrayItem(rows, i));
    cJSON_Delete(root);
    return st;
}

/* Runs the script on the hand-over files and merges what it printed; models whose input the peers cannot take are
 * noted (and the script not run when no model is left). */
static nrps_status run_script(run_ctx *c, peer_ctx *pc) {
    char manifest[640], out[640], err[640], msg[300];
    int left = 0;
    for (int m = 0; m < c->n_models; m++) {
        if (rows_input(&c->m[m]) && ++left) continue;
        input_why(&c->m[m], msg, sizeof msg);
        note_peer_skip(c, m, "torch-eager", msg), note_peer_skip(c, m, "torch-script", msg);
    }
    if (!left) return NRPS_OK;
    nrps_status st = write_manifest(c, pc, manifest, sizeof manifest);
    if (st != NRPS_OK) return st;
    snprintf(out, sizeof out, "%s/stdout", pc->dir);
    snprintf(err, sizeof err, "%s/stderr", pc->dir);
    bench_progress(c, "timing %-12s %-12s %-13s", "torch peers", "(every model)", 0);
    int rc = spawn_script(pc, manifest, out, err);
    if (rc < 0) {
        snprintf(c->r->env.peers_note, sizeof c->r->env.peers_note, "cannot run %s: %s", pc->python, strerror(errno));
        return NRPS_OK;
    }
    if (nrps_interrupted) return c->r->interrupted = 1, NRPS_OK; /* the stop reached the script too */
    last_line(err, msg, sizeof msg);
    if (rc != 0) {
        nrps_set_error("torch peers: %s %s failed (exit status %d)%s%s", pc->python, pc->script, rc, msg[0] ? ": " : "",
                       msg);
        return NRPS_ERR_BACKEND;
    }
    char *text = NULL;
    size_t n = 0;
    if ((st = nrps_read_file(out, PEER_OUT_MAX, &text, &n)) != NRPS_OK) return st;
    st = take_output(c, pc, text);
    free(text);
    return st;
}

/* Room for every peer row: two backends per model and batch. */
static nrps_status grow_rows(run_ctx *c) {
    int more = 0;
    for (int m = 0; m < c->n_models; m++) more += 2 * c->m[m].n_batches;
    bench_row *rows = realloc(c->r->rows, sizeof *rows * (size_t)(c->max_rows + more));
    if (!rows) return nrps_set_error("out of memory for the results"), NRPS_ERR_NOMEM;
    c->r->rows = rows;
    c->max_rows += more;
    return NRPS_OK;
}

nrps_status bench_run_peers(run_ctx *c) {
    bench_env *e = &c->r->env;
    if (!c->p->peers || c->r->interrupted) return NRPS_OK;
    snprintf(e->peers, sizeof e->peers, "%s", c->p->peers);
    peer_ctx pc;
    memset(&pc, 0, sizeof pc);
    pc.python = getenv("PYTHON") && getenv("PYTHON")[0] ? getenv("PYTHON") : "/usr/bin/python3";
    if (!find_script(pc.script, sizeof pc.script, e->peers_note, sizeof e->peers_note)) return NRPS_OK;
    nrps_status st = grow_rows(c);
    if (st == NRPS_OK) st = make_dir(&pc);
    if (st == NRPS_OK) st = run_script(c, &pc);
    remove_dir(&pc);
    return st;
}
