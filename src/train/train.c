/* train.c - self-play training loop, checkpoints, outputs and solver analysis (see train.h). */
#include "train/train.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "onnx/onnx_net.h"
#include "search/arena.h"
#include "search/eval_net.h"
#include "search/solver.h"
#include "train/replay.h"
#include "train/selfplay.h"

#define STATE_MAGIC "NRPSTRST"
#define STATE_VERSION 2u /* 2: 64-bit sample keys (hands encoding) */
#define STATE_MAX_BYTES (1024L * 1024 * 1024)

train_config train_config_default(void) {
    train_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.out_dir, sizeof c.out_dir, "runs/train");
    snprintf(c.backend, sizeof c.backend, "%s", SELFPLAY_DEFAULT_BACKEND);
    c.game = rps_config_standard();
    c.generations = 24;
    c.games = 1500;
    c.playouts = 200;
    c.mcts_batch = 4;
    c.c_puct = 1.5;
    c.dirichlet_alpha = 0.3;
    c.dirichlet_weight = 0.25;
    c.temperature = 1.0;
    c.temperature_plies = 4;
    c.hidden_policy = 128;
    c.hidden_value = 64;
    c.encoding = RPS_ENC_HANDS;
    c.lr = 2e-3;
    c.lr_final = 5e-4;
    c.weight_decay = 1e-4;
    c.batch = 128;
    c.epochs = 6;
    c.window = 4;
    c.value_loss = MLP_LOSS_BCE;
    c.seed = 1;
    c.threads = 1;
    c.eval_games = 100;
    c.eval_playouts = 100;
    return c;
}

nrps_status train_config_check(const train_config *c) {
#define BAD(...)                                                                                                 \
    do {                                                                                                         \
        nrps_set_error(__VA_ARGS__);                                                                             \
        return NRPS_ERR_ARG;                                                                                     \
    } while (0)
    if (!c->out_dir[0]) BAD("--out must not be empty");
    if (c->generations < 1 || c->generations > 100000) BAD("--generations must be in [1, 100000], got %d", c->generations);
    if (c->games < 1 || c->games > 10000000) BAD("--games must be in [1, 10000000], got %ld", c->games);
    if (c->playouts < 1 || c->playouts > 1000000) BAD("--playouts must be in [1, 1000000], got %d", c->playouts);
    if (c->mcts_batch < 1 || c->mcts_batch > 1024) BAD("--mcts-batch must be in [1, 1024], got %d", c->mcts_batch);
    if (!(c->c_puct > 0 && c->c_puct <= 1000)) BAD("--c-puct must be in (0, 1000], got %g", c->c_puct);
    if (!(c->dirichlet_alpha > 0 && c->dirichlet_alpha <= 1000)) BAD("--dirichlet-alpha must be in (0, 1000], got %g", c->dirichlet_alpha);
    if (!(c->dirichlet_weight >= 0 && c->dirichlet_weight <= 1)) BAD("--dirichlet-weight must be in [0, 1], got %g", c->dirichlet_weight);
    if (!(c->temperature >= 0 && c->temperature <= 100)) BAD("temperature must be in [0, 100], got %g", c->temperature);
    if (c->temperature_plies < 0 || c->temperature_plies > RPS_MAX_PLIES) BAD("--temperature-plies must be in [0, %d], got %d", RPS_MAX_PLIES, c->temperature_plies);
    if (!(c->random_share >= 0 && c->random_share <= 1)) BAD("--random-opponents must be in [0, 1], got %g", c->random_share);
    if (c->hidden_policy < 1 || c->hidden_policy > 65536) BAD("--hidden-policy must be in [1, 65536], got %d", c->hidden_policy);
    if (c->hidden_value < 1 || c->hidden_value > 65536) BAD("--hidden-value must be in [1, 65536], got %d", c->hidden_value);
    if (!(c->lr > 0 && c->lr <= 10)) BAD("--lr must be in (0, 10], got %g", c->lr);
    if (!(c->lr_final >= 0 && c->lr_final <= 10)) BAD("--lr-final must be in [0, 10], got %g", c->lr_final);
    if (!(c->weight_decay >= 0 && c->weight_decay <= 10)) BAD("--weight-decay must be in [0, 10], got %g", c->weight_decay);
    if (c->batch < 1 || c->batch > 65536) BAD("--batch must be in [1, 65536], got %d", c->batch);
    if (c->epochs < 1 || c->epochs > 10000) BAD("--epochs must be in [1, 10000], got %d", c->epochs);
    if (c->window < 1 || c->window > REPLAY_MAX_WINDOW) BAD("--window must be in [1, %d], got %d", REPLAY_MAX_WINDOW, c->window);
    if (c->value_loss != MLP_LOSS_BCE && c->value_loss != MLP_LOSS_MSE) BAD("--value-loss must be bce or mse");
    if (c->threads < 1 || c->threads > 1024) BAD("--threads must be in [1, 1024], got %d", c->threads);
    if (c->eval_games < 0 || c->eval_games > 10000000) BAD("--eval-games must be in [0, 10000000], got %ld", c->eval_games);
    if (c->eval_playouts < 1 || c->eval_playouts > 1000000) BAD("--eval-playouts must be in [1, 1000000], got %d", c->eval_playouts);
    if (rps_config_check(&c->game) != NRPS_OK) return NRPS_ERR_ARG;
#undef BAD
    return NRPS_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Small helpers: paths, folders, byte buffers
 * ---------------------------------------------------------------------------------------------- */

static void path_join(char *out, size_t n, const char *a, const char *b) { snprintf(out, n, "%s/%s", a, b); }

/* mkdir -p */
static nrps_status make_dirs(const char *path) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", path);
    size_t len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                nrps_set_error("%s: cannot create folder: %s", buf, strerror(errno));
                return NRPS_ERR_IO;
            }
            buf[i] = c;
        }
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        nrps_set_error("%s: not a folder", path);
        return NRPS_ERR_IO;
    }
    return NRPS_OK;
}

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} bbuf;

static void bb_put(bbuf *b, const void *d, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n) c *= 2;
        uint8_t *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void bb_u32(bbuf *b, uint32_t v) {
    uint8_t d[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    bb_put(b, d, 4);
}
static void bb_u64(bbuf *b, uint64_t v) {
    bb_u32(b, (uint32_t)v);
    bb_u32(b, (uint32_t)(v >> 32));
}
static void bb_f32(bbuf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    bb_u32(b, u);
}
static void bb_f64(bbuf *b, double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    bb_u64(b, u);
}

typedef struct {
    const uint8_t *p;
    size_t n, at;
    int bad;
} breader;

static const uint8_t *br_take(breader *r, size_t n) {
    if (r->bad || r->n - r->at < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *q = r->p + r->at;
    r->at += n;
    return q;
}
static uint32_t br_u32(breader *r) {
    const uint8_t *d = br_take(r, 4);
    return d ? (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24 : 0;
}
static uint64_t br_u64(breader *r) {
    uint64_t lo = br_u32(r);
    return lo | (uint64_t)br_u32(r) << 32;
}
static float br_f32(breader *r) {
    uint32_t u = br_u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static double br_f64(breader *r) {
    uint64_t u = br_u64(r);
    double f;
    memcpy(&f, &u, 8);
    return f;
}

static uint64_t fnv1a64(const uint8_t *d, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= d[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t derive_seed(uint64_t seed, int gen, long stream) { return selfplay_game_seed(seed ^ 0xa5a5f00dULL, gen, stream); }

/* ------------------------------------------------------------------------------------------------
 * Configuration <-> JSON
 * ---------------------------------------------------------------------------------------------- */

static cJSON *config_to_json(const train_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "deck", c->game.deck_size);
    cJSON_AddNumberToObject(o, "hand", c->game.hand_size);
    cJSON_AddNumberToObject(o, "rounds", c->game.max_rounds);
    cJSON_AddNumberToObject(o, "generations", c->generations);
    cJSON_AddNumberToObject(o, "games", (double)c->games);
    cJSON_AddNumberToObject(o, "playouts", c->playouts);
    cJSON_AddNumberToObject(o, "mcts_batch", c->mcts_batch);
    cJSON_AddNumberToObject(o, "c_puct", c->c_puct);
    cJSON_AddNumberToObject(o, "dirichlet_alpha", c->dirichlet_alpha);
    cJSON_AddNumberToObject(o, "dirichlet_weight", c->dirichlet_weight);
    cJSON_AddNumberToObject(o, "temperature", c->temperature);
    cJSON_AddNumberToObject(o, "temperature_plies", c->temperature_plies);
    cJSON_AddNumberToObject(o, "random_opponent_share", c->random_share);
    cJSON_AddNumberToObject(o, "hidden_policy", c->hidden_policy);
    cJSON_AddNumberToObject(o, "hidden_value", c->hidden_value);
    cJSON_AddStringToObject(o, "input_encoding", rps_encoding_name(c->encoding));
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "lr_final", c->lr_final);
    cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddNumberToObject(o, "epochs", c->epochs);
    cJSON_AddNumberToObject(o, "window", c->window);
    cJSON_AddStringToObject(o, "value_loss", c->value_loss == MLP_LOSS_BCE ? "bce" : "mse");
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddNumberToObject(o, "threads", c->threads);
    cJSON_AddNumberToObject(o, "eval_games", (double)c->eval_games);
    cJSON_AddNumberToObject(o, "eval_playouts", c->eval_playouts);
    return o;
}

static int json_num(const cJSON *o, const char *k, double *v) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(it)) return 0;
    *v = it->valuedouble;
    return 1;
}

static int config_from_json(const cJSON *o, train_config *c) {
    double v;
#define GETI(key, field)                                                                                         \
    if (!json_num(o, key, &v)) return 0;                                                                         \
    c->field = (int)v;
#define GETL(key, field)                                                                                         \
    if (!json_num(o, key, &v)) return 0;                                                                         \
    c->field = (long)v;
#define GETD(key, field)                                                                                         \
    if (!json_num(o, key, &v)) return 0;                                                                         \
    c->field = v;
    GETI("deck", game.deck_size) GETI("hand", game.hand_size) GETI("rounds", game.max_rounds)
    GETI("generations", generations) GETL("games", games) GETI("playouts", playouts)
    GETI("mcts_batch", mcts_batch) GETD("c_puct", c_puct) GETD("dirichlet_alpha", dirichlet_alpha)
    GETD("dirichlet_weight", dirichlet_weight) GETD("temperature", temperature)
    GETI("temperature_plies", temperature_plies) GETI("hidden_policy", hidden_policy)
    GETI("hidden_value", hidden_value) GETD("lr", lr) GETD("lr_final", lr_final)
    GETD("weight_decay", weight_decay) GETI("batch", batch) GETI("epochs", epochs) GETI("window", window)
    GETI("threads", threads) GETL("eval_games", eval_games) GETI("eval_playouts", eval_playouts)
    c->random_share = json_num(o, "random_opponent_share", &v) ? v : 0.0;
#undef GETI
#undef GETL
#undef GETD
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(o, "input_encoding");
    if (!cJSON_IsString(en) || !en->valuestring[0] || !rps_encoding_parse(en->valuestring, &c->encoding)) return 0;
    const cJSON *vl = cJSON_GetObjectItemCaseSensitive(o, "value_loss");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "seed");
    if (!cJSON_IsString(vl) || !cJSON_IsString(sd)) return 0;
    if (!strcmp(vl->valuestring, "bce")) c->value_loss = MLP_LOSS_BCE;
    else if (!strcmp(vl->valuestring, "mse")) c->value_loss = MLP_LOSS_MSE;
    else return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long s = strtoull(sd->valuestring, &end, 10);
    if (errno || !end || *end || end == sd->valuestring) return 0;
    c->seed = (uint64_t)s;
    return 1;
}

/* ------------------------------------------------------------------------------------------------
 * Run state (in memory) and its checkpoint
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    train_config cfg;
    int finished;             /* generations finished */
    double elapsed;           /* seconds spent in finished generations (all sessions) */
    mlp pol, val;
    mlp_trainer *tp, *tv;
    replay_buffer rb;
    cJSON *gens;              /* per-generation statistics (array) */
} train_state;

static void state_free(train_state *s) {
    mlp_trainer_destroy(s->tp);
    mlp_trainer_destroy(s->tv);
    mlp_free(&s->pol);
    mlp_free(&s->val);
    replay_free(&s->rb);
    cJSON_Delete(s->gens);
    s->tp = s->tv = NULL;
    s->gens = NULL;
}

static nrps_status state_file_write(const train_state *s, const char *path) {
    bbuf b = {0};
    cJSON *cj = config_to_json(&s->cfg);
    char *cfg_txt = cj ? cJSON_PrintUnformatted(cj) : NULL;
    char *gen_txt = s->gens ? cJSON_PrintUnformatted(s->gens) : NULL;
    nrps_status rc = NRPS_OK;
    if (!cfg_txt || !gen_txt) {
        nrps_set_error("%s: out of memory", path);
        rc = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    bb_put(&b, STATE_MAGIC, 8);
    bb_u32(&b, STATE_VERSION);
    bb_u32(&b, (uint32_t)s->finished);
    bb_f64(&b, s->elapsed);
    bb_u32(&b, (uint32_t)strlen(cfg_txt));
    bb_put(&b, cfg_txt, strlen(cfg_txt));
    bb_u32(&b, (uint32_t)strlen(gen_txt));
    bb_put(&b, gen_txt, strlen(gen_txt));
    bb_u32(&b, (uint32_t)s->rb.ngens);
    for (int i = 0; i < s->rb.ngens; i++) {
        const replay_gen *g = &s->rb.g[i];
        bb_u32(&b, (uint32_t)g->gen);
        bb_u64(&b, (uint64_t)g->n);
        for (long k = 0; k < g->n; k++) {
            bb_u64(&b, g->s[k].key);
            for (int p = 0; p < RPS_POLICY_SIZE; p++) bb_f32(&b, g->s[k].policy[p]);
            bb_f32(&b, g->s[k].value);
        }
    }
    bb_u64(&b, fnv1a64(b.p, b.n));
    if (b.oom) {
        nrps_set_error("%s: out of memory", path);
        rc = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    rc = nrps_write_file_atomic(path, b.p, b.n);
cleanup:
    free(b.p);
    free(cfg_txt);
    free(gen_txt);
    cJSON_Delete(cj);
    return rc;
}

/* Reads state.bin into s (cfg, finished, elapsed, gens, rb). Nets/trainers are not touched. */
static nrps_status state_file_read(const char *path, train_state *s, int want_replay) {
    char *data = NULL;
    size_t len = 0;
    char *txt = NULL;
    nrps_status rc = nrps_read_file(path, STATE_MAX_BYTES, &data, &len);
    if (rc != NRPS_OK) return rc;
    const uint8_t *d = (const uint8_t *)data;
    breader r = {d, len, 0, 0};
    const char *why = NULL;
    if (len < 8 || memcmp(d, STATE_MAGIC, 8) != 0) {
        why = "not a training state file (bad magic)";
        goto bad;
    }
    if (len < 8 + 4 + 4 + 8 + 4 + 4 + 4 + 8) {
        why = "truncated";
        goto bad;
    }
    r.at = len - 8;
    uint64_t stored = br_u64(&r);
    if (fnv1a64(d, len - 8) != stored) {
        why = "checksum mismatch (file damaged or truncated)";
        goto bad;
    }
    r.at = 8;
    r.n = len - 8;
    uint32_t ver = br_u32(&r);
    if (ver != STATE_VERSION) {
        nrps_set_error("%s: unsupported training state version %u (expected %u)", path, ver, STATE_VERSION);
        rc = NRPS_ERR_FORMAT;
        goto cleanup;
    }
    s->finished = (int)br_u32(&r);
    s->elapsed = br_f64(&r);
    uint32_t cl = br_u32(&r);
    const uint8_t *ct = br_take(&r, cl);
    if (!ct) {
        why = "truncated configuration";
        goto bad;
    }
    txt = malloc((size_t)cl + 1);
    if (!txt) {
        why = "out of memory";
        goto bad;
    }
    memcpy(txt, ct, cl);
    txt[cl] = '\0';
    cJSON *cj = cJSON_Parse(txt);
    int ok = cj && config_from_json(cj, &s->cfg);
    cJSON_Delete(cj);
    free(txt);
    txt = NULL;
    if (!ok) {
        why = "bad configuration record";
        goto bad;
    }
    snprintf(s->cfg.out_dir, sizeof s->cfg.out_dir, "%s", "");
    uint32_t gl = br_u32(&r);
    const uint8_t *gt = br_take(&r, gl);
    if (!gt || !(txt = malloc((size_t)gl + 1))) {
        why = "truncated statistics";
        goto bad;
    }
    memcpy(txt, gt, gl);
    txt[gl] = '\0';
    cJSON_Delete(s->gens);
    s->gens = cJSON_Parse(txt);
    if (!cJSON_IsArray(s->gens)) {
        why = "bad statistics record";
        goto bad;
    }
    if (!want_replay) goto cleanup;
    replay_init(&s->rb, s->cfg.window);
    uint32_t ng = br_u32(&r);
    if (ng > (uint32_t)s->cfg.window) {
        why = "replay window larger than configured";
        goto bad;
    }
    for (uint32_t i = 0; i < ng; i++) {
        int gen = (int)br_u32(&r);
        uint64_t n = br_u64(&r);
        if (r.bad || n > (r.n - r.at) / 48) {
            why = "truncated replay window";
            goto bad;
        }
        sp_sample *smp = malloc((size_t)(n ? n : 1) * sizeof *smp);
        if (!smp) {
            why = "out of memory";
            goto bad;
        }
        for (uint64_t k = 0; k < n; k++) {
            smp[k].key = br_u64(&r);
            for (int p = 0; p < RPS_POLICY_SIZE; p++) smp[k].policy[p] = br_f32(&r);
            smp[k].value = br_f32(&r);
        }
        replay_add(&s->rb, gen, smp, (long)n);
    }
    if (r.bad || r.at != r.n) {
        why = "unexpected length";
        goto bad;
    }
    goto cleanup;
bad:
    nrps_set_error("%s: %s", path, why);
    rc = NRPS_ERR_FORMAT;
cleanup:
    free(txt);
    free(data);
    return rc;
}

static nrps_status read_latest(const char *dir, char *name, size_t n) {
    char p[2048];
    snprintf(p, sizeof p, "%s/checkpoint/LATEST", dir);
    char *data = NULL;
    size_t len = 0;
    if (access(p, F_OK) != 0) {
        nrps_set_error("%s: no checkpoint (missing %s)", dir, p);
        return NRPS_ERR_IO;
    }
    nrps_status rc = nrps_read_file(p, 4096, &data, &len);
    if (rc != NRPS_OK) return rc;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) data[--len] = '\0';
    int g = -1;
    char tail = 0;
    if (len == 0 || len >= n || sscanf(data, "gen_%d%c", &g, &tail) != 1 || g < 0) {
        nrps_set_error("%s: expected one line 'gen_NNNN', got '%.40s'", p, data);
        free(data);
        return NRPS_ERR_FORMAT;
    }
    snprintf(name, n, "%s", data);
    free(data);
    return NRPS_OK;
}

nrps_status train_checkpoint_peek(const char *dir, train_config *cfg, int *finished) {
    char name[256], p[2048];
    nrps_status rc = read_latest(dir, name, sizeof name);
    if (rc != NRPS_OK) return rc;
    snprintf(p, sizeof p, "%s/checkpoint/%s/state.bin", dir, name);
    train_state s;
    memset(&s, 0, sizeof s);
    rc = state_file_read(p, &s, 0);
    if (rc == NRPS_OK) {
        *cfg = s.cfg;
        snprintf(cfg->out_dir, sizeof cfg->out_dir, "%s", dir);
        if (finished) *finished = s.finished;
    }
    cJSON_Delete(s.gens);
    return rc;
}

/* "<name>.tmp.<digits>": a temp file of nrps_atomic_open that a killed run (SIGKILL, power loss) left behind. */
static int is_stale_tmp(const char *name) {
    const char *t = strstr(name, ".tmp.");
    if (!t || t == name || !t[5]) return 0;
    for (t += 5; *t; t++)
        if (*t < '0' || *t > '9') return 0;
    return 1;
}

/* Removes such temp files from dir and its subfolders down to depth levels (the targets were never touched:
 * every write is temp + rename, so these are only debris). */
static void stale_tmp_sweep(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    char p[2100];
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode) && depth > 0) stale_tmp_sweep(p, depth - 1);
        else if (S_ISREG(sb.st_mode) && is_stale_tmp(e->d_name)) unlink(p);
    }
    closedir(d);
}

static void remove_ckpt_dir(const char *dir) {
    const char *files[] = {"policy.ckpt", "value.ckpt", "state.bin"};
    char p[2100];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

static nrps_status checkpoint_write(const train_state *s) {
    char dir[1600], p[2100], name[64];
    snprintf(name, sizeof name, "gen_%04d", s->finished);
    snprintf(dir, sizeof dir, "%s/checkpoint/%s", s->cfg.out_dir, name);
    nrps_status rc = make_dirs(dir);
    if (rc != NRPS_OK) return rc;
    path_join(p, sizeof p, dir, "policy.ckpt");
    if ((rc = mlp_trainer_save(s->tp, p)) != NRPS_OK) return rc;
    path_join(p, sizeof p, dir, "value.ckpt");
    if ((rc = mlp_trainer_save(s->tv, p)) != NRPS_OK) return rc;
    path_join(p, sizeof p, dir, "state.bin");
    if ((rc = state_file_write(s, p)) != NRPS_OK) return rc;
    char line[80];
    snprintf(line, sizeof line, "%s\n", name);
    snprintf(p, sizeof p, "%s/checkpoint/LATEST", s->cfg.out_dir);
    if ((rc = nrps_write_file_atomic(p, line, strlen(line))) != NRPS_OK) return rc;
    /* keep this checkpoint and the previous one */
    if (s->finished >= 2) {
        snprintf(dir, sizeof dir, "%s/checkpoint/gen_%04d", s->cfg.out_dir, s->finished - 2);
        remove_ckpt_dir(dir);
    }
    return NRPS_OK;
}

static nrps_status checkpoint_read(const char *out_dir, train_state *s) {
    char name[256], dir[1600], p[2100];
    nrps_status rc = read_latest(out_dir, name, sizeof name);
    if (rc != NRPS_OK) return rc;
    snprintf(dir, sizeof dir, "%s/checkpoint/%s", out_dir, name);
    path_join(p, sizeof p, dir, "state.bin");
    if ((rc = state_file_read(p, s, 1)) != NRPS_OK) return rc;
    int g = -1;
    sscanf(name, "gen_%d", &g);
    if (g != s->finished) {
        nrps_set_error("%s: holds generation %d but LATEST names %s", p, s->finished, name);
        return NRPS_ERR_FORMAT;
    }
    path_join(p, sizeof p, dir, "policy.ckpt");
    if ((rc = mlp_trainer_load(p, s->cfg.batch, &s->pol, &s->tp)) != NRPS_OK) return rc;
    path_join(p, sizeof p, dir, "value.ckpt");
    if ((rc = mlp_trainer_load(p, s->cfg.batch, &s->val, &s->tv)) != NRPS_OK) return rc;
    if (s->pol.in != RPS_INPUT_SIZE || s->pol.out != RPS_POLICY_SIZE || s->pol.hidden != s->cfg.hidden_policy ||
        s->val.in != RPS_INPUT_SIZE || s->val.out != 1 || s->val.hidden != s->cfg.hidden_value) {
        nrps_set_error("%s: networks do not match the run's configuration (81-%d-9 / 81-%d-1)", dir,
                       s->cfg.hidden_policy, s->cfg.hidden_value);
        return NRPS_ERR_FORMAT;
    }
    return NRPS_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Outputs
 * ---------------------------------------------------------------------------------------------- */

/* TEMPORARY until the trainer trains nn_net: the 2-layer mlp as a network of the family. */
static nrps_status net_from_mlp(const mlp *m, nn_head_kind kind, nn_net *out) {
    int hidden[1] = {m->hidden};
    nn_arch a = nn_arch_mlp(m->in, hidden, 1, (nn_act)m->hidden_act, 0, m->out, (nn_act)m->out_act, kind);
    nrps_status st = nn_init(out, &a);
    if (st == NRPS_OK) memcpy(out->params, m->params, out->n_params * sizeof(float));
    return st;
}

static void onnx_info_for(const train_state *s, onnx_net_info *info) {
    onnx_net_info_default(info);
    info->training_games = (long long)s->finished * s->cfg.games;
    info->seed = (long long)(s->cfg.seed & 0x7fffffffffffffffULL);
    snprintf(info->input_encoding, sizeof info->input_encoding, "%s", rps_encoding_name(s->cfg.encoding));
}

/* The current networks as models for self-play (out[0] policy, out[1] value; caller frees). */
static nrps_status generation_models(const train_state *s, be_model *out[2]) {
    const mlp *nets[2] = {&s->pol, &s->val};
    onnx_net_info info;
    onnx_info_for(s, &info);
    for (int i = 0; i < 2; i++) {
        nn_net n;
        nrps_status rc = net_from_mlp(nets[i], i ? NN_HEAD_VALUE : NN_HEAD_POLICY, &n);
        if (rc == NRPS_OK) rc = be_model_from_net(&n, &info, i ? "training value network" : "training policy network",
                                                  &out[i]);
        nn_free(&n);
        if (rc != NRPS_OK) return rc;
    }
    return NRPS_OK;
}

static nrps_status save_onnx_pair(const train_state *s, const char *dir) {
    nrps_status rc = make_dirs(dir);
    if (rc != NRPS_OK) return rc;
    const mlp *nets[2] = {&s->pol, &s->val};
    const char *files[2] = {"rps_policy.onnx", "rps_value.onnx"};
    onnx_net_info info;
    onnx_info_for(s, &info);
    for (int i = 0; i < 2; i++) {
        char p[2100];
        path_join(p, sizeof p, dir, files[i]);
        nn_net n;
        if ((rc = net_from_mlp(nets[i], i ? NN_HEAD_VALUE : NN_HEAD_POLICY, &n)) == NRPS_OK)
            rc = onnx_net_save(p, &n, &info);
        nn_free(&n);
        if (rc != NRPS_OK) return rc;
    }
    return NRPS_OK;
}

static void gen_dir(char *out, size_t n, const char *root, int g) { snprintf(out, n, "%s/generations/g%04d", root, g); }

static nrps_status write_summary(const train_state *s, int complete) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "format_version", 1);
    cJSON_AddStringToObject(o, "producer", "neural_rps " NRPS_VERSION " train");
    cJSON_AddBoolToObject(o, "complete", complete);
    cJSON_AddItemToObject(o, "config", config_to_json(&s->cfg));
    cJSON_AddNumberToObject(o, "finished_generations", s->finished);
    cJSON_AddNumberToObject(o, "training_games", (double)s->finished * (double)s->cfg.games);
    cJSON_AddNumberToObject(o, "total_seconds", s->elapsed);
    cJSON *models = cJSON_AddObjectToObject(o, "models");
    cJSON_AddStringToObject(models, "policy", "rps_policy.onnx");
    cJSON_AddStringToObject(models, "value", "rps_value.onnx");
    char arch[64];
    snprintf(arch, sizeof arch, "81-%d-9", s->cfg.hidden_policy);
    cJSON_AddStringToObject(models, "policy_architecture", arch);
    snprintf(arch, sizeof arch, "81-%d-1", s->cfg.hidden_value);
    cJSON_AddStringToObject(models, "value_architecture", arch);
    cJSON_AddItemToObject(o, "generations", cJSON_Duplicate(s->gens, 1));
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt) {
        nrps_set_error("summary: out of memory");
        return NRPS_ERR_NOMEM;
    }
    char p[2100];
    path_join(p, sizeof p, s->cfg.out_dir, "summary.json");
    size_t len = strlen(txt);
    txt[len] = '\0';
    char *withnl = malloc(len + 2);
    nrps_status rc = NRPS_ERR_NOMEM;
    if (withnl) {
        memcpy(withnl, txt, len);
        withnl[len] = '\n';
        rc = nrps_write_file_atomic(p, withnl, len + 1);
    } else {
        nrps_set_error("summary: out of memory");
    }
    free(withnl);
    free(txt);
    return rc;
}

static nrps_status write_outputs(const train_state *s, int complete) {
    nrps_status rc = save_onnx_pair(s, s->cfg.out_dir);
    if (rc == NRPS_OK) rc = write_summary(s, complete);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Arenas after each generation
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    long games;
    double score, lo, hi;
    int done;
} match_stat;

static nrps_status run_match(const train_config *cfg, const char *a_dir, const char *b_dir, int a_net_only,
                             uint64_t seed, match_stat *ms) {
    memset(ms, 0, sizeof *ms);
    arena_config ac;
    memset(&ac, 0, sizeof ac);
    char spec[64];
    if (a_net_only) snprintf(spec, sizeof spec, "net");
    else snprintf(spec, sizeof spec, "mcts-net:%d", cfg->eval_playouts);
    nrps_status rc = agent_spec_parse(spec, &ac.a);
    if (rc != NRPS_OK) return rc;
    agent_spec_set_nets(&ac.a, a_dir, cfg->backend);
    if (b_dir) {
        if ((rc = agent_spec_parse(spec, &ac.b)) != NRPS_OK) return rc;
        agent_spec_set_nets(&ac.b, b_dir, cfg->backend);
    } else if ((rc = agent_spec_parse("random", &ac.b)) != NRPS_OK) {
        return rc;
    }
    ac.game = cfg->game;
    ac.games = cfg->eval_games;
    ac.seed = seed;
    ac.threads = cfg->threads;
    ac.progress = 0;
    arena_result ar;
    memset(&ar, 0, sizeof ar);
    rc = arena_run(&ac, &ar);
    if (rc == NRPS_OK) {
        ms->games = ar.games;
        ms->score = ar.score;
        ms->lo = ar.score_lo;
        ms->hi = ar.score_hi;
        ms->done = 1;
    }
    arena_result_free(&ar);
    return rc;
}

static cJSON *match_json(const match_stat *m) {
    if (!m->done) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "games", (double)m->games);
    cJSON_AddNumberToObject(o, "score", m->score);
    cJSON_AddNumberToObject(o, "score_lo", m->lo);
    cJSON_AddNumberToObject(o, "score_hi", m->hi);
    return o;
}

static void match_text(char *buf, size_t n, const char *label, const match_stat *m) {
    if (!m->done) snprintf(buf, n, "  %s -", label);
    else snprintf(buf, n, "  %s %.1f%% [%.1f, %.1f]", label, 100 * m->score, 100 * m->lo, 100 * m->hi);
}

/* ------------------------------------------------------------------------------------------------
 * The loop
 * ---------------------------------------------------------------------------------------------- */

static float lr_for(const train_config *c, int g) {
    if (c->lr_final <= 0 || c->generations <= 1) return (float)c->lr;
    double f = (double)(g - 1) / (c->generations - 1);
    if (f > 1) f = 1;
    return (float)(c->lr + (c->lr_final - c->lr) * f);
}

static nrps_status fresh_state(const train_config *cfg, train_state *s) {
    s->cfg = *cfg;
    replay_init(&s->rb, cfg->window);
    s->gens = cJSON_CreateArray();
    nrps_status rc = mlp_init(&s->pol, RPS_INPUT_SIZE, cfg->hidden_policy, RPS_POLICY_SIZE, MLP_ACT_RELU, MLP_ACT_SOFTMAX);
    if (rc == NRPS_OK) rc = mlp_init(&s->val, RPS_INPUT_SIZE, cfg->hidden_value, 1, MLP_ACT_RELU, MLP_ACT_SIGMOID);
    if (rc != NRPS_OK || !s->gens) return rc != NRPS_OK ? rc : NRPS_ERR_NOMEM;
    nrps_rng rng;
    nrps_rng_seed(&rng, derive_seed(cfg->seed, 0, 1));
    mlp_init_random(&s->pol, &rng);
    mlp_init_random(&s->val, &rng);
    mlp_train_config tc = mlp_train_config_default();
    tc.lr = (float)cfg->lr;
    tc.weight_decay = (float)cfg->weight_decay;
    tc.max_batch = cfg->batch;
    tc.value_loss = MLP_LOSS_MSE;
    if (!(s->tp = mlp_trainer_create_ex(&s->pol, &tc))) return NRPS_ERR_ARG;
    tc.value_loss = cfg->value_loss;
    if (!(s->tv = mlp_trainer_create_ex(&s->val, &tc))) return NRPS_ERR_ARG;
    return NRPS_OK;
}

nrps_status train_run(const train_config *cfg_in, int resume, int *finished) {
    train_state s;
    memset(&s, 0, sizeof s);
    nrps_status rc = train_config_check(cfg_in);
    sp_sample *samples = NULL;
    replay_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (finished) *finished = 0;
    if (rc != NRPS_OK) return rc;
    const char *out = cfg_in->out_dir;
    char p[2100];
    if ((rc = make_dirs(out)) != NRPS_OK) goto cleanup;
    stale_tmp_sweep(out, 2); /* out/, checkpoint/ + generations/, gen_NNNN/ + gNNNN/ */
    double t_start = nrps_now_s();
    if (resume) {
        if ((rc = checkpoint_read(out, &s)) != NRPS_OK) goto cleanup;
        /* the stored configuration rules; generations, threads, eval and display settings may change */
        train_config c = s.cfg;
        c.generations = cfg_in->generations;
        c.threads = cfg_in->threads;
        c.eval_games = cfg_in->eval_games;
        c.eval_playouts = cfg_in->eval_playouts;
        c.progress = cfg_in->progress;
        c.quiet = cfg_in->quiet;
        snprintf(c.backend, sizeof c.backend, "%s", cfg_in->backend);
        snprintf(c.out_dir, sizeof c.out_dir, "%s", out);
        s.cfg = c;
        if ((rc = train_config_check(&s.cfg)) != NRPS_OK) goto cleanup;
        if (!s.cfg.quiet)
            printf("train: resuming %s after generation %d of %d\n", out, s.finished, s.cfg.generations);
    } else {
        snprintf(p, sizeof p, "%s/checkpoint/LATEST", out);
        if (access(p, F_OK) == 0) {
            nrps_set_error("%s already holds a training run (use --resume to continue it, or another --out)", out);
            rc = NRPS_ERR_ARG;
            goto cleanup;
        }
        if ((rc = fresh_state(cfg_in, &s)) != NRPS_OK) goto cleanup;
        gen_dir(p, sizeof p, out, 0);
        if ((rc = save_onnx_pair(&s, p)) != NRPS_OK) goto cleanup;
        if ((rc = checkpoint_write(&s)) != NRPS_OK) goto cleanup;
    }
    const train_config *cfg = &s.cfg;
    if ((rc = write_outputs(&s, s.finished >= cfg->generations)) != NRPS_OK) goto cleanup;
    if (!cfg->quiet && !resume) {
        printf("train: %s  %d generations x %ld games, %d playouts, policy 81-%d-9, value 81-%d-1, %s encoding, seed "
               "%llu, %d threads\n",
               out, cfg->generations, cfg->games, cfg->playouts, cfg->hidden_policy, cfg->hidden_value,
               rps_encoding_name(cfg->encoding), (unsigned long long)cfg->seed, cfg->threads);
        fflush(stdout);
    }
    s.elapsed += nrps_now_s() - t_start;

    while (s.finished < cfg->generations) {
        if (nrps_interrupted) {
            rc = NRPS_ERR_INTERRUPTED;
            break;
        }
        const int g = s.finished + 1;
        double t0 = nrps_now_s();
        char label[64];
        snprintf(label, sizeof label, "gen %d/%d", g, cfg->generations);
        selfplay_config sc;
        memset(&sc, 0, sizeof sc);
        sc.game = cfg->game;
        sc.mcts = mcts_config_default();
        sc.mcts.playouts = cfg->playouts;
        sc.mcts.c_puct = cfg->c_puct;
        sc.mcts.batch = cfg->mcts_batch;
        sc.mcts.dirichlet_alpha = cfg->dirichlet_alpha;
        sc.mcts.dirichlet_weight = cfg->dirichlet_weight;
        sc.mcts.temperature = cfg->temperature;
        sc.mcts.temperature_plies = cfg->temperature_plies;
        sc.mcts.reuse_tree = 1;
        sc.enc = cfg->encoding;
        sc.threads = cfg->threads;
        sc.seed = cfg->seed;
        sc.random_share = cfg->random_share;
        sc.progress = cfg->progress;
        sc.label = label;
        selfplay_stats sst;
        long ns = 0;
        sc.backend = cfg->backend;
        be_model *gm[2] = {NULL, NULL};
        rc = generation_models(&s, gm);
        if (rc == NRPS_OK) rc = selfplay_run(&sc, gm[0], gm[1], g, cfg->games, &samples, &ns, &sst);
        be_model_free(gm[0]);
        be_model_free(gm[1]);
        if (rc != NRPS_OK) goto cleanup;
        double t1 = nrps_now_s();

        /* the new generation's samples join the window; the window is only committed with the checkpoint,
         * so an interrupted generation leaves nothing behind */
        replay_add(&s.rb, g, samples, ns);
        samples = NULL;
        if ((rc = replay_build(&s.rb, &ds)) != NRPS_OK) goto cleanup;
        float lr = lr_for(cfg, g);
        mlp_trainer_set_lr(s.tp, lr);
        mlp_trainer_set_lr(s.tv, lr);
        nrps_rng trng;
        nrps_rng_seed(&trng, derive_seed(cfg->seed, g, 2));
        double lp = NAN, lv = NAN;
        if (ds.n > INT_MAX) { /* mlp_trainer_fit_epoch counts samples in int */
            nrps_set_error("train: %ld distinct positions in the replay window, more than %d", ds.n, INT_MAX);
            rc = NRPS_ERR_ARG;
            goto cleanup;
        }
        /* the trainers' minibatch size is the run's --batch (max_batch at create and load) */
        for (int e = 0; e < cfg->epochs; e++) {
            if (cfg->progress) {
                fprintf(stderr, "\r%s  training epoch %d/%d on %ld positions   ", label, e + 1, cfg->epochs, ds.n);
                fflush(stderr);
            }
            if ((rc = mlp_trainer_fit_epoch(s.tp, ds.x, ds.tp, (int)ds.n, &trng, &lp)) != NRPS_OK) goto cleanup;
            if ((rc = mlp_trainer_fit_epoch(s.tv, ds.x, ds.tv, (int)ds.n, &trng, &lv)) != NRPS_OK) goto cleanup;
        }
        if (cfg->progress) fprintf(stderr, "\r\033[K");
        double t2 = nrps_now_s();
        s.finished = g; /* from here on the generation is finished: it is saved even after SIGINT */
        char gd[1600], prev[1600];
        gen_dir(gd, sizeof gd, out, g);
        gen_dir(prev, sizeof prev, out, g - 1);
        if ((rc = save_onnx_pair(&s, gd)) != NRPS_OK) goto cleanup;

        match_stat m_prev, m_rand, m_net;
        memset(&m_prev, 0, sizeof m_prev);
        memset(&m_rand, 0, sizeof m_rand);
        memset(&m_net, 0, sizeof m_net);
        nrps_status erc = NRPS_OK;
        if (cfg->eval_games > 0 && !nrps_interrupted) {
            if (cfg->progress) fprintf(stderr, "\r%s  arenas (%ld games each)   ", label, cfg->eval_games);
            uint64_t es = derive_seed(cfg->seed, g, 3);
            erc = run_match(cfg, gd, prev, 0, es, &m_prev);
            if (erc == NRPS_OK) erc = run_match(cfg, gd, NULL, 0, es + 1, &m_rand);
            if (erc == NRPS_OK) erc = run_match(cfg, gd, NULL, 1, es + 2, &m_net);
            if (cfg->progress) fprintf(stderr, "\r\033[K");
            if (erc != NRPS_OK && erc != NRPS_ERR_INTERRUPTED) {
                rc = erc;
                goto cleanup;
            }
        }
        double t3 = nrps_now_s();

        cJSON *gs = cJSON_CreateObject();
        cJSON_AddNumberToObject(gs, "generation", g);
        cJSON_AddNumberToObject(gs, "games", (double)sst.games);
        cJSON_AddNumberToObject(gs, "games_per_second", sst.seconds > 0 ? sst.games / sst.seconds : 0);
        cJSON_AddNumberToObject(gs, "positions", (double)sst.positions);
        cJSON_AddNumberToObject(gs, "p1_wins", (double)sst.p1_wins);
        cJSON_AddNumberToObject(gs, "p2_wins", (double)sst.p2_wins);
        cJSON_AddNumberToObject(gs, "draws", (double)sst.draws);
        cJSON_AddNumberToObject(gs, "window_samples", (double)replay_sample_count(&s.rb));
        cJSON_AddNumberToObject(gs, "window_positions", (double)ds.n);
        cJSON_AddNumberToObject(gs, "lr", lr);
        cJSON_AddNumberToObject(gs, "policy_loss", lp);
        cJSON_AddNumberToObject(gs, "value_loss", lv);
        cJSON_AddItemToObject(gs, "vs_previous", match_json(&m_prev));
        cJSON_AddItemToObject(gs, "vs_random", match_json(&m_rand));
        cJSON_AddItemToObject(gs, "net_vs_random", match_json(&m_net));
        cJSON_AddNumberToObject(gs, "selfplay_seconds", t1 - t0);
        cJSON_AddNumberToObject(gs, "train_seconds", t2 - t1);
        cJSON_AddNumberToObject(gs, "eval_seconds", t3 - t2);
        double t4 = nrps_now_s();
        cJSON_AddNumberToObject(gs, "seconds", t4 - t0);
        cJSON_AddItemToArray(s.gens, gs);
        s.elapsed += t4 - t0;
        replay_dataset_free(&ds);

        if ((rc = checkpoint_write(&s)) != NRPS_OK) goto cleanup;
        if ((rc = write_outputs(&s, s.finished >= cfg->generations)) != NRPS_OK) goto cleanup;
        if (!cfg->quiet) {
            char a[96], b[96], c[96];
            match_text(a, sizeof a, "vs prev", &m_prev);
            match_text(b, sizeof b, "vs random", &m_rand);
            match_text(c, sizeof c, "net vs random", &m_net);
            printf("gen %3d/%d  games %ld  %.1f games/s  positions %ld (window %ld, %ld distinct)  loss policy %.4f "
                   "value %.4f%s%s%s  %.1f s\n",
                   g, cfg->generations, sst.games, sst.seconds > 0 ? sst.games / sst.seconds : 0.0, sst.positions,
                   replay_sample_count(&s.rb), (long)cJSON_GetObjectItem(gs, "window_positions")->valuedouble, lp,
                   lv, a, b, c, t4 - t0);
            fflush(stdout);
        }
        if (erc == NRPS_ERR_INTERRUPTED) {
            rc = NRPS_ERR_INTERRUPTED;
            break;
        }
    }
cleanup:
    if (rc == NRPS_ERR_INTERRUPTED)
        nrps_set_error("interrupted after generation %d of %d (checkpoint saved in %s; continue with --resume)",
                       s.finished, s.cfg.generations, out);
    if (finished) *finished = s.finished;
    free(samples);
    replay_dataset_free(&ds);
    state_free(&s);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Analysis against the solver
 * ---------------------------------------------------------------------------------------------- */

void train_analyse_config_default(train_analyse_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->nets_dir, sizeof c->nets_dir, "models");
    c->game = rps_config_standard();
    c->positions = 2000;
    c->seed = 12345;
    c->playouts = 100;
    c->mcts_batch = 4;
    c->c_puct = 1.5;
    c->dirichlet_alpha = 0.3;
    c->dirichlet_weight = 0.25;
    c->temperature = 1.0;
    c->temperature_plies = 4;
    snprintf(c->backend, sizeof c->backend, "%s", SELFPLAY_DEFAULT_BACKEND);
}

/* The networks of DIR as an evaluator on backend: DIR/rps_policy.onnx + DIR/rps_value.onnx, or DIR/rps_net.onnx
 * (one two-headed network) when the pair is absent. max_batch: the evaluator's batch. */
static eval_net *open_dir_nets(const char *dir, const char *backend, int max_batch) {
    char p[2100], v[2100], n[2100];
    path_join(p, sizeof p, dir, "rps_policy.onnx");
    path_join(v, sizeof v, dir, "rps_value.onnx");
    path_join(n, sizeof n, dir, "rps_net.onnx");
    eval_net_spec es = {.backend = backend, .opt = be_options_default()};
    if (access(p, F_OK) != 0 && access(n, F_OK) == 0) es.net_path = n;
    else es.policy_path = p, es.value_path = v;
    return eval_net_open(&es, max_batch);
}

static mcts_config analyse_mcts_config(const train_analyse_config *cfg) {
    mcts_config mc = mcts_config_default();
    mc.playouts = cfg->playouts;
    mc.batch = cfg->mcts_batch;
    mc.c_puct = cfg->c_puct;
    mc.dirichlet_alpha = cfg->dirichlet_alpha;
    mc.dirichlet_weight = cfg->dirichlet_weight;
    mc.temperature = cfg->temperature;
    mc.temperature_plies = cfg->temperature_plies;
    mc.reuse_tree = 1;
    return mc;
}

nrps_status train_analyse(const train_analyse_config *cfg, train_analysis *res) {
    memset(res, 0, sizeof *res);
    eval_net *an = NULL, *ne = NULL;
    mcts *m = NULL;
    rps_solver *sv = NULL;
    nrps_status rc = NRPS_OK;
    double t0 = nrps_now_s();
    if (cfg->positions < 1) {
        nrps_set_error("--positions must be >= 1, got %ld", cfg->positions);
        return NRPS_ERR_ARG;
    }
    const char *src = cfg->source_dir[0] ? cfg->source_dir : cfg->nets_dir;
    const char *backend = cfg->backend[0] ? cfg->backend : NULL;
    mcts_config mc = analyse_mcts_config(cfg);
    rps_encoding senc = RPS_ENC_BOARD;
    if (!(an = open_dir_nets(cfg->nets_dir, backend, 1)) || !(ne = open_dir_nets(src, backend, mc.batch)) ||
        (rc = eval_net_encoding(ne, &senc)) != NRPS_OK) {
        rc = rc != NRPS_OK ? rc : NRPS_ERR_UNSUPPORTED;
        goto cleanup;
    }
    if (!(m = mcts_create(&mc)) || !(sv = rps_solver_create(0))) {
        rc = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    const mcts_evaluator *ev = eval_net_evaluator(ne);
    for (long g = 0; res->positions < cfg->positions; g++) {
        sp_sample smp[RPS_MAX_PLIES];
        rps_state st[RPS_MAX_PLIES];
        int n = 0, w = 0;
        if (nrps_interrupted) {
            nrps_set_error("analyse: interrupted");
            rc = NRPS_ERR_INTERRUPTED;
            goto cleanup;
        }
        if ((rc = selfplay_game(m, ev, &cfg->game, senc, selfplay_game_seed(cfg->seed, -1, g), 0, smp, st, &n, &w, NULL)) != NRPS_OK)
            goto cleanup;
        res->games++;
        for (int i = 0; i < n && res->positions < cfg->positions; i++) {
            const rps_state *s = &st[i];
            int legal[RPS_CELLS] = {0}, nl = 0;
            for (int c = 0; c < RPS_CELLS; c++)
                if (s->board[c].owner == RPS_NONE) legal[c] = 1, nl++;
            if (nl < 2) continue;
            rps_solve_info info;
            if ((rc = rps_solver_analyse(sv, s, &info)) != NRPS_OK) goto cleanup;
            int best_result = info.result;
            int pos_m[RPS_CELLS] = {0}, pos_r[RPS_CELLS] = {0};
            for (int k = 0; k < info.n_moves; k++) {
                if (info.moves[k].optimal) pos_m[info.moves[k].move.pos] = 1;
                if (info.moves[k].result == best_result) pos_r[info.moves[k].move.pos] = 1;
            }
            float py[RPS_POLICY_SIZE], v;
            if ((rc = eval_net_one(an, s, py, &v)) != NRPS_OK) goto cleanup;
            int top = -1;
            for (int c = 0; c < RPS_CELLS; c++)
                if (legal[c] && (top < 0 || py[c] > py[top])) top = c;
            int nm = 0, nr = 0;
            for (int c = 0; c < RPS_CELLS; c++) {
                nm += legal[c] && pos_m[c];
                nr += legal[c] && pos_r[c];
            }
            res->positions++;
            res->policy_margin_opt += pos_m[top];
            res->policy_result_opt += pos_r[top];
            res->random_margin_opt += (double)nm / nl;
            res->random_result_opt += (double)nr / nl;
            if (nr < nl) {
                res->decisive++;
                res->decisive_result_opt += pos_r[top];
                res->random_decisive_result_opt += (double)nr / nl;
            }
            int pred = v > 0.5 ? 1 : v < 0.5 ? -1 : 0;
            res->value_correct += pred == info.result;
            res->value_win_positions += info.result > 0;
            double exact = info.result > 0 ? 1.0 : info.result < 0 ? 0.0 : 0.5;
            res->value_mse += (v - exact) * (v - exact);
        }
    }
    if (res->positions > 0) {
        res->random_margin_opt /= res->positions;
        res->random_result_opt /= res->positions;
        res->value_mse /= res->positions;
    }
    if (res->decisive > 0) res->random_decisive_result_opt /= res->decisive;
    res->seconds = nrps_now_s() - t0;
cleanup:
    rps_solver_destroy(sv);
    mcts_destroy(m);
    eval_net_destroy(an);
    eval_net_destroy(ne);
    return rc;
}
